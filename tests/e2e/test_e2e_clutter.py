"""Less clutter: a new screen takes the older screen's keyboard away, every screen has Back or Menu,
the time zone picker starts with regions; and the small texts (names, one phone format, reasons)."""

from __future__ import annotations

from bot.callbacks import ArchiveAction, ArchiveCb, OrderAction, OrderCb, RentAction, RentCb
from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import has_button, labels, link_key, next_arrow, press, press_data
from tests.harness import BotRunner

RUSSIA = RentCb(action=RentAction.COUNTRY, country="RU").pack()
TINDER = RentCb(action=RentAction.SERVICE, country="RU", service="opt9").pack()


async def send(tg: FakeTelegram, user: FakeUser, text: str, expect: str = "") -> BotMessage:
    before = max((m.message_id for m in tg.messages(user.id)), default=0)
    tg.send_text(user, text)
    return await tg.wait_message(user.id, expect, after=before, timeout=10)


def current(tg: FakeTelegram, user: FakeUser, message: BotMessage) -> BotMessage:
    return next(m for m in tg.messages(user.id) if m.message_id == message.message_id)


def back_or_menu(message: BotMessage) -> bool:
    return any("Back" in label or "Menu" in label for label in labels(message))


async def test_a_new_screen_takes_the_older_keyboard_away(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    smspva.add_order(API_KEY, state=1, days_left=20)
    await link_key(tg, alice, API_KEY)
    first = await send(tg, alice, "/orders", "My numbers")
    assert first.buttons()
    second = await send(tg, alice, "/orders", "My numbers")
    await tg.wait_for(lambda: not current(tg, alice, first).buttons() or None)
    assert current(tg, alice, second).buttons()
    # A typed search answers with a new list: the list above it loses its buttons.
    screen = await send(tg, alice, "/rent", "Choose a country")
    await tg.wait_for(lambda: not current(tg, alice, second).buttons() or None)
    services = await press_data(tg, alice, screen, RUSSIA, expect="choose a service")
    found = await send(tg, alice, "tele", "«tele»")
    assert has_button(found, "Telegram")
    await tg.wait_for(lambda: not current(tg, alice, services).buttons() or None)


async def test_every_screen_has_back_or_menu_and_zones_start_with_regions(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    prompt = await send(tg, alice, "/key", "API key")
    assert back_or_menu(prompt)
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=1, days_left=20)
    smspva.add_history(API_KEY, count=2)
    await link_key(tg, alice, API_KEY)
    listing = await send(tg, alice, "/orders", "My numbers")
    card = await press_data(tg, alice, listing, OrderCb(action=OrderAction.CARD, order_id=order.id).pack())
    assert has_button(card, "Back")
    assert has_button(card, "Menu")
    archive = await send(tg, alice, "/archive", "Archive")
    assert back_or_menu(archive)
    settings = await send(tg, alice, "/settings", "Settings")
    zones = await press(tg, alice, settings, "Time zone", expect="IANA")
    assert len(labels(zones)) <= 9  # UTC, six regions, Back, Menu -- not 38 zones
    assert has_button(zones, "Europe")
    assert has_button(zones, "Back")
    assert has_button(zones, "Menu")
    europe = await press(tg, alice, zones, "Europe")
    assert has_button(europe, "Berlin (UTC+")
    assert back_or_menu(europe)
    back = await press(tg, alice, europe, "Back")
    offsets = await press(tg, alice, back, "UTC offsets")
    assert has_button(offsets, "UTC+3")
    unknown = await send(tg, alice, "Mars/Olympus", "don't know")
    assert back_or_menu(unknown)
    europe = await press(tg, alice, offsets, "Back")
    europe = await press(tg, alice, europe, "Europe")
    saved = await press(tg, alice, europe, "Berlin", expect="Settings")
    assert "Europe/Berlin" in saved.text


async def test_small_texts(runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser) -> None:
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=1, days_left=20)
    kept = smspva.add_history(API_KEY, country="UK", restorable=True)[0]
    gone = smspva.add_history(API_KEY, country="RU", restorable=False)[0]
    await link_key(tg, alice, API_KEY)
    # One phone format: the archive shows numbers the way My numbers does ("+44 7...").
    listing = await send(tg, alice, "/orders", "My numbers")
    assert f"+{order.ccode.lstrip('+')} {order.pnumber}" in listing.text
    archive = await send(tg, alice, "/archive", "Archive")
    uk_number = kept.order.pnumber
    assert f"+44 {uk_number}" in archive.text
    assert "cannot be restored" in archive.text  # the row without Restore says why
    restore_buttons = [d for row in archive.buttons() for b in row if (d := str(b.get("callback_data", "")))]
    assert ArchiveCb(action=ArchiveAction.RESTORE, order_id=kept.order_id).pack() in restore_buttons
    assert ArchiveCb(action=ArchiveAction.RESTORE, order_id=gone.order_id).pack() not in restore_buttons
    # Watches by service and country name, not codes.
    services = await press_data(tg, alice, await send(tg, alice, "/rent", "country"), RUSSIA)
    services = await press(tg, alice, services, next_arrow(alice))
    offer = await press_data(tg, alice, services, TINDER, expect="no free numbers")
    await press(tg, alice, offer, "Notify me", expect="Notifications are on")
    settings = await send(tg, alice, "/settings", "Settings")
    watches = await press(tg, alice, settings, "Watches", expect="Tinder")
    assert "Russia" in watches.text
    assert " RU," not in watches.text
    assert has_button(watches, "Tinder (Russia)")
