"""The core flows (rent, SMS push, prolong, restore) against both response shapes of the fake: the SDK's
(getdata/sms objects, create/activate lists, add_service data -- the default) and the rent page's flat
samples. In the flat `sms` shape other-service SMS do not exist, so only own SMS are checked there."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from bot.callbacks import ArchiveAction, ArchiveCb, OrderAction, OrderCb
from tests.conftest import API_KEY
from tests.e2e.test_e2e_orders import cb, confirm_data, open_card
from tests.e2e.test_e2e_push import linked_with_order, sms_messages
from tests.e2e.test_e2e_rent import to_summary
from tests.fakes.smspva import FakeSmspva, Variants
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.flows import link_key, press, press_data
from tests.harness import BotRunner


@pytest.fixture(params=["sdk", "page"], autouse=True)
def shape(request: pytest.FixtureRequest, smspva: FakeSmspva) -> str:
    smspva.variants = Variants.named(str(request.param))
    return str(request.param)


async def test_rent(runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser) -> None:
    smspva.add_account(API_KEY, balance=100)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    assert "$" in summary.text
    result = await press(tg, alice, summary, "✅", expect="Number rented", timeout=10)
    (order,) = smspva.orders.values()
    assert order.pnumber in result.text
    assert len(smspva.calls_of("create")) == 1


async def test_sms_push(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, shape: str
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice, old_sms="Old code 111111")
    smspva.inject_sms(order_id, "Your code is 616161", "Instagram")
    smspva.inject_sms(order_id, "Other code 717171", "Telegram", other=True)
    await tg.wait_for(lambda: sms_messages(tg, alice, "616161"), timeout=20)
    if shape == "sdk":
        await tg.wait_for(lambda: sms_messages(tg, alice, "717171"), timeout=20)
    await asyncio.sleep(1.0)
    assert len(sms_messages(tg, alice, "616161")) == 1
    assert len(sms_messages(tg, alice, "717171")) == (1 if shape == "sdk" else 0)  # flat: invisible
    assert not sms_messages(tg, alice, "111111")


async def test_prolong(runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=3)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.PROLONG, order.id))
    week = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, screen, week, expect="New end date")
    old_until = smspva.orders[order.id].until
    await press_data(tg, alice, preview, confirm_data(preview))
    await tg.wait_message(alice.id, "Prolonged", timeout=10)
    assert len(smspva.calls_of("prolong")) == 1
    assert smspva.orders[order.id].until == old_until + 7 * 86400


async def test_restore(runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser) -> None:
    smspva.add_account(API_KEY, balance=100)
    item = smspva.add_history(API_KEY, outdays=10, price_day=Decimal("0.06"))[0]
    await link_key(tg, alice, API_KEY)
    tg.send_text(alice, "/archive")
    page = await tg.wait_message(alice.id, "Archive")
    restore = ArchiveCb(action=ArchiveAction.RESTORE, order_id=item.order_id).pack()
    preview = await press_data(tg, alice, page, restore, expect="Overdue days")
    assert "$2.40" in preview.text
    await press_data(tg, alice, preview, confirm_data(preview))
    await tg.wait_message(alice.id, "Restored", timeout=10)
    assert len(smspva.calls_of("restore_user")) == 1
    assert smspva.balance(API_KEY) == Decimal("97.60")
