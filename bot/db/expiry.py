"""Expiry bookkeeping: which warnings went out, and auto-prolong settings with their attempts."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite

from bot.db.database import Database
from bot.db.outbox import Recorder

EXPIRED = 0  # the "hours" value of the after-expiry notice


@dataclass(frozen=True, slots=True)
class AutoProlong:
    order_id: int
    user_id: int
    dtype: str
    dcount: int
    enabled: bool
    attempt_until: int | None
    attempt_status: str | None


class ExpiryRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim_notice(self, order_id: int, hours: int, until: int) -> bool:
        """Record a notice; False if it was recorded before (so it is sent at most once)."""
        return (
            await self._db.execute(
                "INSERT OR IGNORE INTO expiry_notices (order_id, hours, until, sent_at) VALUES (?, ?, ?, ?)",
                (order_id, hours, until, int(time.time())),
            )
            > 0
        )

    @staticmethod
    def notice_recorder(order_id: int, hours: int, until: int) -> Recorder:
        """`claim_notice` inside the transaction that queues the notice: recorded as sent only together
        with its outbox row, so a failed write leaves it for the next round."""

        async def record(conn: aiosqlite.Connection) -> bool:
            async with conn.execute(
                "INSERT OR IGNORE INTO expiry_notices (order_id, hours, until, sent_at) VALUES (?, ?, ?, ?)",
                (order_id, hours, until, int(time.time())),
            ) as cursor:
                return cursor.rowcount > 0

        return record

    async def sent_hours(self, order_id: int, until: int) -> set[int]:
        rows = await self._db.fetch_all(
            "SELECT hours FROM expiry_notices WHERE order_id = ? AND until = ?", (order_id, until)
        )
        return {int(row["hours"]) for row in rows}

    # --- auto-prolong ----------------------------------------------------------------------------

    async def set_auto(self, order_id: int, user_id: int, dtype: str, dcount: int) -> None:
        await self._db.execute(
            "INSERT INTO auto_prolong (order_id, user_id, dtype, dcount, enabled, updated_at)"
            " VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT(order_id) DO UPDATE SET user_id = excluded.user_id,"
            " dtype = excluded.dtype, dcount = excluded.dcount, enabled = 1, updated_at = excluded.updated_at",
            (order_id, user_id, dtype, dcount, int(time.time())),
        )

    async def disable_auto(self, order_id: int, user_id: int) -> None:
        await self._db.execute(
            "UPDATE auto_prolong SET enabled = 0, updated_at = ? WHERE order_id = ? AND user_id = ?",
            (int(time.time()), order_id, user_id),
        )

    async def auto(self, order_id: int) -> AutoProlong | None:
        row = await self._db.fetch_one(
            "SELECT order_id, user_id, dtype, dcount, enabled, attempt_until, attempt_status"
            " FROM auto_prolong WHERE order_id = ?",
            (order_id,),
        )
        return _auto(row) if row else None

    async def is_enabled(self, order_id: int) -> bool:
        entry = await self.auto(order_id)
        return bool(entry and entry.enabled)

    async def begin_attempt(self, order_id: int, until: int) -> bool:
        """Mark an attempt for this expiry *before* calling SMSPVA; False if one was made already."""
        return (
            await self._db.execute(
                "UPDATE auto_prolong SET attempt_until = ?, attempt_status = 'running', updated_at = ?"
                " WHERE order_id = ? AND enabled = 1 AND (attempt_until IS NULL OR attempt_until < ?)",
                (until, int(time.time()), order_id, until),
            )
            > 0
        )

    async def finish_attempt(self, order_id: int, status: str) -> None:
        await self._db.execute(
            "UPDATE auto_prolong SET attempt_status = ?, updated_at = ? WHERE order_id = ?",
            (status, int(time.time()), order_id),
        )

    async def running_attempts(self) -> list[AutoProlong]:
        rows = await self._db.fetch_all(
            "SELECT order_id, user_id, dtype, dcount, enabled, attempt_until, attempt_status"
            " FROM auto_prolong WHERE attempt_status = 'running'"
        )
        return [_auto(row) for row in rows]


def _auto(row: aiosqlite.Row) -> AutoProlong:
    return AutoProlong(
        order_id=int(row["order_id"]),
        user_id=int(row["user_id"]),
        dtype=row["dtype"],
        dcount=int(row["dcount"]),
        enabled=bool(row["enabled"]),
        attempt_until=row["attempt_until"],
        attempt_status=row["attempt_status"],
    )
