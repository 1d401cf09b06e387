"""Single-use confirmation tokens: the only way a money-moving call is ever made.

A Summary stores exactly what the user is shown (kind + payload) under a random token; the Confirm
button carries only the token. Claiming flips `pending` to `running` in one UPDATE, so however many
times a button is pressed, one press wins and the rest see "already done" or "expired".
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
            "INSERT INTO confirmations (token, user_id, kind, payload, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token, user_id, kind, json.dumps(payload), now, now + TOKEN_TTL_SECONDS),
        )
        return token

    async def claim(self, token: str, user_id: int, kind: str) -> ClaimResult:
        """Win the token for this user and kind (a button claiming another kind is refused as unknown)."""
        now = int(time.time())
        changed = await self._db.execute(
            "UPDATE confirmations SET status = 'running', used_at = ?"
            " WHERE token = ? AND user_id = ? AND kind = ? AND status = 'pending' AND expires_at > ?",
            (now, token, user_id, kind, now),
        )
        row = await self._db.fetch_one(
            "SELECT token, user_id, kind, payload, status, expires_at FROM confirmations"
            " WHERE token = ? AND user_id = ? AND kind = ?",
            (token, user_id, kind),
        )
        if row is None:
            return ClaimResult(None, None)
        confirmation = Confirmation(
            token=row["token"],
            user_id=int(row["user_id"]),
            kind=row["kind"],
            payload=json.loads(row["payload"]),
            status=ConfirmStatus(row["status"]),
            expires_at=int(row["expires_at"]),
        )
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

    async def running(self, kind: str | None = None) -> list[Confirmation]:
        """Tokens left `running` by a crash: their outcome must be reconciled, never re-sent."""
        rows = await self._db.fetch_all(
            "SELECT token, user_id, kind, payload, status, expires_at FROM confirmations"
            " WHERE status = 'running'" + (" AND kind = ?" if kind else ""),
            (kind,) if kind else (),
        )
        return [
            Confirmation(
                token=row["token"],
                user_id=int(row["user_id"]),
                kind=row["kind"],
                payload=json.loads(row["payload"]),
                status=ConfirmStatus(row["status"]),
                expires_at=int(row["expires_at"]),
            )
            for row in rows
        ]
