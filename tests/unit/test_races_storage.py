"""Writes that race a user's own action: each one lands only on the state it was computed from."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from cryptography.fernet import Fernet

from bot.crypto import KeyBox
from bot.db import Database, UsersRepo
from bot.db.outbox import NewMessage, OutboxRepo
from bot.i18n import create_i18n
from bot.services.key_links import KeyLinks
from bot.services.notifier import Notifier
from bot.services.outbox import OutboxSender

KEY = "demoKey1234567890abcdefABCDEF12"
OTHER = "otherKey1234567890abcdefABCDE99"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "bot.sqlite3")
    await database.connect()
    yield database
    await database.close()


async def _token(db: Database, user_id: int) -> bytes | None:
    row = await db.fetch_one("SELECT api_key_enc FROM users WHERE id = ?", (user_id,))
    return None if row is None or row["api_key_enc"] is None else bytes(row["api_key_enc"])


@pytest.mark.parametrize("meanwhile", ["unlink", "moved", "relinked"])
async def test_rotation_never_brings_back_a_key_changed_while_it_runs(db: Database, meanwhile: str) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    live = UsersRepo(db, KeyBox(old))
    for user_id in (1, 2):
        await live.get_or_create(user_id, "en")
    await live.set_api_key(1, KEY)
    rotating = UsersRepo(db, KeyBox(new, old))
    real = db.fetch_all

    async def read_then_user_acts(*args: Any, **kwargs: Any) -> Any:
        rows = await real(*args, **kwargs)
        if "SELECT id, api_key_enc FROM users" in args[0]:
            if meanwhile == "unlink":
                await live.clear_api_key(1)  # "Unlink key" pressed while rotate_keys runs
            elif meanwhile == "moved":
                await live.set_api_key(2, KEY)  # another account links the key
            else:
                await live.set_api_key(1, OTHER)  # a new key linked
        return rows

    db.fetch_all = read_then_user_acts  # type: ignore[method-assign]
    try:
        await rotating.reencrypt_keys()
    finally:
        db.fetch_all = real  # type: ignore[method-assign]
    if meanwhile == "relinked":
        assert await rotating.api_key(1) == OTHER
    else:
        assert await _token(db, 1) is None
        assert [user_id for user_id, _ in await live.pollable()] == ([2] if meanwhile == "moved" else [])


async def test_rotation_still_reencrypts_keys_nobody_touched(db: Database) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    live = UsersRepo(db, KeyBox(old))
    await live.get_or_create(1, "en")
    await live.set_api_key(1, KEY)
    await UsersRepo(db, KeyBox(new, old)).reencrypt_keys()
    assert await UsersRepo(db, KeyBox(new)).api_key(1) == KEY


async def test_a_rejection_of_the_old_key_does_not_pause_a_key_linked_meanwhile(db: Database) -> None:
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    outbox = OutboxRepo(db)
    await users.get_or_create(1, "en")
    await users.set_api_key(1, KEY)
    old_token = await _token(db, 1)
    assert old_token is not None
    await users.set_api_key(1, OTHER)  # the user links a new key while a poll with the old one runs
    notice = NewMessage(user_id=1, kind="key", text="rejected")
    assert await outbox.enqueue_with([notice], users.key_pause_recorder(1, int(time.time()), old_token)) == 0
    assert [user_id for user_id, _ in await users.pollable()] == [1]
    assert await users.paused_keys() == []
    # The same key rejected: paused, told once.
    token = await _token(db, 1)
    assert token is not None
    assert await outbox.enqueue_with([notice], users.key_pause_recorder(1, int(time.time()), token)) == 1
    assert [user_id for user_id, _, _ in await users.paused_keys()] == [1]


async def test_users_off_the_allowed_list_are_neither_rechecked_nor_sent_to(db: Database) -> None:
    keybox = KeyBox(Fernet.generate_key())
    everyone = UsersRepo(db, keybox)
    for user_id in (1, 2):
        await everyone.get_or_create(user_id, "en")
        await everyone.set_api_key(user_id, KEY if user_id == 1 else OTHER)
        await db.execute("UPDATE users SET key_invalid = 1 WHERE id = ?", (user_id,))
    await OutboxRepo(db).enqueue(NewMessage(user_id=1, kind="sms", text="one"))
    await OutboxRepo(db).enqueue(NewMessage(user_id=2, kind="sms", text="two"))
    listed = frozenset({2})
    assert [user_id for user_id, _, _ in await UsersRepo(db, keybox, allowed=listed).paused_keys()] == [2]
    assert [item.user_id for item in await OutboxRepo(db, allowed=listed).due(10)] == [2]
    assert sorted(item.user_id for item in await OutboxRepo(db).due(10)) == [1, 2]


async def test_a_backed_off_head_holds_its_chat_back(db: Database) -> None:
    """A 5xx on a chat's first message must not let the second overtake it."""
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    outbox = OutboxRepo(db)
    for user_id in (1, 2):
        await users.get_or_create(user_id, "en")
    for text in ("first", "second"):
        await outbox.enqueue(NewMessage(user_id=1, kind="sms", text=text))
    await outbox.enqueue(NewMessage(user_id=2, kind="sms", text="other chat"))
    head = (await outbox.due(10))[0]
    assert head.text == "first"
    await outbox.postpone(head.id, 30, "Bad Gateway")
    assert [item.text for item in await outbox.due(10)] == ["other chat"]
    await db.execute("UPDATE outbox SET next_attempt_at = 0 WHERE id = ?", (head.id,))
    assert [item.text for item in await outbox.due(10)] == ["first", "other chat"]


def _key_links(db: Database, users: UsersRepo) -> KeyLinks:
    outbox = OutboxRepo(db)
    sender = OutboxSender(Bot("123456:TEST-token"), outbox, users)
    notifier = Notifier(
        outbox, sender, create_i18n(), support_url="https://s.example", top_up_url="https://t.example"
    )
    return KeyLinks(users, notifier)


async def test_a_moved_key_and_the_notice_to_its_old_account_are_written_together(db: Database) -> None:
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    links = _key_links(db, users)
    for user_id in (1, 2):
        await users.get_or_create(user_id, "en")
    await links.link(1, KEY)
    # The notice cannot be written (a full disk, a crash): the key must not move without it.
    await db.execute(
        "CREATE TEMP TRIGGER no_key_notice BEFORE INSERT ON outbox WHEN NEW.kind = 'key'"
        " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    with pytest.raises(Exception, match="disk full"):
        await links.link(2, KEY)
    assert await users.api_key(1) == KEY
    assert await users.api_key(2) is None
    await db.execute("DROP TRIGGER no_key_notice")
    await links.link(2, KEY)
    assert await users.api_key(1) is None
    assert await users.api_key(2) == KEY
    rows = await db.fetch_all("SELECT user_id, text FROM outbox WHERE kind = 'key'")
    assert [int(row["user_id"]) for row in rows] == [1]
    assert "linked from another Telegram account" in rows[0]["text"]


async def test_a_link_racing_another_reads_the_holders_again(db: Database) -> None:
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    links = _key_links(db, users)
    for user_id in (1, 2, 3):
        await users.get_or_create(user_id, "en")
    await links.link(1, KEY)
    real = users.key_holders
    raced = False

    async def holders_then_race(user_id: int, api_key: str) -> list[int]:
        nonlocal raced
        found = await real(user_id, api_key)
        if not raced:
            raced = True
            await users.set_api_key(3, KEY)  # account 3 takes the key between the read and the write
        return found

    users.key_holders = holders_then_race  # type: ignore[method-assign]
    await links.link(2, KEY)
    rows = await db.fetch_all("SELECT user_id FROM outbox WHERE kind = 'key'")
    assert [int(row["user_id"]) for row in rows] == [3]  # told: the account that held it at the move
    assert await users.api_key(2) == KEY
