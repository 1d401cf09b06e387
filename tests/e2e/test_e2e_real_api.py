"""The live API's oddities, end to end: rate limits, status 0 with data, odd fields (issue "Speak the
real SMSPVA"). The fake produces each; the bot must keep pushing every SMS and tell the truth."""

from __future__ import annotations

import asyncio

import pytest

from bot.callbacks import OrderAction, OrderCb
from bot.formatting import flag
from tests.conftest import API_KEY
from tests.e2e.test_e2e_orders import cb, confirm_data, open_card
from tests.e2e.test_e2e_push import linked_with_order, sms_messages
from tests.e2e.test_e2e_rent import to_summary
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.flows import find_on_pages, labels, link_key, press, press_data
from tests.harness import BotRunner


@pytest.mark.parametrize("mode", ["status0", "429"])
async def test_rate_limit_is_waited_out_never_a_bad_key(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, mode: str
) -> None:
    smspva.set_rate_limit(0.3, mode=mode)
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "Your code is 424242", "Instagram")
    await tg.wait_for(lambda: sms_messages(tg, alice, "424242"), timeout=20)
    tg.send_text(alice, "/orders")
    await tg.wait_message(alice.id, smspva.orders[order_id].pnumber[-4:], timeout=20)
    assert smspva.rate_limited_calls(), "the test must have hit the rate limit"
    texts = " ".join(m.text for m in tg.messages(alice.id))
    assert "rejected your API key" not in texts
    assert "does not accept this key" not in texts
    assert "try again" not in texts.lower()  # a read was never shown as failed
    assert len(sms_messages(tg, alice, "424242")) == 1


async def test_rate_limited_create_is_a_clear_failure_not_retried(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=100)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    smspva.set_rate_limit(60, mode="status0")  # the key's last call (linking, polling) was just now
    failed = await press(tg, alice, summary, "✅", expect="❌", timeout=15)
    assert "nothing was charged" in failed.text  # a clear failure the user may retry
    assert len(smspva.calls_of("create")) == 1
    assert smspva.orders == {}
    assert smspva.balance(API_KEY) == 100


@pytest.mark.parametrize("sms_variant", ["sms_odd", "sms_no_date"])
async def test_odd_fields_never_drop_an_order_or_an_sms(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, sms_variant: str
) -> None:
    smspva.variants.odd_fields = True
    setattr(smspva.variants, sms_variant, True)
    order_id = await linked_with_order(runner, tg, smspva, alice, old_sms="Old code 111111")
    smspva.inject_sms(order_id, "Your code is 535353", "Instagram", date=smspva.now() + 1)
    await tg.wait_for(lambda: sms_messages(tg, alice, "535353"), timeout=20)
    await asyncio.sleep(1.5)  # several more polls: the SMS stays seen, the order stays known
    assert len(sms_messages(tg, alice, "535353")) == 1
    assert not sms_messages(tg, alice, "111111")
    assert runner.app is not None
    row = await runner.app.db.fetch_one("SELECT * FROM user_orders WHERE id = ?", (order_id,))
    assert row is not None
    assert row["gone"] == 0  # a dropped item would have been marked gone by the poller
    tg.send_text(alice, "/orders")
    listing = await tg.wait_message(alice.id, smspva.orders[order_id].pnumber[-4:], timeout=10)
    assert "+7" in listing.text
    assert "+7 +7" not in listing.text


async def test_status0_with_data_read_is_used_and_money_call_is_reconciled(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.status0_with_data = {"getcountries", "getdata", "sms", "prolong", "restore_user_precalc"}
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=1, days_left=3)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)  # countries and prices read from status 0 answers
    assert "$" in summary.text
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.PROLONG, order.id))
    week = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, screen, week, expect="New end date")
    old_until = smspva.orders[order.id].until
    await press_data(tg, alice, preview, confirm_data(preview))
    done = await tg.wait_message(alice.id, "went through", timeout=10)  # reconciled, never "failed"
    assert "❌" not in done.text
    assert len(smspva.calls_of("prolong")) == 1
    assert smspva.orders[order.id].until == old_until + 7 * 86400


async def test_add_service_answered_with_another_order_is_followed(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.variants.add_service_new_order = True
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, service="opt16", state=0, days_left=20)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.ADD_SERVICE, order.id))
    screen = await find_on_pages(tg, alice, screen, "Telegram")
    pick = OrderCb(action=OrderAction.ADD_SERVICE_PICK, order_id=order.id, service="opt29").pack()
    days = await press_data(tg, alice, screen, pick)
    seven = OrderCb(action=OrderAction.ADD_SERVICE_DAYS, order_id=order.id, service="opt29", dcount=7).pack()
    preview = await press_data(tg, alice, days, seven)
    done = await press_data(tg, alice, preview, confirm_data(preview), expect="added")
    (new_id,) = set(smspva.orders) - {order.id}
    assert len(smspva.calls_of("add_service_to_order")) == 1
    # The result's way back leads to the order that holds the new service, not the requested one.
    assert any(cb(OrderAction.CARD, new_id) == b.get("callback_data") for row in done.buttons() for b in row)
    new_card = await press_data(tg, alice, done, cb(OrderAction.CARD, new_id))
    assert "Telegram" in new_card.text


async def test_non_iso_country_codes(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """The live list says "UK" for the United Kingdom and keeps codes like "EN" that name no ISO country."""
    tg.send_text(alice, "/rent")
    screen = await tg.wait_message(alice.id, timeout=10)
    # "UK" is the United Kingdom with its flag, among the popular countries on the first page.
    assert "🇬🇧 United Kingdom" in labels(screen)
    # "EN" is England (its own flag, its name translated), not a second United Kingdom.
    en = await find_on_pages(tg, alice, screen, "England")
    assert f"{flag('EN')} England" in labels(en)
    every = set(labels(screen)) | set(labels(en))
    assert sum("United Kingdom" in label for label in every) == 1
