"""My numbers, end to end: the list, the card and every action — each money move exactly once."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.callbacks import ConfirmCb, ConfirmKind, OrderAction, OrderCb
from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import has_button, labels, link_key, press, press_data
from tests.harness import BotRunner

ARABIC = re.compile(r"[\u0600-\u06FF]")


def user_for(lang: str) -> FakeUser:
    return FakeUser(id=4000 + ord(lang[0]), first_name="U", language_code=lang)


def cb(action: OrderAction, order_id: int) -> str:
    return OrderCb(action=action, order_id=order_id).pack()


def _is_push(message: BotMessage) -> bool:
    """A notification (an SMS push, a notice): its callback buttons carry the notification mark."""
    return any(
        str(button.get("callback_data", "")).startswith("!") for row in message.buttons() for button in row
    )


async def open_list(tg: FakeTelegram, user: FakeUser) -> BotMessage:
    """/orders, and the list it answers with (an SMS push may arrive in between: it is not the list)."""
    before = max((m.message_id for m in tg.messages(user.id)), default=0)
    tg.send_text(user, "/orders")

    def listing() -> BotMessage | None:
        fresh = [m for m in tg.messages(user.id) if m.message_id > before and not _is_push(m)]
        return fresh[0] if fresh else None

    found: BotMessage = await tg.wait_for(listing, timeout=10)
    return found


async def open_card(tg: FakeTelegram, user: FakeUser, order_id: int) -> BotMessage:
    listing = await open_list(tg, user)
    return await press_data(tg, user, listing, cb(OrderAction.CARD, order_id))


def confirm_data(message: BotMessage) -> str:
    for row in message.buttons():
        for button in row:
            if str(button.get("callback_data", "")).startswith(ConfirmCb.__prefix__ + ":"):
                return str(button["callback_data"])
    raise AssertionError(f"no confirm button: {labels(message)}")


async def double_tap_confirm(tg: FakeTelegram, user: FakeUser, message: BotMessage) -> None:
    data = confirm_data(message)
    first = tg.press(user, message, data)
    await asyncio.sleep(0.01)
    second = tg.press(user, message, data)
    await tg.wait_for(lambda: tg.answered(first) and tg.answered(second), timeout=10)


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_list_and_card(runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, lang: str) -> None:
    user = user_for(lang)
    smspva.add_account(API_KEY)
    await link_key(tg, user, API_KEY)
    empty = await open_list(tg, user)
    assert len(empty.buttons()) >= 1  # Rent a number
    if lang == "en":
        assert "no rented numbers" in empty.text
    order = smspva.add_order(API_KEY, service="opt16", state=0, days_left=20)
    smspva.inject_sms(order.id, "Code 123456", "Instagram")
    listing = await open_list(tg, user)
    assert order.pnumber in listing.text
    assert "✉️" in listing.text  # new SMS mark
    card = await press_data(tg, user, listing, cb(OrderAction.CARD, order.id))
    assert order.pnumber in card.text
    assert f"<code>+7 {order.pnumber}</code>" in card.html
    if lang == "ar":
        assert ARABIC.search(card.text)
    else:
        assert "not active" in card.text
        assert "Prolonging opens on" in card.text


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_activate_then_online_notice(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, lang: str
) -> None:
    user = user_for(lang)
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=0, days_left=20)
    await link_key(tg, user, API_KEY)
    card = await open_card(tg, user, order.id)
    result = await press_data(tg, user, card, cb(OrderAction.ACTIVATE, order.id), expect="10")
    assert "15" in result.text  # 10–15 minutes on average
    assert len(smspva.calls_of("activate")) == 1
    # The fake brings the number online after 0.5 s; the poller tells the user.
    await tg.wait_for(lambda: any("🟢" in m.text for m in tg.messages(user.id)), timeout=10)


async def test_sms_view_lists_own_and_other_services(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.variants.sms_object = True
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=1, days_left=20)
    smspva.inject_sms(order.id, "Old code 1111", "A", date=smspva.now() - 600)
    smspva.inject_sms(order.id, "New code 2222", "B")
    smspva.inject_sms(order.id, "Other code 3333", "Telegram", other=True)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    view = await press_data(tg, alice, card, cb(OrderAction.SMS, order.id), expect="2222")
    assert view.text.index("2222") < view.text.index("1111")  # newest first
    assert view.text.index("other services") < view.text.index("3333")
    assert "<code>2222</code>" in view.html


@pytest.mark.parametrize(("days_left", "allowed"), [(8, False), (6, True)])
async def test_prolong_window(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, days_left: int, allowed: bool
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=days_left)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.PROLONG, order.id))
    if not allowed:
        assert "opens on" in screen.text
        assert not any("$" in label for label in labels(screen))
        assert smspva.calls_of("prolong") == []
        return
    week = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, screen, week, expect="New end date")
    assert "$" in preview.text
    old_until = smspva.orders[order.id].until
    await double_tap_confirm(tg, alice, preview)
    await tg.wait_message(alice.id, "Prolonged", timeout=10)
    assert len(smspva.calls_of("prolong")) == 1
    assert smspva.orders[order.id].until == old_until + 7 * 86400


async def test_prolong_periods_respect_the_90_day_rule(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=3)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.PROLONG, order.id))
    datas = [b["callback_data"] for row in screen.buttons() for b in row]
    month3 = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="month", dcount=3).pack()
    week12 = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="week", dcount=12).pack()
    assert month3 not in datas  # 3 + 90 days > 90
    assert week12 in datas  # 3 + 84 days <= 90
    query = tg.press(alice, screen, month3)  # forged: refused without a call
    await tg.wait_message(alice.id, "90-day maximum", timeout=5)
    assert tg.answered(query)
    assert smspva.calls_of("prolong") == []


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_add_service_exactly_once(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, lang: str
) -> None:
    user = user_for(lang)
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, service="opt16", state=0, days_left=20)
    await link_key(tg, user, API_KEY)
    card = await open_card(tg, user, order.id)
    screen = await press_data(tg, user, card, cb(OrderAction.ADD_SERVICE, order.id))
    before = screen.message_id
    tg.send_text(user, "tele")
    found = await tg.wait_message(user.id, "«tele»", after=before)
    assert any("Telegram" in label for label in labels(found))
    assert not any("Instagram" in label for label in labels(found))
    pick = OrderCb(action=OrderAction.ADD_SERVICE_PICK, order_id=order.id, service="opt29").pack()
    days = await press_data(tg, user, found, pick)
    seven = OrderCb(action=OrderAction.ADD_SERVICE_DAYS, order_id=order.id, service="opt29", dcount=7).pack()
    preview = await press_data(tg, user, days, seven)
    telegram_price = smspva.countries["RU"].services["opt29"].price_day
    total = telegram_price * 7
    assert f"{total:.2f}" in preview.text
    await double_tap_confirm(tg, user, preview)
    await tg.wait_for(lambda: smspva.calls_of("add_service_to_order"), timeout=10)
    await asyncio.sleep(0.5)
    calls = smspva.calls_of("add_service_to_order")
    assert len(calls) == 1
    assert calls[0].params["pnumber"] == "7" + order.pnumber
    assert calls[0].params["rent_days"] == "7"
    assert calls[0].params["service"] == "opt29"


@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_delete_exactly_once(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, lang: str
) -> None:
    user = user_for(lang)
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=0, days_left=20)
    await link_key(tg, user, API_KEY)
    card = await open_card(tg, user, order.id)
    screen = await press_data(tg, user, card, cb(OrderAction.DELETE, order.id))
    if lang == "en":
        assert "no refund" in screen.text.lower()
    await double_tap_confirm(tg, user, screen)
    await tg.wait_for(lambda: smspva.calls_of("delete"), timeout=10)
    await asyncio.sleep(0.5)
    assert len(smspva.calls_of("delete")) == 1
    listing = await open_list(tg, user)
    assert order.pnumber not in listing.text


async def test_tampered_order_id_is_refused_without_upstream_money_call(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, boris: FakeUser
) -> None:
    other_key = "otherKey1234567890abcdefABCDE"
    smspva.add_account(API_KEY)
    smspva.add_account(other_key, balance=1000)
    mine = smspva.add_order(API_KEY, state=0, days_left=3)
    theirs = smspva.add_order(other_key, state=0, days_left=3)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, mine.id)
    for action in (OrderAction.ACTIVATE, OrderAction.PROLONG, OrderAction.DELETE, OrderAction.ADD_SERVICE):
        query_id = tg.press(alice, card, cb(action, theirs.id))
        await tg.wait_for(lambda: tg.answered(query_id), timeout=5)  # noqa: B023  (awaited in the loop)
    forged_period = OrderCb(
        action=OrderAction.PROLONG_PERIOD, order_id=theirs.id, dtype="week", dcount=1
    ).pack()
    tg.press(alice, card, forged_period)
    forged_confirm = ConfirmCb(kind=ConfirmKind.PROLONG, token="forged-token").pack()
    query = tg.press(alice, card, forged_confirm)
    await tg.wait_for(lambda: tg.answered(query), timeout=5)
    await tg.wait_message(alice.id, "not among your current orders", timeout=5)
    await asyncio.sleep(0.5)
    for method in ("activate", "prolong", "delete", "add_service_to_order", "create"):
        assert smspva.calls_of(method) == [], method


@pytest.mark.parametrize(
    ("fault", "expected"),
    [("status0", "«Something odd»"), ("500", "did not go through"), ("no_balance", "balance is not enough")],
)
async def test_prolong_errors_are_explained(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, fault: str, expected: str
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=5)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.PROLONG, order.id))
    week = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, screen, week, expect="New end date")
    if fault == "no_balance":
        smspva.accounts[API_KEY].balance = smspva.accounts[API_KEY].balance * 0
    else:
        smspva.fail_next(fault, method="prolong", msg="Something odd")
    await press(tg, alice, preview, "✅", expect=expected, timeout=10)
    assert len(smspva.calls_of("prolong")) == 1


async def test_smspva_down_on_the_list_says_try_later(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    await link_key(tg, alice, API_KEY)
    smspva.fail_for("500", 20, method="orders")
    listing = await open_list(tg, alice)
    assert "try again" in listing.text
    assert has_button(listing, "Menu")
