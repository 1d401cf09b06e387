"""Races and odd answers found in review: each SMS still reaches the right chat, once and in order."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from bot.callbacks import ArchiveAction, ArchiveCb, OrderAction, OrderCb
from tests.conftest import API_KEY
from tests.e2e.test_e2e_orders import cb, confirm_data, open_card
from tests.e2e.test_e2e_push import linked_with_order, sms_messages
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.flows import link_key, press_data
from tests.harness import BotRunner


async def test_a_5xx_on_a_chats_first_sms_does_not_reorder_the_chat(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    tg.fail_next("sendMessage", error_code=502, description="Bad Gateway", chat_id=alice.id)
    smspva.inject_sms(order_id, "First code 101010", date=smspva.now() - 2)
    smspva.inject_sms(order_id, "Second code 202020", date=smspva.now() - 1)
    await tg.wait_message(alice.id, "101010", timeout=15)
    await tg.wait_message(alice.id, "202020", timeout=15)
    texts = [m.text for m in sms_messages(tg, alice) if "101010" in m.text or "202020" in m.text]
    assert len(texts) == 2
    assert "101010" in texts[0]


async def test_an_sms_read_by_a_poll_in_flight_when_the_key_moved_goes_to_the_new_holder(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, boris: FakeUser
) -> None:
    """Alice's poll has read her rows and waits for its `sms` call (in production: the client's 1 s
    per-key spacing) when Boris links the same key: the SMS it then reads belongs to Boris."""
    order_id = await linked_with_order(runner, tg, smspva, alice)
    assert runner.app is not None
    client: Any = runner.app.deps.smspva
    real_sms = client.sms
    gate, held = asyncio.Event(), asyncio.Event()

    async def gated_sms(apikey: str, order_id: int) -> Any:
        task = asyncio.current_task()
        if task is not None and task.get_name() == f"poll-{alice.id}" and not gate.is_set():
            held.set()
            await gate.wait()
        return await real_sms(apikey, order_id)

    client.sms = gated_sms
    smspva.inject_sms(order_id, "Code 424242 for the key holder")  # hasnewsms: Alice's next poll reads
    await asyncio.wait_for(held.wait(), timeout=10)
    await link_key(tg, boris, API_KEY)  # Boris now holds the key (and its orders)
    gate.set()
    await tg.wait_message(boris.id, "424242", timeout=15)
    await asyncio.sleep(1.5)  # more polls of both: nothing for Alice, nothing twice
    assert len(sms_messages(tg, boris, "424242")) == 1
    assert sms_messages(tg, alice, "424242") == []
    row = await runner.app.db.fetch_one("SELECT user_id FROM user_orders WHERE id = ?", (order_id,))
    assert row is not None
    assert row["user_id"] == boris.id


async def _add_telegram_service(tg: FakeTelegram, alice: FakeUser, order_id: int) -> None:
    card = await open_card(tg, alice, order_id)
    screen = await press_data(tg, alice, card, cb(OrderAction.ADD_SERVICE, order_id))
    tg.send_text(alice, "tele")
    found = await tg.wait_message(alice.id, "«tele»", after=screen.message_id)
    pick = OrderCb(action=OrderAction.ADD_SERVICE_PICK, order_id=order_id, service="opt29").pack()
    days = await press_data(tg, alice, found, pick)
    seven = OrderCb(action=OrderAction.ADD_SERVICE_DAYS, order_id=order_id, service="opt29", dcount=7).pack()
    preview = await press_data(tg, alice, days, seven)
    tg.press(alice, preview, confirm_data(preview))


async def test_an_undated_sms_of_a_service_added_as_a_new_order_is_pushed(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """SMSPVA puts the added service on a new order id and its SMS items carry no date: the code the
    user paid the service for, arriving seconds later, is theirs (not "there before the bot knew")."""
    smspva.variants.add_service_new_order = True
    smspva.variants.sms_no_date = True
    order_id = await linked_with_order(runner, tg, smspva, alice)
    await _add_telegram_service(tg, alice, order_id)
    await tg.wait_for(lambda: smspva.calls_of("add_service_to_order"), timeout=10)
    new_id = max(smspva.orders)
    assert new_id != order_id
    smspva.set_state(new_id, 1)
    smspva.inject_sms(new_id, "Telegram code 515151")
    await tg.wait_message(alice.id, "515151", timeout=15)
    await asyncio.sleep(1.0)
    assert len(sms_messages(tg, alice, "515151")) == 1


async def test_a_service_added_as_a_new_order_without_its_id_in_the_answer_is_still_the_users(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.variants.add_service_new_order = True
    smspva.variants.add_service_data = False  # {"status": 1} only: the new order's id is not named
    smspva.variants.sms_no_date = True
    order_id = await linked_with_order(runner, tg, smspva, alice)
    await _add_telegram_service(tg, alice, order_id)
    await tg.wait_for(lambda: smspva.calls_of("add_service_to_order"), timeout=10)
    new_id = max(smspva.orders)
    assert new_id != order_id
    smspva.set_state(new_id, 1)
    smspva.inject_sms(new_id, "Telegram code 525252")
    await tg.wait_message(alice.id, "525252", timeout=15)


async def test_an_sms_moved_from_other_services_to_the_orders_own_list_is_pushed_once(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """The code came for Telegram before Telegram was on the order (OtherSms); the user adds the
    service and SMSPVA lists the same SMS as the order's own from then on."""
    smspva.variants.add_service_moves_other_sms = True
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "Telegram code 535353", "Telegram", other=True)
    await tg.wait_message(alice.id, "535353", timeout=15)
    await _add_telegram_service(tg, alice, order_id)
    await tg.wait_for(lambda: smspva.calls_of("add_service_to_order"), timeout=10)
    assert smspva.orders[order_id].other_sms == []  # moved to SmsList
    reads = len(smspva.calls_of("sms"))
    await tg.wait_for(lambda: len(smspva.calls_of("sms")) > reads, timeout=10)  # read in its new list
    await asyncio.sleep(1.0)
    assert len(sms_messages(tg, alice, "535353")) == 1


async def test_a_restore_of_a_number_given_with_plus_shows_it_once_and_reconciles_by_number(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """SMSPVA gives the number as "+<code><number>" and reopens it under a new order id; the answer
    to restore_user is lost after it was applied: the order list shows the number, so it went through."""
    smspva.variants.odd_fields = True
    smspva.variants.restore_new_id = True
    smspva.add_account(API_KEY, balance=100)
    item = smspva.add_history(API_KEY, outdays=10, price_day=Decimal("0.06"))[0]
    await link_key(tg, alice, API_KEY)
    tg.send_text(alice, "/archive")
    page = await tg.wait_message(alice.id, "Archive")
    restore = ArchiveCb(action=ArchiveAction.RESTORE, order_id=item.order_id).pack()
    preview = await press_data(tg, alice, page, restore, expect="Overdue days")
    smspva.fail_next("timeout_after", method="restore_user")
    tg.press(alice, preview, confirm_data(preview))
    done = await tg.wait_message(alice.id, "Restored", timeout=15)
    assert "it went through" in done.text
    assert "++" not in done.text
    assert "+" + item.order.number in done.text
    assert len(smspva.calls_of("restore_user")) == 1


async def test_an_sms_whose_date_string_is_in_a_zone_west_of_utc_is_not_dropped_as_old(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """SMSPVA writes the date as "YYYY-MM-DD HH:MM:SS" in a zone five hours behind UTC: read as UTC, a
    brand-new SMS looks five hours old, older than the bot's first sight of the order."""
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.variants.sms_odd = True
    smspva.variants.sms_date_zone_hours = -5
    smspva.inject_sms(order_id, "Your code 545454")
    await tg.wait_message(alice.id, "545454", timeout=15)
