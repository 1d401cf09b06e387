"""The SMSPVA orders we know belong to each user (ownership checks, the poller's snapshot)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite

from bot.db.database import Database
from bot.smspva import Order


@dataclass(frozen=True, slots=True)
class UserOrder:
    id: int
    user_id: int
    country: str
    ccode: str
    pnumber: str
    service: str
    sname: str
    state: int | None
    until: int | None
    rented_at: int | None
    activated_at: int | None
    sms_synced: bool
    gone: bool
    canprolong: bool | None = None


_COLUMNS = (
    "id, user_id, country, ccode, pnumber, service, sname, state, until, rented_at, activated_at, sms_synced,"
    " gone, canprolong"
)


def _row(row: aiosqlite.Row) -> UserOrder:
    return UserOrder(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        country=row["country"],
        ccode=row["ccode"],
        pnumber=row["pnumber"],
        service=row["service"],
        sname=row["sname"],
        state=row["state"],
        until=row["until"],
        rented_at=row["rented_at"],
        activated_at=row["activated_at"],
        sms_synced=bool(row["sms_synced"]),
        gone=bool(row["gone"]),
        canprolong=None if row["canprolong"] is None else bool(row["canprolong"]),
    )


class OrdersRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_rental(
        self,
        *,
        order_id: int,
        user_id: int,
        country: str,
        ccode: str,
        pnumber: str,
        service: str,
        sname: str,
        until: int,
    ) -> None:
        now = int(time.time())
        await self._db.execute(
            # A number rented through the bot has no SMS yet: every SMS it gets is new (sms_synced = 1).
            "INSERT INTO user_orders (id, user_id, country, ccode, pnumber, service, sname, state, until,"
            " rented_at, sms_synced, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 1, ?)"
            " ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, until = excluded.until,"
            " rented_at = excluded.rented_at, gone = 0, updated_at = excluded.updated_at",
            (order_id, user_id, country, ccode, pnumber, service, sname, until, now, now),
        )

    async def get(self, order_id: int) -> UserOrder | None:
        row = await self._db.fetch_one(f"SELECT {_COLUMNS} FROM user_orders WHERE id = ?", (order_id,))
        return _row(row) if row else None

    async def for_user(self, user_id: int, *, include_gone: bool = False) -> list[UserOrder]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM user_orders WHERE user_id = ?"
            + ("" if include_gone else " AND gone = 0"),
            (user_id,),
        )
        return [_row(row) for row in rows]

    async def ids_for_user(self, user_id: int) -> set[int]:
        rows = await self._db.fetch_all("SELECT id FROM user_orders WHERE user_id = ?", (user_id,))
        return {int(row["id"]) for row in rows}

    async def mark_activated(self, order_id: int) -> None:
        now = int(time.time())
        await self._db.execute(
            "UPDATE user_orders SET activated_at = ?, updated_at = ? WHERE id = ?", (now, now, order_id)
        )

    async def upsert_seen(self, user_id: int, order: Order) -> None:
        """Store what `orders` said about one order (the poller's snapshot)."""
        now = int(time.time())
        await self._db.execute(
            "INSERT INTO user_orders (id, user_id, country, ccode, pnumber, service, sname, state, until,"
            " canprolong, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, country = excluded.country,"
            " ccode = excluded.ccode, pnumber = excluded.pnumber, service = excluded.service,"
            " sname = excluded.sname, state = excluded.state, until = excluded.until,"
            " canprolong = excluded.canprolong, gone = 0, updated_at = excluded.updated_at",
            (
                order.id,
                user_id,
                order.cname,
                order.ccode,
                order.pnumber,
                order.scode,
                order.sname,
                order.state,
                order.until,
                int(order.canprolong),
                now,
            ),
        )

    async def set_sms_synced(self, order_id: int) -> None:
        await self._db.execute("UPDATE user_orders SET sms_synced = 1 WHERE id = ?", (order_id,))

    async def mark_gone(self, order_ids: list[int]) -> None:
        if order_ids:
            await self._db.execute_many(
                "UPDATE user_orders SET gone = 1, updated_at = ? WHERE id = ?",
                [(int(time.time()), order_id) for order_id in order_ids],
            )

    async def count_live(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM user_orders WHERE gone = 0")
        return int(row[0]) if row else 0

    async def live_with_users(self) -> list[UserOrder]:
        """Every live order of users whose key works and whose chat accepts messages (expiry checks)."""
        rows = await self._db.fetch_all(
            f"SELECT {', '.join('o.' + c.strip() for c in _COLUMNS.split(','))} FROM user_orders o"
            " JOIN users u ON u.id = o.user_id"
            " WHERE o.gone = 0 AND u.api_key_enc IS NOT NULL AND u.key_invalid = 0"
        )
        return [_row(row) for row in rows]

    async def recently_gone(self, since: int) -> list[UserOrder]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM user_orders WHERE gone = 1 AND updated_at >= ?", (since,)
        )
        return [_row(row) for row in rows]
