"""The SMSPVA orders we know belong to each user (ownership checks, the poller's snapshot)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from bot.db.database import Database
from bot.db.outbox import Recorder
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
    first_seen: int | None = None  # when the bot first listed it (our clock); 0 = every unseen SMS is new
    polled_state: int | None = None  # the last state the poller acted on (its notices went with it)
    missing_since: int | None = None  # first `orders` answer that did not list it
    missing_polls: int = 0


_COLUMNS = (
    "id, user_id, country, ccode, pnumber, service, sname, state, until, rented_at, activated_at, sms_synced,"
    " gone, canprolong, first_seen, polled_state, missing_since, missing_polls"
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
        first_seen=row["first_seen"],
        polled_state=row["polled_state"],
        missing_since=row["missing_since"],
        missing_polls=int(row["missing_polls"]),
    )


_SNAPSHOT = (
    "INSERT INTO user_orders (id, user_id, country, ccode, pnumber, service, sname, state, until,"
    " canprolong, first_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT(id) DO UPDATE SET user_id = CASE WHEN EXISTS (SELECT 1 FROM users WHERE"
    " id = excluded.user_id AND api_key_enc IS NOT NULL AND (? IS NULL OR api_key_enc = ?))"
    " THEN excluded.user_id ELSE user_orders.user_id END, country = excluded.country,"
    " ccode = excluded.ccode, pnumber = excluded.pnumber, service = excluded.service,"
    " sname = excluded.sname, state = excluded.state, until = excluded.until,"
    " canprolong = excluded.canprolong, gone = 0, missing_since = NULL, missing_polls = 0,"
    " updated_at = excluded.updated_at"
)

_HOLDS_KEY = "SELECT 1 FROM users WHERE id = ? AND api_key_enc = ?"
_OWNS_ORDER = (
    "SELECT 1 FROM user_orders o JOIN users u ON u.id = o.user_id"
    " WHERE o.id = ? AND u.id = ? AND u.api_key_enc = ?"
)


def _snapshot_params(user_id: int, order: Order, now: int, token: bytes | None) -> tuple[object, ...]:
    """`token`: the key the order was read with. An existing row changes hands only to a user who
    still holds that key (with None, any key: a screen's read with the key it just loaded), so a
    read that was in flight when the key moved to another account never hands the order back."""
    return (
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
        now,  # first_seen: kept on conflict, so a row that comes back keeps what we knew
        now,
        token,
        token,
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
            " rented_at, sms_synced, first_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 1, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, until = excluded.until,"
            " rented_at = excluded.rented_at, gone = 0, updated_at = excluded.updated_at",
            (order_id, user_id, country, ccode, pnumber, service, sname, until, now, now, now),
        )

    async def record_added(self, user_id: int, order: Order) -> None:
        """An order SMSPVA opened for a service added to one of the user's numbers (a new id): it is
        the user's fresh purchase, recorded like a rental, so no SMS of it is ever taken as old."""
        await self.record_rental(
            order_id=order.id,
            user_id=user_id,
            country=order.cname,
            ccode=order.ccode,
            pnumber=order.pnumber,
            service=order.scode,
            sname=order.sname,
            until=order.until,
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
        """Store what `orders` said about one order (a screen's or an action's fresh read)."""
        await self._db.execute(_SNAPSHOT, _snapshot_params(user_id, order, int(time.time()), None))

    @staticmethod
    def polled_recorder(user_id: int, token: bytes, order: Order) -> Recorder:
        """The poller's snapshot of one order, with `polled_state`: written in the transaction of the
        notice about the change, so a notice is never lost nor repeated. Nothing is written (and the
        notice not queued) unless the user still holds `token`, the key the poll read with."""

        async def record(conn: aiosqlite.Connection) -> bool:
            async with conn.execute(_HOLDS_KEY, (user_id, token)) as cursor:
                if await cursor.fetchone() is None:
                    return False  # the key moved, was unlinked or replaced while the poll ran
            await conn.execute(_SNAPSHOT, _snapshot_params(user_id, order, int(time.time()), token))
            await conn.execute(
                "UPDATE user_orders SET polled_state = ? WHERE id = ?", (order.state, order.id)
            )
            return True

        return record

    async def seen_fingerprints(self, order_id: int) -> set[str]:
        rows = await self._db.fetch_all("SELECT fingerprint FROM sms_seen WHERE order_id = ?", (order_id,))
        return {row["fingerprint"] for row in rows}

    @staticmethod
    def sms_recorder(order_id: int, user_id: int, token: bytes, fingerprints: Sequence[str]) -> Recorder:
        """SMS marked seen (and the order's first read done) in the transaction of their messages —
        only while the order is still this user's and they still hold `token`, the key the SMS were
        read with: a poll in flight when the key moved to another account queues nothing (the new
        holder's poller reads the order afresh and pushes the SMS to their chat)."""

        async def record(conn: aiosqlite.Connection) -> bool:
            async with conn.execute(_OWNS_ORDER, (order_id, user_id, token)) as cursor:
                if await cursor.fetchone() is None:
                    return False
            await conn.executemany(
                "INSERT OR IGNORE INTO sms_seen (order_id, fingerprint, seen_at) VALUES (?, ?, ?)",
                [(order_id, fingerprint, int(time.time())) for fingerprint in fingerprints],
            )
            await conn.execute("UPDATE user_orders SET sms_synced = 1 WHERE id = ?", (order_id,))
            return True

        return record

    async def mark_missing(self, order_ids: Sequence[int], *, polls: int, seconds: int) -> list[int]:
        """One more `orders` answer without these orders; those missing for at least `polls` answers
        over at least `seconds` are marked gone and returned."""
        if not order_ids:
            return []
        now = int(time.time())
        marks = ",".join("?" * len(order_ids))
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE user_orders SET missing_since = COALESCE(missing_since, ?),"
                f" missing_polls = missing_polls + 1 WHERE id IN ({marks})",
                (now, *order_ids),
            )
            async with conn.execute(
                f"SELECT id FROM user_orders WHERE id IN ({marks}) AND gone = 0 AND missing_polls >= ?"
                " AND missing_since <= ?",
                (*order_ids, polls, now - seconds),
            ) as cursor:
                gone = [int(row["id"]) for row in await cursor.fetchall()]
            if gone:
                await conn.executemany(
                    "UPDATE user_orders SET gone = 1, updated_at = ? WHERE id = ?",
                    [(now, order_id) for order_id in gone],
                )
        return gone

    async def mark_gone(self, order_ids: list[int]) -> None:
        """Gone for sure (deleted through the bot): no waiting for missing polls."""
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
