"""Users: language, time zone, the encrypted SMSPVA key and per-user switches."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import aiosqlite

from bot.crypto import KeyBox, SecretKeyError, UndecryptableKeyError
from bot.db.database import Database
from bot.db.outbox import Recorder

log = logging.getLogger(__name__)


class KeyHoldersChanged(Exception):
    """Another account linked or unlinked the key while a link was being prepared: try again."""


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    language: str | None
    tg_language: str | None
    timezone: str
    api_key_last4: str | None
    key_invalid: bool
    bot_blocked: bool
    other_sms: bool
    warn_off: frozenset[int] = frozenset()

    @property
    def has_key(self) -> bool:
        return self.api_key_last4 is not None


def _row_to_user(row: aiosqlite.Row) -> UserRow:
    return UserRow(
        id=int(row["id"]),
        language=row["language"],
        tg_language=row["tg_language"],
        timezone=row["timezone"],
        api_key_last4=row["api_key_last4"],
        key_invalid=bool(row["key_invalid"]),
        bot_blocked=bool(row["bot_blocked"]),
        other_sms=bool(row["other_sms"]),
        warn_off=frozenset(int(part) for part in str(row["warn_off"] or "").split(",") if part),
    )


# One key, one account (see key_hashes in migrations.py): a hash row counts only while its token is
# the user's current api_key_enc.
_HOLDERS = (
    "SELECT k.user_id FROM key_hashes k JOIN users u ON u.id = k.user_id AND u.api_key_enc = k.token"
    " WHERE k.hash = ? AND k.user_id != ?"
)
_UPSERT_HASH = (
    "INSERT INTO key_hashes (user_id, token, hash, linked_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT(user_id) DO UPDATE SET token = excluded.token, hash = excluded.hash,"
    " linked_at = excluded.linked_at"
)
# Re-hashing runs beside a live bot (rotate_keys): write only if the key is still the one hashed.
_REHASH = (
    "INSERT INTO key_hashes (user_id, token, hash, linked_at)"
    " SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ? AND api_key_enc = ?)"
    " ON CONFLICT(user_id) DO UPDATE SET token = excluded.token, hash = excluded.hash"
)
# The orders the poller knew under the old account are the key's: they move with it, so the new
# account's poller starts from what was already seen (SMS arriving meanwhile are new, not
# "found on first sight"). Auto-prolong stays the old account's opt-in and does not move.
_MOVE_ORDERS = "UPDATE user_orders SET user_id = ? WHERE user_id = ?"
_UNLINK = (
    "UPDATE users SET api_key_enc = NULL, api_key_last4 = NULL, key_invalid = 0, updated_at = ? WHERE id = ?"
)

_COLUMNS = "id, language, tg_language, timezone, api_key_last4, key_invalid, bot_blocked, other_sms, warn_off"


class UsersRepo:
    """`allowed` is ALLOWED_USER_IDS (empty = everyone). The bot acts for nobody outside it: such a
    user is never polled, and `get()` finds no row for them, so no background service (pushes,
    expiry warnings, watches, auto-prolong) reaches them even if their row predates the list."""

    def __init__(self, db: Database, keybox: KeyBox, *, allowed: frozenset[int] = frozenset()) -> None:
        self._db = db
        self._keybox = keybox
        self._allowed = allowed

    def is_allowed(self, user_id: int) -> bool:
        return not self._allowed or user_id in self._allowed

    async def get(self, user_id: int) -> UserRow | None:
        if not self.is_allowed(user_id):
            return None
        return await self._get(user_id)

    async def _get(self, user_id: int) -> UserRow | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _row_to_user(row) if row else None

    async def get_or_create(self, user_id: int, tg_language: str | None = None) -> UserRow:
        """The user's row; created on first contact, Telegram's language kept up to date."""
        user = await self._get(user_id)
        if user is not None and user.tg_language == tg_language:
            return user
        now = int(time.time())
        await self._db.execute(
            "INSERT INTO users (id, tg_language, created_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET tg_language = excluded.tg_language",
            (user_id, tg_language, now, now),
        )
        user = await self._get(user_id)
        assert user is not None  # just written
        return user

    async def _update(self, user_id: int, assignments: str, params: tuple[object, ...]) -> None:
        await self._db.execute(
            f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?",
            (*params, int(time.time()), user_id),
        )

    async def set_language(self, user_id: int, language: str) -> None:
        await self._update(user_id, "language = ?", (language,))

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        await self._update(user_id, "timezone = ?", (timezone,))

    async def set_warn_off(self, user_id: int, hours: frozenset[int]) -> None:
        await self._update(user_id, "warn_off = ?", (",".join(str(h) for h in sorted(hours)),))

    async def set_other_sms(self, user_id: int, enabled: bool) -> None:
        await self._update(user_id, "other_sms = ?", (int(enabled),))

    async def set_api_key(self, user_id: int, api_key: str) -> list[int]:
        """Store the key encrypted; linking a key also lifts an 'invalid key' pause.

        One key, one account: SMSPVA would split a key's SMS between every account polling it, so
        the newer link wins. Any other account holding this key loses it in the same transaction;
        their ids are returned, for them to be told."""
        async with self._db.transaction() as conn:
            return await self._link(conn, user_id, api_key)

    async def key_holders(self, user_id: int, api_key: str) -> list[int]:
        """The other accounts holding this key now (those `set_api_key` would unlink)."""
        rows = await self._db.fetch_all(_HOLDERS, (self._keybox.key_hash(api_key), user_id))
        return sorted(int(row[0]) for row in rows)

    def link_recorder(self, user_id: int, api_key: str, expected: list[int]) -> Recorder:
        """`set_api_key` inside the outbox's transaction, so the notices to the accounts it unlinks
        are queued with the move or not at all. `expected`: the holders the notices were written
        for; if they changed meanwhile, KeyHoldersChanged rolls everything back (read them again)."""

        async def record(conn: aiosqlite.Connection) -> bool:
            if sorted(await self._link(conn, user_id, api_key)) != sorted(expected):
                raise KeyHoldersChanged
            return True

        return record

    async def _link(self, conn: aiosqlite.Connection, user_id: int, api_key: str) -> list[int]:
        token = self._keybox.encrypt(api_key)
        key_hash = self._keybox.key_hash(api_key)
        now = int(time.time())
        async with conn.execute(_HOLDERS, (key_hash, user_id)) as cursor:
            displaced = [int(row[0]) for row in await cursor.fetchall()]
        for other in displaced:
            await conn.execute(_UNLINK, (now, other))
            await conn.execute("DELETE FROM key_hashes WHERE user_id = ?", (other,))
            await conn.execute(_MOVE_ORDERS, (user_id, other))
        await conn.execute(
            "UPDATE users SET api_key_enc = ?, api_key_last4 = ?, key_invalid = 0, updated_at = ? WHERE id = ?",
            (token, api_key[-4:], now, user_id),
        )
        await conn.execute(_UPSERT_HASH, (user_id, token, key_hash, now))
        return displaced

    async def hash_keys(self) -> int:
        """Give every linked key its current keyed hash: keys linked before hashes existed, keys
        re-encrypted, hashes made with a rotated-out SECRET_KEY. Run at start-up and by rotate_keys.
        Hashes of keys no longer linked are dropped. Returns how many were (re)computed."""
        rows = await self._db.fetch_all(
            "SELECT u.id, u.api_key_enc, u.updated_at, k.linked_at FROM users u"
            " LEFT JOIN key_hashes k ON k.user_id = u.id WHERE u.api_key_enc IS NOT NULL"
            " AND (k.user_id IS NULL OR k.token != u.api_key_enc OR k.hash NOT LIKE ?)",
            (self._keybox.hash_kid + ":%",),
        )
        updates: list[tuple[object, ...]] = []
        for row in rows:
            user_id, token = int(row["id"]), bytes(row["api_key_enc"])
            try:
                plain = self._keybox.decrypt(token)
            except SecretKeyError:
                log.warning("stored api key cannot be decrypted, not hashed user_id=%s", user_id)
                continue
            # Links from before the hashes existed have no date: the row's last change stands in.
            linked_at = int(row["linked_at"] if row["linked_at"] is not None else row["updated_at"])
            updates.append((user_id, token, self._keybox.key_hash(plain), linked_at, user_id, token))
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM key_hashes WHERE user_id NOT IN (SELECT id FROM users WHERE api_key_enc IS NOT NULL)"
            )
            await conn.executemany(_REHASH, updates)
        return len(updates)

    async def settle_shared_keys(self) -> list[int]:
        """One key, one account, for links made before it was enforced: where several accounts
        hold the same key, the latest link keeps it and the others lose it. Returns their ids."""
        rows = await self._db.fetch_all(
            "SELECT k.user_id, k.hash, k.token FROM key_hashes k"
            " JOIN users u ON u.id = k.user_id AND u.api_key_enc = k.token"
            " WHERE k.hash IN (SELECT hash FROM key_hashes GROUP BY hash HAVING COUNT(*) > 1)"
            " ORDER BY k.hash, k.linked_at DESC, k.user_id DESC"
        )
        keepers: dict[str, int] = {}
        losers: list[tuple[int, bytes, int]] = []
        for row in rows:
            if row["hash"] in keepers:
                losers.append((int(row["user_id"]), bytes(row["token"]), keepers[row["hash"]]))
            else:
                keepers[row["hash"]] = int(row["user_id"])
        displaced: list[int] = []
        now = int(time.time())
        async with self._db.transaction() as conn:
            for user_id, token, keeper in losers:
                async with conn.execute(
                    "UPDATE users SET api_key_enc = NULL, api_key_last4 = NULL, key_invalid = 0, updated_at = ?"
                    " WHERE id = ? AND api_key_enc = ?",
                    (now, user_id, token),
                ) as cursor:
                    if cursor.rowcount:
                        displaced.append(user_id)
                await conn.execute("DELETE FROM key_hashes WHERE user_id = ?", (user_id,))
                await conn.execute(_MOVE_ORDERS, (keeper, user_id))
        return displaced

    async def clear_api_key(self, user_id: int) -> None:
        await self._update(user_id, "api_key_enc = NULL, api_key_last4 = NULL, key_invalid = 0", ())

    async def api_key(self, user_id: int) -> str | None:
        row = await self._db.fetch_one("SELECT api_key_enc FROM users WHERE id = ?", (user_id,))
        if row is None or row["api_key_enc"] is None:
            return None
        try:
            return self._keybox.decrypt(bytes(row["api_key_enc"]))
        except UndecryptableKeyError as error:
            raise UndecryptableKeyError(
                f"the stored API key of user_id={user_id} cannot be decrypted with the secret key", user_id
            ) from error

    async def mark_key_invalid(self, user_id: int, invalid: bool = True) -> bool:
        """Flag the key; return True when the flag changed (so the user is told only once)."""
        changed = await self._db.execute(
            "UPDATE users SET key_invalid = ?, updated_at = ? WHERE id = ? AND key_invalid != ?",
            (int(invalid), int(time.time()), user_id, int(invalid)),
        )
        return changed > 0

    async def pause_undecryptable(self, user_id: int) -> bool:
        """Stop polling for a user whose stored key cannot be decrypted (linking a key again resumes).

        Shares the `key_invalid` pause with a key SMSPVA rejected: either way the stored key is
        unusable and only a fresh /key helps. True when newly paused, so the user is told only once.
        """
        return await self.mark_key_invalid(user_id)

    async def set_bot_blocked(self, user_id: int, blocked: bool) -> bool:
        changed = await self._db.execute(
            "UPDATE users SET bot_blocked = ?, updated_at = ? WHERE id = ? AND bot_blocked != ?",
            (int(blocked), int(time.time()), user_id, int(blocked)),
        )
        return changed > 0

    async def count(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM users")
        return int(row[0]) if row else 0

    async def count_linked(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM users WHERE api_key_enc IS NOT NULL")
        return int(row[0]) if row else 0

    async def pollable(self) -> list[tuple[int, bytes]]:
        """Users whose orders the poller watches: a working key, a chat that accepts messages, and
        (when ALLOWED_USER_IDS is set) on the list."""
        rows = await self._db.fetch_all(
            "SELECT id, api_key_enc FROM users WHERE api_key_enc IS NOT NULL AND key_invalid = 0 AND bot_blocked = 0"
        )
        return [
            (int(row["id"]), bytes(row["api_key_enc"])) for row in rows if self.is_allowed(int(row["id"]))
        ]

    async def paused_keys(self) -> list[tuple[int, bytes, int]]:
        """Users whose key SMSPVA rejected (the poller re-checks them): id, key, when it was paused.
        Only users on ALLOWED_USER_IDS (when set), like pollable()."""
        rows = await self._db.fetch_all(
            "SELECT id, api_key_enc, COALESCE(key_paused_at, updated_at) AS paused_at FROM users"
            " WHERE api_key_enc IS NOT NULL AND key_invalid = 1 AND bot_blocked = 0"
        )
        return [
            (int(row["id"]), bytes(row["api_key_enc"]), int(row["paused_at"]))
            for row in rows
            if self.is_allowed(int(row["id"]))
        ]

    @staticmethod
    def key_pause_recorder(user_id: int, paused_at: int, token: bytes) -> Recorder:
        """Pause this very key (not one linked while the rejected call was in flight), in the
        transaction of the notice: True only for the call that paused it."""

        async def record(conn: aiosqlite.Connection) -> bool:
            async with conn.execute(
                "UPDATE users SET key_invalid = 1, key_paused_at = ?, updated_at = ?"
                " WHERE id = ? AND key_invalid = 0 AND api_key_enc = ?",
                (paused_at, paused_at, user_id, token),
            ) as cursor:
                return cursor.rowcount > 0

        return record

    @staticmethod
    def key_resume_recorder(user_id: int, token: bytes) -> Recorder:
        """Lift the pause of this very key (not one linked meanwhile), in the notice's transaction."""

        async def record(conn: aiosqlite.Connection) -> bool:
            async with conn.execute(
                "UPDATE users SET key_invalid = 0, key_paused_at = NULL, updated_at = ?"
                " WHERE id = ? AND key_invalid = 1 AND api_key_enc = ?",
                (int(time.time()), user_id, token),
            ) as cursor:
                return cursor.rowcount > 0

        return record

    def decrypt_key(self, token: bytes) -> str:
        """Raises UndecryptableKeyError for a token the secret key cannot open."""
        return self._keybox.decrypt(token)

    async def reencrypt_keys(self) -> int:
        """Re-encrypt every stored key with the primary SECRET_KEY (after adding a new one)."""
        rows = await self._db.fetch_all("SELECT id, api_key_enc FROM users WHERE api_key_enc IS NOT NULL")
        updates = [
            (self._keybox.rotate(bytes(row["api_key_enc"])), int(row["id"]), bytes(row["api_key_enc"]))
            for row in rows
        ]
        # Runs beside a live bot: write only over the very token read, so a key the user unlinked,
        # replaced or lost to another account meanwhile is never brought back.
        await self._db.execute_many(
            "UPDATE users SET api_key_enc = ? WHERE id = ? AND api_key_enc = ?", updates
        )
        return len(updates)


async def stored_api_keys(db: Database) -> list[tuple[int, bytes]]:
    """Every stored (user id, encrypted key): read before the secret is chosen, to check it."""
    rows = await db.fetch_all("SELECT id, api_key_enc FROM users WHERE api_key_enc IS NOT NULL")
    return [(int(row["id"]), bytes(row["api_key_enc"])) for row in rows]
