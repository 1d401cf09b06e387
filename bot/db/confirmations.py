"""Single-use confirmation tokens: the only way a money-moving call is ever made.

A Summary stores exactly what the user is shown (kind + payload) under a random token; the Confirm
button carries only the token. Claiming flips `pending` to `running` in one UPDATE, so however many
times a button is pressed, one press wins and the rest see "already done" or "expired".

A token belongs to the API key its preview was built with: the keyed hash of the linked key
(`key_hashes`, KeyBox.key_hash) is stored with it, and a claim under another key (relinked or
unlinked since) expires it. Right before the money call, `mark_sent` notes that the request is about
to leave (with what reconciling it needs): a `running` token without that note never reached SMSPVA.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.db.database import Database

TOKEN_TTL_SECONDS = 15 * 60  # prices move; an old Summary must be looked at again
RETENTION_DAYS = 30  # finished confirmations are pruned after this (running ones never)

# The hash of the key currently linked to the user (NULL when none): a key_hashes row counts only
# while its token is the user's stored key (see bot/db/users.py).
_CURRENT_KEY_HASH = (
    "(SELECT k.hash FROM key_hashes k JOIN users u ON u.id = k.user_id AND u.api_key_enc = k.token"
    " WHERE k.user_id = ?)"
)
_COLUMNS = "token, user_id, kind, payload, status, expires_at, used_at, result"


class ConfirmStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    UNCLEAR = "unclear"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Confirmation:
    token: str
    user_id: int
    kind: str
    payload: dict[str, Any]
    status: ConfirmStatus
    expires_at: int
    used_at: int | None = None
    result: dict[str, Any] | None = None  # the final result, or the `mark_sent` note while running

    @property
    def sent(self) -> bool:
        """The money call may have left (a running token without this never reached SMSPVA)."""
        return bool(self.result and self.result.get("sent_at"))


def _row(row: Any) -> Confirmation:
    return Confirmation(
        token=row["token"],
        user_id=int(row["user_id"]),
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        status=ConfirmStatus(row["status"]),
        expires_at=int(row["expires_at"]),
        used_at=int(row["used_at"]) if row["used_at"] is not None else None,
        result=json.loads(row["result"]) if row["result"] else None,
    )


@dataclass(frozen=True, slots=True)
class ClaimResult:
    confirmation: Confirmation | None  # set only when this caller won the claim
    status: ConfirmStatus | None  # the token's status when the claim was refused (None: unknown token)


class ConfirmationsRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue(self, user_id: int, kind: str, payload: dict[str, Any], *, supersede: bool = True) -> str:
        """Create a token; by default older pending tokens of the same kind for this user expire."""
        now = int(time.time())
        token = secrets.token_urlsafe(12)
        if supersede:
            await self._db.execute(
                "UPDATE confirmations SET status = 'expired' WHERE user_id = ? AND kind = ? AND status = 'pending'",
                (user_id, kind),
            )
        await self._db.execute(
            "INSERT INTO confirmations (token, user_id, kind, payload, created_at, expires_at, key_hash)"
            f" VALUES (?, ?, ?, ?, ?, ?, {_CURRENT_KEY_HASH})",
            (token, user_id, kind, json.dumps(payload), now, now + TOKEN_TTL_SECONDS, user_id),
        )
        return token

    async def claim(self, token: str, user_id: int, kind: str) -> ClaimResult:
        """Win the token for this user and kind (a button claiming another kind is refused as unknown).
        A token issued under another API key than the one linked now is expired, never run."""
        now = int(time.time())
        changed = await self._db.execute(
            "UPDATE confirmations SET status = 'running', used_at = ?"
            " WHERE token = ? AND user_id = ? AND kind = ? AND status = 'pending' AND expires_at > ?"
            f" AND key_hash IS {_CURRENT_KEY_HASH}",
            (now, token, user_id, kind, now, user_id),
        )
        if not changed:
            # Still pending and in time, so the key differs: the preview was built with another key.
            await self._db.execute(
                "UPDATE confirmations SET status = 'expired', result = ?"
                " WHERE token = ? AND user_id = ? AND kind = ? AND status = 'pending' AND expires_at > ?",
                (json.dumps({"msg": "key changed"}), token, user_id, kind, now),
            )
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM confirmations WHERE token = ? AND user_id = ? AND kind = ?",
            (token, user_id, kind),
        )
        if row is None:
            return ClaimResult(None, None)
        confirmation = _row(row)
        if changed:
            return ClaimResult(confirmation, None)
        status = confirmation.status
        if status is ConfirmStatus.PENDING:  # pending but past its time
            status = ConfirmStatus.EXPIRED
        return ClaimResult(None, status)

    async def status(self, token: str, user_id: int) -> ConfirmStatus | None:
        """Read-only look at a token (None: unknown, or another user's)."""
        row = await self._db.fetch_one(
            "SELECT status, expires_at FROM confirmations WHERE token = ? AND user_id = ?", (token, user_id)
        )
        if row is None:
            return None
        status = ConfirmStatus(row["status"])
        if status is ConfirmStatus.PENDING and int(row["expires_at"]) <= time.time():
            return ConfirmStatus.EXPIRED
        return status

    async def finish(self, token: str, status: ConfirmStatus, result: dict[str, Any] | None = None) -> None:
        await self._db.execute(
            "UPDATE confirmations SET status = ?, result = ? WHERE token = ?",
            (status.value, json.dumps(result) if result is not None else None, token),
        )

    async def mark_sent(self, token: str, note: dict[str, Any] | None = None) -> None:
        """Right before the money call: from here on the outcome must be reconciled, never assumed."""
        await self._db.execute(
            "UPDATE confirmations SET result = ? WHERE token = ? AND status = 'running'",
            (json.dumps({**(note or {}), "sent_at": int(time.time())}), token),
        )

    async def get(self, token: str) -> Confirmation | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM confirmations WHERE token = ?", (token,))
        return _row(row) if row is not None else None

    async def running(self, kind: str | None = None) -> list[Confirmation]:
        """Tokens left `running` by a crash: their outcome must be reconciled, never re-sent."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM confirmations WHERE status = 'running'"
            + (" AND kind = ?" if kind else ""),
            (kind,) if kind else (),
        )
        return [_row(row) for row in rows]

    async def expire_pending(self, user_id: int, kind: str | None = None, order_id: int | None = None) -> int:
        """Pending tokens no longer valid (a key relinked or unlinked; the order prolonged since)."""
        rows = await self._db.fetch_all(
            "SELECT token, kind, payload FROM confirmations WHERE user_id = ? AND status = 'pending'",
            (user_id,),
        )
        stale = [
            row["token"]
            for row in rows
            if (kind is None or row["kind"] == kind)
            and (order_id is None or json.loads(row["payload"]).get("order_id") == order_id)
        ]
        for token in stale:
            await self._db.execute(
                "UPDATE confirmations SET status = 'expired' WHERE token = ? AND status = 'pending'", (token,)
            )
        return len(stale)

    async def prune(self, older_than_days: int = RETENTION_DAYS) -> int:
        """Forget confirmations older than the retention period; a `running` one stays until reconciled."""
        cutoff = int(time.time()) - older_than_days * 86400
        return await self._db.execute(
            "DELETE FROM confirmations WHERE status != 'running' AND created_at < ?", (cutoff,)
        )
