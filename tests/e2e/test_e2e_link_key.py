"""Linking the key: a button on the welcome screen opens the paste prompt, errors keep Cancel and
Menu, and after linking the action the user was on resumes (the summary comes back with Confirm)."""

from __future__ import annotations

from bot.callbacks import RentAction, RentCb
from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import has_button, labels, press, press_data
from tests.harness import BotRunner

RUSSIA = RentCb(action=RentAction.COUNTRY, country="RU").pack()
TELEGRAM = RentCb(action=RentAction.SERVICE, country="RU", service="opt29").pack()
ONE_WEEK = RentCb(action=RentAction.PERIOD, country="RU", service="opt29", dtype="week", dcount=1).pack()


class Taps:
    """Counts the user's button presses on the way."""

    def __init__(self, tg: FakeTelegram, user: FakeUser) -> None:
        self.tg, self.user, self.count = tg, user, 0

    async def label(self, message: BotMessage, contains: str, expect: str | None = None) -> BotMessage:
        self.count += 1
        return await press(self.tg, self.user, message, contains, expect, timeout=10)

    async def data(self, message: BotMessage, data: str, expect: str | None = None) -> BotMessage:
        self.count += 1
        return await press_data(self.tg, self.user, message, data, expect)


async def send(tg: FakeTelegram, user: FakeUser, text: str, expect: str | None = None) -> BotMessage:
    before = max((m.message_id for m in tg.messages(user.id)), default=0)
    tg.send_text(user, text)
    return await tg.wait_message(user.id, expect or "", after=before, timeout=10)


async def test_first_timer_rents_in_six_taps_and_a_paste(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=500)
    taps = Taps(tg, alice)
    welcome = await send(tg, alice, "/start")
    assert has_button(welcome, "Link my SMSPVA key")
    screen = await taps.label(welcome, "Rent a number", expect="Choose a country")
    screen = await taps.data(screen, RUSSIA, expect="choose a service")
    screen = await taps.data(screen, TELEGRAM, expect="Best value")
    summary = await taps.data(screen, ONE_WEEK, expect="Summary")
    assert not any(label.startswith("✅") for label in labels(summary))
    prompt = await taps.label(summary, "Link my SMSPVA key", expect="API key")
    url_buttons = [b for row in prompt.buttons() for b in row if b.get("url")]
    assert [b["url"] for b in url_buttons] == [runner.settings.api_key_url]
    before = max(m.message_id for m in tg.messages(alice.id))
    pasted = tg.send_text(alice, API_KEY)
    # The summary comes back, now with Confirm: nothing to pick again.
    resumed = await tg.wait_message(alice.id, "Summary", after=before, timeout=10)
    assert tg.user_message_deleted(alice.id, pasted)
    assert "Telegram" in resumed.text
    assert any(label.startswith("✅") for label in labels(resumed))
    await taps.label(resumed, "✅", expect="Number rented")
    assert taps.count == 6  # was 14 taps and a paste
    assert len(smspva.calls_of("create")) == 1


async def test_welcome_button_opens_the_prompt_and_errors_keep_cancel_and_menu(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, amal: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    welcome = await send(tg, amal, "/start")
    prompt = await press(tg, amal, welcome, "🔑")
    assert "API" in prompt.text
    before = max(m.message_id for m in tg.messages(amal.id))
    tg.send_text(amal, "not a key at all")
    wrong = await tg.wait_message(amal.id, after=before)
    assert has_button(wrong, "✖️")  # Cancel
    assert has_button(wrong, "🏠")  # Menu
    # The prompt is still open: the right key pasted next is linked.
    before = wrong.message_id
    tg.send_text(amal, API_KEY)
    linked = await tg.wait_message(amal.id, API_KEY[-4:], after=before)
    assert has_button(linked, "📱")  # Rent a number
    welcome = await send(tg, amal, "/start")
    assert not has_button(welcome, "🔑")  # linked: no more "Link my key"


async def test_orders_without_a_key_resume_after_linking(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    need = await send(tg, alice, "/orders", expect="API key")
    assert has_button(need, "Menu")
    prompt = await press(tg, alice, need, "Link my SMSPVA key", expect="Send me")
    cancelled = await press(tg, alice, prompt, "Cancel", expect="No key linked")
    assert has_button(cancelled, "Back")
    need = await send(tg, alice, "/orders", expect="API key")
    await press(tg, alice, need, "Link my SMSPVA key", expect="Send me")
    before = max(m.message_id for m in tg.messages(alice.id))
    tg.send_text(alice, API_KEY)
    await tg.wait_message(alice.id, "My numbers", after=before, timeout=10)
