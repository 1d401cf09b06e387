"""Helpers that drive the bot the way a person does: type, look for a button, press it."""

from __future__ import annotations

from bot.callbacks import RentCb
from bot.formatting import forward_arrow
from bot.i18n import pick_locale
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser


def labels(message: BotMessage) -> list[str]:
    return [button.get("text", "") for row in message.buttons() for button in row]


def has_button(message: BotMessage, contains: str) -> bool:
    return any(contains in label for label in labels(message))


async def press(
    tg: FakeTelegram,
    user: FakeUser,
    message: BotMessage,
    contains: str,
    expect: str | None = None,
    timeout: float = 5.0,
) -> BotMessage:
    """Press the button whose label contains `contains` and wait for the screen to change."""
    edits_before = message.edits
    sent_before = max((m.message_id for m in tg.messages(user.id)), default=0)
    tg.press_button(user, message, contains)

    def changed() -> BotMessage | None:
        current = next(m for m in tg.messages(user.id) if m.message_id == message.message_id)
        candidates = [m for m in tg.messages(user.id) if m.message_id > sent_before and not m.deleted]
        if current.edits > edits_before and (expect is None or expect in current.text):
            return current
        for newer in reversed(candidates):
            if expect is None or expect in newer.text:
                return newer
        return None

    result: BotMessage = await tg.wait_for(changed, timeout=timeout)
    if expect is None and pricing(result):
        # The period picker says "one moment" while it prices (bot/handlers/rent/periods.py): the
        # screen the press leads to is the one after it.
        placeholder_id, edits = result.message_id, result.edits
        result = await tg.wait_for(
            lambda: next(
                (m for m in tg.messages(user.id) if m.message_id == placeholder_id and m.edits > edits),
                None,
            ),
            timeout=timeout,
        )
    return result


def pricing(message: BotMessage) -> bool:
    """The period picker's "getting today's prices" screen: ⏳ and only Back (to a rent screen) and
    Menu. (Other ⏳ screens, such as "prolonging opens on ...", go back to an order.)"""
    datas = [str(button.get("callback_data", "")) for row in message.buttons() for button in row]
    rent_back = any(data.startswith(RentCb.__prefix__ + ":") for data in datas)
    return message.text.startswith("⏳") and len(datas) == 2 and rent_back


def next_arrow(user: FakeUser) -> str:
    """The next-page arrow in the user's language (◀️ in right-to-left languages)."""
    return forward_arrow(pick_locale(None, user.language_code))


async def find_on_pages(
    tg: FakeTelegram, user: FakeUser, message: BotMessage, contains: str, max_pages: int = 10
) -> BotMessage:
    """Page forward (▶️, or ◀️ right to left) until a button with `contains` shows up."""
    arrow = next_arrow(user)
    for _ in range(max_pages):
        if has_button(message, contains):
            return message
        if not has_button(message, arrow):
            break
        message = await press(tg, user, message, arrow)
    raise AssertionError(f"no button containing {contains!r}; last labels: {labels(message)}")


async def link_key(tg: FakeTelegram, user: FakeUser, key: str) -> None:
    before = max((m.message_id for m in tg.messages(user.id)), default=0)
    tg.send_text(user, f"/key {key}")
    await tg.wait_message(user.id, key[-4:], after=before)


def button_with_data(message: BotMessage, data: str) -> dict[str, object]:
    for row in message.buttons():
        for button in row:
            if button.get("callback_data") == data:
                return button
    raise AssertionError(f"no button with data {data!r}; labels: {labels(message)}")


async def press_data(
    tg: FakeTelegram, user: FakeUser, message: BotMessage, data: str, expect: str | None = None
) -> BotMessage:
    """Press the (existing) button carrying `data` — language-independent."""
    label = str(button_with_data(message, data)["text"])
    return await press(tg, user, message, label, expect)
