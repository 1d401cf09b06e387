"""Operations without servers: loop supervision, the instance lock, the outbox's round-robin read."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.crypto import KeyBox, SecretKeyError, UndecryptableKeyError, load_secret_keys
from bot.db import Database, UsersRepo
from bot.db.outbox import NewMessage, OutboxRepo
from bot.instance import InstanceLock, InstanceLockError
from bot.services import background
from bot.services.background import BackgroundTasks, Heartbeat, every


async def test_a_crashing_loop_is_restarted_with_backoff_and_beats_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(background, "RESTART_MIN_SECONDS", 0.01)
    runs = 0
    worked = asyncio.Event()

    async def step() -> None:
        worked.set()

    async def flaky(beat: Heartbeat) -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise RuntimeError("boom")
        await every(0.01, step, beat)

    tasks = BackgroundTasks()
    heartbeat = tasks.add("flaky", flaky, stale_after=1.0)
    tasks.start()
    await asyncio.wait_for(worked.wait(), timeout=5)
    await asyncio.sleep(0.05)  # a few more rounds
    await tasks.stop()
    assert heartbeat.restarts == 3
    assert heartbeat.last_error == "RuntimeError"
    assert not heartbeat.stale()


def test_a_loop_without_a_recent_round_is_stale() -> None:
    heartbeat = Heartbeat(name="x", stale_after=10.0, started=time.monotonic() - 11)
    assert heartbeat.stale()
    heartbeat.beat()
    assert not heartbeat.stale()
    assert heartbeat.report()["stale"] is False


def test_the_instance_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path / "bot.sqlite3")
    first.acquire()
    second = InstanceLock(tmp_path / "bot.sqlite3")
    with pytest.raises(InstanceLockError, match="already running"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()


def test_no_new_secret_beside_stored_keys(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="missing"):
        load_secret_keys(None, tmp_path / "secret.key", may_generate=False)
    assert not (tmp_path / "secret.key").exists()
    assert load_secret_keys(None, tmp_path / "secret.key")  # a fresh database: generated once


async def test_an_undecryptable_key_raises_a_typed_error_with_the_user(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    try:
        users = UsersRepo(db, KeyBox(Fernet.generate_key()))
        await users.get_or_create(5)
        foreign = Fernet(Fernet.generate_key()).encrypt(b"someKey")
        await db.execute("UPDATE users SET api_key_enc = ?, api_key_last4 = 'eKey' WHERE id = 5", (foreign,))
        with pytest.raises(UndecryptableKeyError) as caught:
            await users.api_key(5)
        assert caught.value.user_id == 5
        assert await users.pause_undecryptable(5)
        assert not await users.pause_undecryptable(5)  # told once
        assert await users.pollable() == []
    finally:
        await db.close()


async def test_due_gives_each_chat_its_oldest_message_oldest_chat_first(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    try:
        users = UsersRepo(db, KeyBox(Fernet.generate_key()))
        outbox = OutboxRepo(db)
        for user_id in (1, 2, 3):
            await users.get_or_create(user_id)
        for n in range(600):
            await outbox.enqueue(NewMessage(user_id=1, kind="sms", text=f"one {n}"))
        await outbox.enqueue(NewMessage(user_id=2, kind="sms", text="two"))
        await outbox.enqueue(NewMessage(user_id=3, kind="sms", text="three"))
        due = await outbox.due(limit=500)
        assert [(item.user_id, item.text) for item in due] == [(1, "one 0"), (2, "two"), (3, "three")]
        assert [item.user_id for item in await outbox.due(limit=500, exclude_users={1})] == [2, 3]
        assert [item.user_id for item in await outbox.due(limit=1, exclude_users={1})] == [2]
    finally:
        await db.close()
