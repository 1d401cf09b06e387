"""Storage: concurrent coroutines sharing one connection never undo each other's work."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.crypto import KeyBox
from bot.db import Database, UsersRepo
from bot.db.orders import OrdersRepo
from bot.db.outbox import NewMessage, OutboxRepo


async def test_a_failing_transaction_rolls_back_only_itself(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    outbox = OutboxRepo(db)
    orders = OrdersRepo(db)
    tokens: dict[int, bytes] = {}
    for user_id in range(40):
        await users.get_or_create(user_id)
        await users.set_api_key(user_id, f"key{user_id:04d}abcdefghijklmnopqrstuvwx")
        await orders.record_rental(
            order_id=user_id, user_id=user_id, country="RU", ccode="7", pnumber="9000000000",
            service="opt1", sname="X", until=9,
        )  # fmt: skip
        row = await db.fetch_one("SELECT api_key_enc FROM users WHERE id = ?", (user_id,))
        assert row is not None
        tokens[user_id] = bytes(row["api_key_enc"])

    async def read_sms(user_id: int) -> None:
        message = NewMessage(user_id=user_id, kind="sms", text="code", dedup_key=f"sms:{user_id}")
        recorder = OrdersRepo.sms_recorder(user_id, user_id, tokens[user_id], [f"print-{user_id}"])
        await outbox.enqueue_with([message], recorder)
        await users.set_other_sms(user_id, False)

    async def failing_transaction() -> None:
        async with db.transaction() as conn:
            await conn.execute("UPDATE users SET timezone = 'Europe/Paris'")
            await asyncio.sleep(0)  # others get the loop while this transaction is open
            raise RuntimeError("boom")

    async def fail_midway() -> None:
        with pytest.raises(RuntimeError):
            await failing_transaction()

    await asyncio.gather(*(read_sms(u) for u in range(40)), *(fail_midway() for _ in range(10)))
    assert await outbox.backlog() == 40  # every queued SMS survived the other transactions' rollbacks
    row = await db.fetch_one("SELECT COUNT(*) FROM sms_seen")
    assert row is not None
    assert row[0] == 40
    zones = await db.fetch_all("SELECT DISTINCT timezone FROM users")
    assert [z[0] for z in zones] == ["UTC"]
    await db.close()
