"""Confirmations at the storage level: bound to the key they were issued under, the sent marker,
expiry of an order's other previews, the retention prune; and an expiry warning recorded only
together with its outbox row."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.fernet import Fernet

from bot.crypto import KeyBox
from bot.db import Database, UsersRepo
from bot.db.confirmations import ConfirmationsRepo, ConfirmStatus
from bot.db.expiry import ExpiryRepo
from bot.db.outbox import NewMessage, OutboxRepo
from bot.services.locks import UserLocks
from bot.services.payments import PaymentRecovery

KEY = "demoKey1234567890abcdefABCDEF12"
OTHER = "otherKey1234567890abcdefABCDE99"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "bot.sqlite3")
    await database.connect()
    yield database
    await database.close()


async def _linked(db: Database) -> tuple[UsersRepo, ConfirmationsRepo]:
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    await users.get_or_create(1)
    await users.set_api_key(1, KEY)
    return users, ConfirmationsRepo(db)


async def test_a_confirmation_is_claimed_only_under_the_key_it_was_issued_with(db: Database) -> None:
    users, confirmations = await _linked(db)
    same = await confirmations.issue(1, "create", {"n": 1})
    assert (await confirmations.claim(same, 1, "create")).confirmation is not None
    relinked = await confirmations.issue(1, "create", {"n": 2})
    await users.set_api_key(1, OTHER)
    claim = await confirmations.claim(relinked, 1, "create")
    assert claim.confirmation is None
    assert claim.status is ConfirmStatus.EXPIRED
    assert await confirmations.status(relinked, 1) is ConfirmStatus.EXPIRED  # for good
    unlinked = await confirmations.issue(1, "create", {"n": 3})
    await users.clear_api_key(1)
    assert (await confirmations.claim(unlinked, 1, "create")).status is ConfirmStatus.EXPIRED


async def test_the_sent_marker_tells_a_call_that_never_left(db: Database) -> None:
    _, confirmations = await _linked(db)
    token = await confirmations.issue(1, "create", {"n": 1})
    claimed = (await confirmations.claim(token, 1, "create")).confirmation
    assert claimed is not None
    assert not claimed.sent
    [running] = await confirmations.running()
    assert not running.sent
    await confirmations.mark_sent(token, {"known_ids": [5]})
    [running] = await confirmations.running()
    assert running.sent
    assert running.result is not None
    assert running.result["known_ids"] == [5]


async def test_expire_pending_of_one_order_only(db: Database) -> None:
    _, confirmations = await _linked(db)
    mine = await confirmations.issue(1, "prolong", {"order_id": 7}, supersede=False)
    other_order = await confirmations.issue(1, "prolong", {"order_id": 8}, supersede=False)
    delete = await confirmations.issue(1, "delete", {"order_id": 7}, supersede=False)
    assert await confirmations.expire_pending(1, "prolong", 7) == 1
    assert await confirmations.status(mine, 1) is ConfirmStatus.EXPIRED
    assert await confirmations.status(other_order, 1) is ConfirmStatus.PENDING
    assert await confirmations.status(delete, 1) is ConfirmStatus.PENDING


async def test_prune_keeps_recent_and_running_confirmations(db: Database) -> None:
    _, confirmations = await _linked(db)
    old_done = await confirmations.issue(1, "create", {}, supersede=False)
    old_running = await confirmations.issue(1, "prolong", {}, supersede=False)
    recent = await confirmations.issue(1, "delete", {}, supersede=False)
    await confirmations.finish(old_done, ConfirmStatus.DONE)
    assert (await confirmations.claim(old_running, 1, "prolong")).confirmation is not None
    long_ago = int(time.time()) - 31 * 86400
    await db.execute(
        "UPDATE confirmations SET created_at = ? WHERE token IN (?, ?)", (long_ago, old_done, old_running)
    )
    assert await confirmations.prune() == 1
    assert await confirmations.status(old_done, 1) is None
    assert await confirmations.status(old_running, 1) is ConfirmStatus.RUNNING
    assert await confirmations.status(recent, 1) is ConfirmStatus.PENDING


async def test_an_expiry_warning_is_recorded_only_with_its_outbox_row(db: Database) -> None:
    """Item 7's check: the warning's record and its outbox row are one transaction."""
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    await users.get_or_create(1)
    outbox = OutboxRepo(db)
    expiry = ExpiryRepo(db)
    until = int(time.time()) + 3600
    message = NewMessage(user_id=1, kind="expiry:24", text="expires soon")
    await db.execute(
        "CREATE TRIGGER outbox_down BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'full'); END"
    )
    with pytest.raises(Exception, match="full"):
        await outbox.enqueue_with([message], ExpiryRepo.notice_recorder(42, 24, until))
    assert await expiry.sent_hours(42, until) == set()  # not recorded: the next round sends it
    await db.execute("DROP TRIGGER outbox_down")
    assert await outbox.enqueue_with([message], ExpiryRepo.notice_recorder(42, 24, until)) == 1
    assert await expiry.sent_hours(42, until) == {24}
    assert await outbox.backlog() == 1


async def test_reconciling_at_start_leaves_a_live_claim_of_this_process_alone(db: Database) -> None:
    """Updates are served while the start-up reconciliation runs: a token claimed meanwhile (its
    handler holds the user's lock) is not an interrupted one and must not be settled under it."""
    users, confirmations = await _linked(db)
    locks = UserLocks()
    token = await confirmations.issue(1, "create", {"country": "RU", "service": "opt46"})
    assert (await confirmations.claim(token, 1, "create")).confirmation is not None
    unused = cast(Any, None)  # never reached for a live token
    recovery = PaymentRecovery(unused, confirmations, users, unused, unused, unused, unused, locks)
    with locks.hold(1, token):
        assert await recovery.reconcile_running() == 0
    assert await confirmations.status(token, 1) is ConfirmStatus.RUNNING
