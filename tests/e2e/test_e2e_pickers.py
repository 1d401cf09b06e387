"""The pickers: popular first, Back to the page the user came from, the period picker's grouping,
"Notify me" that shows it is on, and the catalog priced with the user's key."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.callbacks import RentAction, RentCb
from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import has_button, labels, link_key, next_arrow, press, press_data
from tests.harness import BotRunner

RUSSIA = RentCb(action=RentAction.COUNTRY, country="RU").pack()
INDONESIA = RentCb(action=RentAction.COUNTRY, country="ID").pack()
DISCORD = RentCb(action=RentAction.SERVICE, country="RU", service="opt45").pack()
TINDER = RentCb(action=RentAction.SERVICE, country="RU", service="opt9").pack()
AIRBNB = RentCb(action=RentAction.SERVICE, country="RU", service="opt46").pack()


async def open_rent(tg: FakeTelegram, user: FakeUser) -> BotMessage:
    before = max((m.message_id for m in tg.messages(user.id)), default=0)
    tg.send_text(user, "/rent")
    return await tg.wait_message(user.id, after=before)


def datas(message: BotMessage) -> list[str]:
    return [str(b.get("callback_data", "")) for row in message.buttons() for b in row]


async def test_popular_first_and_back_returns_to_the_page(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    countries = await open_rent(tg, alice)
    grid = [label for label in labels(countries) if label[:1] == "🇺" or "Kingdom" in label]
    assert labels(countries)[0] == "🇺🇸 United States"  # the curated list first
    assert grid[:2] == ["🇺🇸 United States", "🇬🇧 United Kingdom"]
    assert not has_button(countries, "Великобритания")  # every name in the user's language
    page2 = await press(tg, alice, countries, next_arrow(alice))
    assert has_button(page2, "Indonesia")
    services = await press_data(tg, alice, page2, INDONESIA, expect="choose a service")
    back = await press(tg, alice, services, "◀️ Back", expect="Choose a country")
    assert has_button(back, "Indonesia")  # page 2, where the user was
    assert has_button(back, "2/2")
    # Services: the popular ones pinned first (Telegram, WhatsApp, Google, ...).
    page1 = await press(tg, alice, back, "◀️")  # the pager's previous page
    services = await press_data(tg, alice, page1, RUSSIA, expect="choose a service")
    service_labels = [label for label in labels(services) if "$" in label]
    assert [label.split(" · ")[0] for label in service_labels[:3]] == ["Telegram", "WhatsApp", "Google/Gmail"]
    services2 = await press(tg, alice, services, next_arrow(alice))
    periods = await press_data(tg, alice, services2, DISCORD, expect="Discord")
    back = await press(tg, alice, periods, "◀️ Back", expect="choose a service")
    assert DISCORD in datas(back)  # the second page of services again


async def test_notify_me_shows_it_is_on_and_switches_off(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    services = await press_data(tg, alice, await open_rent(tg, alice), RUSSIA, expect="choose a service")
    services = await press(tg, alice, services, next_arrow(alice))
    offer = await press_data(tg, alice, services, TINDER, expect="no free numbers")
    assert "Notifications are on" not in offer.text
    on = await press(tg, alice, offer, "Notify me", expect="Notifications are on")
    assert has_button(on, "Stop notifying")
    assert not has_button(on, "Notify me")
    assert runner.app is not None
    assert await runner.app.db.fetch_one("SELECT 1 FROM watches WHERE user_id = ?", (alice.id,))
    off = await press(tg, alice, on, "Stop notifying", expect="no free numbers")
    await tg.wait_for(lambda: has_button(off, "Notify me") or None)
    assert "Notifications are on" not in off.text
    assert not await runner.app.db.fetch_one("SELECT 1 FROM watches WHERE user_id = ?", (alice.id,))


@pytest.mark.parametrize("bot_overrides", [{"smspva_min_interval_seconds": 1.0}])
async def test_period_picker_prices_seven_periods_with_the_users_key(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """Cold cache, the real pacing (1 s per key): only the 7 periods shown are priced, with the
    user's key, started together so the client's pacing is the only wait."""
    smspva.add_account(API_KEY, balance=100)
    await link_key(tg, alice, API_KEY)
    services = await press_data(tg, alice, await open_rent(tg, alice), RUSSIA, expect="choose a service")
    before = len(smspva.calls)
    started = time.monotonic()
    tg.press(alice, services, AIRBNB)
    # At once: a "one moment" screen (the paced calls take seconds), then the priced picker.
    await tg.wait_message(alice.id, "Getting today's prices", timeout=1.5)
    periods = await tg.wait_message(alice.id, "Best value", timeout=20)
    elapsed = time.monotonic() - started
    getdata = [call for call in smspva.calls[before:] if call.method == "getdata"]
    # 1 week is in the cache from the service list: 6 more calls, 1 s apart.
    assert len(getdata) == 6
    assert all(call.params.get("apikey") == API_KEY for call in getdata)
    assert all(
        call.params.get("apikey") == API_KEY for call in smspva.calls if call.method == "getdata"
    )  # the service list too, once the key is linked
    print(f"cold period screen: {elapsed:.2f} s for {len(getdata)} getdata calls")
    assert elapsed < 10  # 6 calls 1 s apart, the poller sharing the lane
    priced = [label for label in labels(periods) if "$" in label]
    assert len(priced) == 7
    best = [label for label in priced if label.startswith("⭐")]
    assert len(best) == 1
    assert "/day" in best[0]
    assert has_button(periods, "More periods")
    # Warm: the same screen again is served from the cache, no call at all.
    before = len(smspva.calls)
    again = await press(tg, alice, periods, "◀️ Back", expect="choose a service")
    started = time.monotonic()
    await press_data(tg, alice, again, AIRBNB, expect="Best value")
    assert time.monotonic() - started < 1
    assert [call.method for call in smspva.calls[before:] if call.method == "getdata"] == []


@pytest.mark.parametrize("bot_overrides", [{"smspva_min_interval_seconds": 1.0}])
async def test_back_while_pricing_keeps_the_service_list(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=100)
    await link_key(tg, alice, API_KEY)
    services = await press_data(tg, alice, await open_rent(tg, alice), RUSSIA, expect="choose a service")
    tg.press(alice, services, AIRBNB)
    pricing = await tg.wait_message(alice.id, "Getting today's prices", timeout=1.5)
    assert [label for label in labels(pricing) if "$" in label] == []
    back = await press(tg, alice, pricing, "◀️ Back", expect="choose a service")
    calls = len(smspva.calls)
    await tg.wait_for(lambda: len([c for c in smspva.calls[calls:] if c.method == "getdata"]) >= 1 or None)
    await asyncio.sleep(7)  # every period priced by now
    shown = next(m for m in tg.messages(alice.id) if m.message_id == back.message_id)
    assert "choose a service" in shown.text  # the late prices did not replace the list
    assert "Best value" not in shown.text
