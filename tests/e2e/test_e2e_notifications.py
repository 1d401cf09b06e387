"""Notifications are records: a button on a pushed SMS, a state notice, an expiry warning or the
expired notice opens a new message, and the notification itself never changes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from bot.callbacks import FROM_NOTIFICATION
from tests.conftest import API_KEY
from tests.e2e.test_e2e_expiry import FAST, known_for_days
from tests.e2e.test_e2e_push import linked_with_order
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import link_key, press
from tests.harness import BotRunner


@dataclass(frozen=True)
class Snapshot:
    message_id: int
    html: str
    buttons: str


def snapshot(message: BotMessage) -> Snapshot:
    return Snapshot(message.message_id, message.html, str(message.buttons()))


def current(tg: FakeTelegram, user: FakeUser, message_id: int) -> BotMessage:
    return next(m for m in tg.messages(user.id) if m.message_id == message_id)


def assert_untouched(tg: FakeTelegram, user: FakeUser, before: Snapshot) -> None:
    now = current(tg, user, before.message_id)
    assert not now.deleted
    assert now.edits == 0, f"the notification was edited: {now.text[:120]!r}"
    assert now.html == before.html
    assert str(now.buttons()) == before.buttons


async def open_from(
    tg: FakeTelegram, user: FakeUser, push: BotMessage, label: str, expect: str, timeout: float = 10
) -> BotMessage:
    """Press a notification's button: the screen arrives as a new message, the push stays."""
    before = snapshot(push)
    screen = await press(tg, user, push, label, expect=expect, timeout=timeout)
    assert screen.message_id > push.message_id
    await asyncio.sleep(0.3)
    assert_untouched(tg, user, before)
    return screen


async def test_sms_push_buttons_open_new_messages(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "Your Instagram code is 424242", "Instagram")
    push = await tg.wait_message(alice.id, "424242", timeout=10)
    assert all(
        str(b["callback_data"]).startswith(FROM_NOTIFICATION)
        for row in push.buttons()
        for b in row
        if "callback_data" in b
    )
    card = await open_from(tg, alice, push, "Open order", expect="Services")
    sms_list = await open_from(tg, alice, push, "All SMS", expect="424242")
    assert sms_list.message_id > card.message_id
    # Screens opened from a push behave as screens: their own buttons edit them in place.
    back = await press(tg, alice, sms_list, "◀️")
    assert back.message_id == sms_list.message_id
    assert_untouched(tg, alice, snapshot(push))


async def test_state_notice_buttons_open_new_messages(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice, state=1)
    smspva.set_state(order_id, 0)
    notice = await tg.wait_message(alice.id, "went offline", timeout=10)
    await open_from(tg, alice, notice, "Open order", expect="Services")
    await open_from(tg, alice, notice, "Activate again", expect="online", timeout=10)


@pytest.mark.parametrize("bot_overrides", [FAST])
async def test_expiry_warning_and_expired_notice_stay(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=2 / 24)
    await link_key(tg, alice, API_KEY)
    await known_for_days(runner, tg, order.id)
    warning = await tg.wait_message(alice.id, "expires in", timeout=10)
    await open_from(tg, alice, warning, "Prolong", expect="Choose how long")
    await open_from(tg, alice, warning, "Open order", expect="Services")
    smspva.orders[order.id].until = smspva.now() + 2  # it ends in two seconds
    notice = await tg.wait_message(alice.id, "has expired", timeout=15)
    await open_from(tg, alice, notice, "Restore", expect="Overdue days")
    assert_untouched(tg, alice, snapshot(warning))


async def test_upstream_failure_after_a_push_button_keeps_the_push_and_offers_retry(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "Your Instagram code is 515151", "Instagram")
    push = await tg.wait_message(alice.id, "515151", timeout=10)
    smspva.fail_for("500", 4, method="sms")
    error = await open_from(tg, alice, push, "All SMS", expect="❌")
    retry = error.callback_data("Try again")
    assert not retry.startswith(FROM_NOTIFICATION)
    await asyncio.sleep(4)
    screen = await press(tg, alice, error, "Try again", expect="515151")
    assert screen.message_id == error.message_id  # Retry repeats the request on the error screen
    assert_untouched(tg, alice, snapshot(push))


@pytest.mark.parametrize("bot_overrides", [{"support_url": "https://help.example.org/smspva"}])
async def test_gone_notice_links_the_configured_support(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice, state=1)
    smspva.set_state(order_id, -1)
    notice = await tg.wait_message(alice.id, "no longer in the SMSPVA system", timeout=10)
    assert notice.button("support")["url"] == "https://help.example.org/smspva"


async def test_card_from_a_push_while_smspva_is_down_offers_retry(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "Your Instagram code is 626262", "Instagram")
    push = await tg.wait_message(alice.id, "626262", timeout=10)
    smspva.fail_for("500", 4, method="orders")
    error = await open_from(tg, alice, push, "Open order", expect="❌")
    assert error.callback_data("Try again") == push.callback_data("Open order").removeprefix(
        FROM_NOTIFICATION
    )
    await asyncio.sleep(4)
    card = await press(tg, alice, error, "Try again", expect="Services")
    assert card.message_id == error.message_id
    assert_untouched(tg, alice, snapshot(push))
