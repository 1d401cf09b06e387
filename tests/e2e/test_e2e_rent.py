"""Renting, end to end: buttons → summary → exactly one `create` (and honest answers when it fails)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from bot.callbacks import RentAction, RentCb
from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import find_on_pages, has_button, labels, link_key, next_arrow, press, press_data
from tests.harness import BotRunner

AIRBNB = RentCb(action=RentAction.SERVICE, country="RU", service="opt46").pack()
RUSSIA = RentCb(action=RentAction.COUNTRY, country="RU").pack()


def week(n: int, service: str = "opt46", country: str = "RU") -> str:
    return RentCb(action=RentAction.PERIOD, country=country, service=service, dtype="week", dcount=n).pack()


async def open_rent(tg: FakeTelegram, user: FakeUser) -> BotMessage:
    before = max((m.message_id for m in tg.messages(user.id)), default=0)
    tg.send_text(user, "/rent")
    return await tg.wait_message(user.id, after=before)


async def to_summary(tg: FakeTelegram, user: FakeUser, period: str | None = None) -> BotMessage:
    screen = await open_rent(tg, user)
    screen = await find_on_pages(tg, user, screen, "")  # first page
    screen = await _press_country(tg, user, screen, RUSSIA)
    screen = await _press_service(tg, user, screen, AIRBNB)
    return await press_data(tg, user, screen, period or week(1), expect="$")


async def _press_paged(tg: FakeTelegram, user: FakeUser, screen: BotMessage, data: str) -> BotMessage:
    """Page forward until the button carrying `data` shows up, then press it."""
    for _ in range(5):
        if any(b.get("callback_data") == data for row in screen.buttons() for b in row):
            return await press_data(tg, user, screen, data)
        screen = await press(tg, user, screen, next_arrow(user))
    raise AssertionError(f"no button with {data!r} on any page")


_press_country = _press_service = _press_paged


@pytest.mark.parametrize(
    ("lang", "country_label", "rented_word"),
    [
        ("en", "Russia", "Number rented"),
        ("ru", "Россия", "Номер арендован"),
        ("ar", "روسيا", "تم استئجار الرقم"),
    ],
)
async def test_whole_path_by_buttons_rents_exactly_once(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, lang: str, country_label: str, rented_word: str
) -> None:
    user = FakeUser(id=3000 + len(lang) + ord(lang[0]), language_code=lang)
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, user, API_KEY)
    screen = await open_rent(tg, user)
    screen = await find_on_pages(tg, user, screen, country_label)
    screen = await press(tg, user, screen, country_label)
    assert has_button(screen, "Airbnb")
    assert "support" in screen.text.lower() or "поддержк" in screen.text or "الدعم" in screen.text
    screen = await _press_service(tg, user, screen, AIRBNB)
    # 1-4 weeks and 1-3 months first, each with its total and price per day; the rest under More.
    period_labels = [label for label in labels(screen) if "$" in label]
    assert len(period_labels) == 7
    assert all(label.count("$") == 2 for label in period_labels)
    assert sum("⭐" in label for label in period_labels) == 1  # the fake discounts longer periods
    screen = await press_data(tg, user, screen, week(2), expect="$")
    assert "359" in screen.text.replace("\u00a0", "").replace(",", "")  # available numbers
    summary = screen
    confirm_label = next(label for label in labels(summary) if label.startswith("✅"))
    result = await press(tg, user, summary, confirm_label, expect=rented_word, timeout=10)
    creates = smspva.calls_of("create")
    assert len(creates) == 1
    params = creates[0].params
    assert (params["country"], params["service"], params["dtype"], params["dcount"]) == (
        "RU",
        "opt46",
        "week",
        "2",
    )
    order_id = max(smspva.orders)
    order = smspva.orders[order_id]
    assert order.pnumber in result.text
    assert "<code>" in result.html
    assert runner.app is not None
    row = await runner.app.db.fetch_one("SELECT user_id FROM user_orders WHERE id = ?", (order_id,))
    assert row is not None
    assert row["user_id"] == user.id
    assert len(result.buttons()) >= 3


async def test_summary_shows_price_for_the_exact_period(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(
        tg,
        alice,
        RentCb(action=RentAction.PERIOD, country="RU", service="opt46", dtype="month", dcount=3).pack(),
    )
    # 90 days at the fake's 15% discount: 6 * 0.85 = 5.10 per day, 459.00 in all.
    assert "$5.10" in summary.text
    assert "$459.00" in summary.text
    assert "90" in summary.text


async def test_double_confirm_and_old_summary_make_one_create(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    smspva.latency = 0.2
    await link_key(tg, alice, API_KEY)
    old_summary = await to_summary(tg, alice)
    old_confirm = next(
        b["callback_data"] for row in old_summary.buttons() for b in row if b["text"].startswith("✅")
    )
    # A fresh summary (the user went back and came again) supersedes the old one.
    back = await press(tg, alice, old_summary, "◀️")
    summary = await press_data(tg, alice, back, week(1), expect="$")
    confirm = next(b["callback_data"] for row in summary.buttons() for b in row if b["text"].startswith("✅"))
    assert confirm != old_confirm
    first = tg.press(alice, summary, confirm)
    await asyncio.sleep(0.01)
    second = tg.press(alice, summary, confirm)
    stale = tg.press(alice, summary, old_confirm)
    await tg.wait_message(alice.id, "Number rented", timeout=10)
    await tg.wait_for(lambda: all(tg.answered(q) for q in (first, second, stale)))
    assert len(smspva.calls_of("create")) == 1
    # The second tap of the same Confirm is refused ("already"), the superseded summary "expired".
    assert "Already" in str(tg.answered(second))
    assert "expired" in str(tg.answered(stale))


@pytest.mark.parametrize("bot_overrides", [{"smspva_timeout_seconds": 1.0}])
@pytest.mark.parametrize(
    ("fault", "expected", "recorded"),
    [("timeout_after", "the number is yours", True), ("timeout", "did not go through", False)],
)
async def test_create_timeout_is_not_retried_and_reconciled(
    runner: BotRunner,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    alice: FakeUser,
    fault: str,
    expected: str,
    recorded: bool,
) -> None:
    """timeout_after: the rental happened upstream; timeout: it did not. Either way one `create`."""
    smspva.add_account(API_KEY, balance=1000)
    smspva.timeout_sleep = 3
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    smspva.fail_next(fault, method="create")
    await press(tg, alice, summary, "✅", expect=expected, timeout=15)
    assert len(smspva.calls_of("create")) == 1
    assert runner.app is not None
    mine = await runner.app.db.fetch_all("SELECT id FROM user_orders WHERE user_id = ?", (alice.id,))
    assert bool(mine) is recorded


async def test_search_by_typing_filters_services(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, boris: FakeUser
) -> None:
    screen = await open_rent(tg, boris)
    screen = await _press_country(tg, boris, screen, RUSSIA)
    before = screen.message_id
    tg.send_text(boris, "инст")  # no match in Cyrillic: the list says so
    empty = await tg.wait_message(boris.id, "«инст»", after=before)
    assert not any("/день" in label for label in labels(empty))
    tg.send_text(boris, "INSTA")
    found = await tg.wait_message(boris.id, "«INSTA»", after=empty.message_id)
    service_labels = [label for label in labels(found) if "$" in label]
    assert service_labels
    assert all("Instagram" in label for label in service_labels)


@pytest.mark.parametrize("bot_overrides", [{"watch_check_seconds": 0.3}])
async def test_paging_and_zero_count_offer_a_watch_that_fires(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    await link_key(tg, alice, API_KEY)
    screen = await open_rent(tg, alice)
    assert has_button(screen, "▶️")  # 13 countries, 10 per page
    screen = await _press_country(tg, alice, screen, RUSSIA)
    tinder = RentCb(action=RentAction.SERVICE, country="RU", service="opt9").pack()
    screen = await _press_service(tg, alice, screen, tinder)
    assert "no free numbers" in screen.text
    assert not any(label.startswith("✅") for label in labels(screen))
    query = tg.press_button(alice, screen, "Notify me")
    await tg.wait_for(lambda: tg.answered(query))
    assert runner.app is not None
    assert await runner.app.db.fetch_one(
        "SELECT 1 FROM watches WHERE user_id = ? AND service = 'opt9'", (alice.id,)
    )
    smspva.set_count("RU", "opt9", 12)
    note = await tg.wait_message(alice.id, "available again", timeout=10)
    assert has_button(note, "Rent")
    assert not await runner.app.db.fetch_one("SELECT 1 FROM watches WHERE user_id = ?", (alice.id,))


async def test_summary_of_zero_count_has_no_confirm(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    smspva.set_count("RU", "opt46", 0)
    # "Rent again" goes straight to a fresh summary; the cache is at most 30 s old, so force a new price.
    assert runner.app is not None
    again = RentCb(action=RentAction.AGAIN, country="RU", service="opt9", dtype="week", dcount=1).pack()
    tg.press(alice, summary, again)
    fresh = await tg.wait_message(alice.id, "Tinder")
    assert not any(label.startswith("✅") for label in labels(fresh))
    assert "$0.00" in fresh.text


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("no_balance", "balance is not enough"),
        ("no_numbers", "No numbers are left"),
        ("unavailable", "did not go through"),
        ("other", "«Something odd»"),
        ("bad_key", "rejected your API key"),
    ],
)
async def test_confirm_errors_are_explained(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, setup: str, expected: str
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    if setup == "no_balance":
        smspva.accounts[API_KEY].balance = Decimal("0.5")
    elif setup == "no_numbers":
        smspva.set_count("RU", "opt46", 0)
    elif setup == "unavailable":
        smspva.fail_next("500", method="create")
    elif setup == "other":
        smspva.fail_next("status0", method="create", msg="Something odd")
    elif setup == "bad_key":
        del smspva.accounts[API_KEY]
    await press(tg, alice, summary, "✅", expect=expected, timeout=10)
    assert len(smspva.calls_of("create")) == 1


async def test_no_key_summary_explains_how_to_link(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    summary = await to_summary(tg, alice)
    assert "/key" in summary.text
    assert not any(label.startswith("✅") for label in labels(summary))


async def test_rent_again_leads_to_a_fresh_summary(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    await press(tg, alice, summary, "✅", expect="Number rented")
    screen = await open_rent(tg, alice)
    assert has_button(screen, "🔁")
    again = await press(tg, alice, screen, "🔁", expect="Summary")
    assert "Airbnb" in again.text
    assert any(label.startswith("✅") for label in labels(again))


async def test_period_cap_is_90_days(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    screen = await open_rent(tg, alice)
    screen = await _press_country(tg, alice, screen, RUSSIA)
    screen = await _press_service(tg, alice, screen, AIRBNB)
    datas = [b["callback_data"] for row in screen.buttons() for b in row if "$" in b["text"]]
    assert (
        RentCb(action=RentAction.PERIOD, country="RU", service="opt46", dtype="month", dcount=3).pack()
        in datas
    )
    assert week(4) in datas
    assert week(5) not in datas  # under More
    screen = await press(tg, alice, screen, "More")
    datas += [b["callback_data"] for row in screen.buttons() for b in row if "$" in b["text"]]
    assert week(12) in datas
    assert week(13) not in datas
    forged = RentCb(action=RentAction.PERIOD, country="RU", service="opt46", dtype="month", dcount=4).pack()
    query = tg.press(alice, screen, forged)
    await tg.wait_for(lambda: tg.answered(query))
    assert "90" in str(tg.answered(query))
