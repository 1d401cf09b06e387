"""A confirmation is never stranded `running`: Telegram refusing an edit, or a stored key that can no
longer be decrypted, before the money-moving call."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import API_KEY
from tests.e2e.test_e2e_orders import confirm_data
from tests.e2e.test_e2e_rent import to_summary
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.flows import link_key
from tests.harness import BotRunner


async def _token_status(runner: BotRunner, user: FakeUser) -> str | None:
    assert runner.app is not None
    row = await runner.app.db.fetch_one(
        "SELECT status FROM confirmations WHERE user_id = ? ORDER BY rowid DESC LIMIT 1", (user.id,)
    )
    return None if row is None else str(row["status"])


async def test_a_429_on_removing_the_keyboard_does_not_stop_the_confirmed_rental(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    tg.fail_next("editMessageReplyMarkup", error_code=429, retry_after=1, chat_id=alice.id)
    tg.fail_next("editMessageText", error_code=429, retry_after=1, chat_id=alice.id)  # the "⏳" line
    tg.press(alice, summary, confirm_data(summary))
    await tg.wait_message(alice.id, "Number rented", timeout=10)
    assert len(smspva.calls_of("create")) == 1
    assert await _token_status(runner, alice) == "done"


@pytest.mark.allow_error_logs
async def test_a_failure_before_the_upstream_call_ends_the_confirmation_as_not_sent(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    # A proxy's HTML page instead of Telegram's answer: not a Telegram error, nothing to retry.
    tg.bad_gateway_next("editMessageReplyMarkup", chat_id=alice.id)
    tg.press(alice, summary, confirm_data(summary))
    await tg.wait_message(alice.id, "nothing was sent", timeout=10)
    assert await _token_status(runner, alice) == "failed"
    assert smspva.calls_of("create") == []


async def test_an_undecryptable_key_on_confirm_strands_nothing_and_says_what_to_do(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    assert runner.app is not None
    # The stored token stops decrypting (a damaged row, a rotation with a key the bot was not given).
    await runner.app.db.execute("UPDATE users SET api_key_enc = ? WHERE id = ?", (b"gAAAAAbroken", alice.id))
    tg.press(alice, summary, confirm_data(summary))
    await tg.wait_message(alice.id, "I need your SMSPVA API key", timeout=10)
    await tg.wait_message(alice.id, "can no longer read the API key", timeout=10)
    assert await _token_status(runner, alice) == "pending"  # never claimed: nothing to strand
    assert smspva.calls_of("create") == []
    last = max(m.message_id for m in tg.messages(alice.id))
    tg.send_text(alice, "/orders")
    answer = await tg.wait_message(alice.id, "I need your SMSPVA API key", after=last, timeout=10)
    assert "went wrong" not in answer.text
    await asyncio.sleep(0.5)
    unreadable = [m for m in tg.messages(alice.id) if "can no longer read the API key" in m.text]
    assert len(unreadable) == 1  # told once
