"""Users: language, time zone, the encrypted SMSPVA key and per-user switches."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite

from bot.crypto import KeyBox
from bot.db.database import Database
from bot.db.outbox import Recorder


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


_COLUMNS = "id, language, tg_language, timezone, api_key_last4, key_invalid, bot_blocked, other_sms, warn_off"


class UsersRepo:
    def __init__(self, db: Database, keybox: KeyBox) -> None:
        self._db = db
        self._keybox = keybox

    async def get(self, user_id: int) -> UserRow | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _row_to_user(row) if row else None

    async def get_or_create(self, user_id: int, tg_language: str | None = None) -> UserRow:
        """The user's row; created on first contact, Telegram's language kept up to date."""
        user = await self.get(user_id)
        if user is not None and user.tg_language == tg_language:
            return user
        now = int(time.time())
        await self._db.execute(
            "INSERT INTO users (id, tg_language, created_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET tg_language = excluded.tg_language",
            (user_id, tg_language, now, now),
        )
        user = await self.get(user_id)
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

    async def set_api_key(self, user_id: int, api_key: str) -> None:
        """Store the key encrypted; linking a key also lifts an 'invalid key' pause."""
        await self._update(
            user_id,
            "api_key_enc = ?, api_key_last4 = ?, key_invalid = 0",
            (self._keybox.encrypt(api_key), api_key[-4:]),
        )

    async def clear_api_key(self, user_id: int) -> None:
        await self._update(user_id, "api_key_enc = NULL, api_key_last4 = NULL, key_invalid = 0", ())

    async def api_key(self, user_id: int) -> str | None:
        row = await self._db.fetch_one("SELECT api_key_enc FROM users WHERE id = ?", (user_id,))
        if row is None or row["api_key_enc"] is None:
            return None
        return self._keybox.decrypt(bytes(row["api_key_enc"]))

    async def mark_key_invalid(self, user_id: int, invalid: bool = True) -> bool:
        """Flag the key; return True when the flag changed (so the user is told only once)."""
        changed = await self._db.execute(
            "UPDATE users SET key_invalid = ?, updated_at = ? WHERE id = ? AND key_invalid != ?",
            (int(invalid), int(time.time()), user_id, int(invalid)),
        )
        return changed > 0

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
        """Users whose orders the poller watches: a working key, and a chat that accepts messages."""
        rows = await self._db.fetch_all(
            "SELECT id, api_key_enc FROM users WHERE api_key_enc IS NOT NULL AND key_invalid = 0 AND bot_blocked = 0"
        )
        return [(int(row["id"]), bytes(row["api_key_enc"])) for row in rows]

    async def paused_keys(self) -> list[tuple[int, bytes, int]]:
        """Users whose key SMSPVA rejected (the poller re-checks them): id, key, when it was paused."""
        rows = await self._db.fetch_all(
            "SELECT id, api_key_enc, COALESCE(key_paused_at, updated_at) AS paused_at FROM users"
            " WHERE api_key_enc IS NOT NULL AND key_invalid = 1 AND bot_blocked = 0"
        )
        return [(int(row["id"]), bytes(row["api_key_enc"]), int(row["paused_at"])) for row in rows]

    @staticmethod
    def key_pause_recorder(user_id: int, paused_at: int) -> Recorder:
        """Pause the key, in the transaction of the notice: True only for the call that paused it."""

        async def record(conn: aiosqlite.Connection) -> bool:
            async with conn.execute(
                "UPDATE users SET key_invalid = 1, key_paused_at = ?, updated_at = ?"
                " WHERE id = ? AND key_invalid = 0 AND api_key_enc IS NOT NULL",
                (paused_at, paused_at, user_id),
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
        return self._keybox.decrypt(token)

    async def reencrypt_keys(self) -> int:
        """Re-encrypt every stored key with the primary SECRET_KEY (after adding a new one)."""
        rows = await self._db.fetch_all("SELECT id, api_key_enc FROM users WHERE api_key_enc IS NOT NULL")
        updates = [(self._keybox.rotate(bytes(row["api_key_enc"])), int(row["id"])) for row in rows]
        await self._db.execute_many("UPDATE users SET api_key_enc = ? WHERE id = ?", updates)
        return len(updates)
