"""The fake Telegram Bot API, driven by the real aiogram Bot and Dispatcher over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import Command, CommandStart
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    ChatMemberUpdated,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.fakes.telegram import (
    BAD_GATEWAY_PAGE,
    FakeTelegram,
    FakeUser,
    HtmlParseError,
    TranscriptButton,
    parse_html,
)

ALICE = FakeUser(id=1001, first_name="Alice", language_code="ru", username="alice")
BOB = FakeUser(id=1002, first_name="Bob")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    telegram = FakeTelegram()
    await telegram.start()
    yield telegram
    await telegram.stop()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    bot = Bot(fake.token, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield bot
    await bot.session.close()


@contextlib.asynccontextmanager
async def polling(fake: FakeTelegram, dp: Dispatcher, bot: Bot) -> AsyncIterator[None]:
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False))
    await fake.wait_for(lambda: fake.calls_of("getUpdates") or task.done())
    try:
        yield
    finally:
        if not task.done():
            await dp.stop_polling()
        await task


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons]
    )


def counter_router(errors: list[str]) -> Router:
    router = Router(name="counter")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        assert message.from_user is not None
        await message.answer(
            f"Hello, <b>{message.from_user.first_name}</b>! Language: {message.from_user.language_code}",
            reply_markup=keyboard(("➕ Add", "c1:add"), ("Reset", "c1:reset")),
        )

    @router.callback_query(F.data == "c1:add")
    async def add(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text(
            "Counter: <code>1</code>", reply_markup=keyboard(("➕ Add", "c1:add"), ("Reset", "c1:reset"))
        )
        await query.answer("added")

    @router.callback_query(F.data == "c1:reset")
    async def reset(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        try:
            # Resetting twice is a no-op edit: Telegram refuses it.
            await query.message.edit_text("Counter: <code>0</code>")
        except TelegramBadRequest as exc:
            errors.append(exc.message)
        await query.answer()

    return router


async def test_dialogue_through_real_polling(fake: FakeTelegram, bot: Bot) -> None:
    errors: list[str] = []
    dp = Dispatcher()
    dp.include_router(counter_router(errors))

    async with polling(fake, dp, bot):
        sent_id = fake.send_text(ALICE, "/start")
        menu = await fake.wait_message(ALICE.id, "Hello", after=sent_id)
        assert menu.text == "Hello, Alice! Language: ru"
        assert menu.html == "Hello, <b>Alice</b>! Language: ru"
        assert menu.entities == [{"type": "bold", "offset": 7, "length": 5}]
        assert menu.parse_mode == "HTML"
        assert [[button["text"] for button in row] for row in menu.buttons()] == [["➕ Add"], ["Reset"]]
        assert fake.messages(ALICE.id) == [menu]

        query_id = fake.press_button(ALICE, menu, "Add")
        await fake.wait_for(lambda: fake.answered(query_id))
        assert fake.answered(query_id) == {"callback_query_id": query_id, "text": "added"}
        assert menu.text == "Counter: 1"
        assert menu.edits == 1
        assert menu.button("Reset")["callback_data"] == "c1:reset"

        first_reset = fake.press_button(ALICE, menu, "Reset")
        await fake.wait_for(lambda: fake.answered(first_reset))
        assert menu.text == "Counter: 0"
        assert menu.buttons() == []  # edited without reply_markup: the keyboard is gone
        second_reset = fake.press(ALICE, menu, "c1:reset")
        await fake.wait_for(lambda: fake.answered(second_reset))

    assert menu.edits == 2
    assert errors == [
        "Bad Request: message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    ]
    send = fake.calls_of("sendMessage")[0]
    assert send.params["chat_id"] == ALICE.id
    assert send.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "c1:add"
    assert fake.last_message(ALICE.id) is menu
    assert fake.calls_of("getMe")
    polls = fake.calls_of("getUpdates")
    assert all(sorted(call.params["allowed_updates"]) == ["callback_query", "message"] for call in polls)


async def test_updates_carry_what_telegram_sends(fake: FakeTelegram, bot: Bot) -> None:
    message_id = fake.send_text(ALICE, "/start@smspva_test_bot deep")
    fake.block(ALICE.id)

    updates = await bot.get_updates(allowed_updates=["message", "callback_query", "my_chat_member"])

    assert [update.update_id for update in updates] == [updates[0].update_id, updates[0].update_id + 1]
    message = updates[0].message
    assert message is not None
    assert message.from_user is not None
    assert message.message_id == message_id
    assert message.chat.type == "private"
    assert message.from_user.language_code == "ru"
    assert message.from_user.username == "alice"
    assert message.entities is not None
    assert (message.entities[0].type, message.entities[0].offset, message.entities[0].length) == (
        "bot_command",
        0,
        len("/start@smspva_test_bot"),
    )
    blocked = updates[1].my_chat_member
    assert isinstance(blocked, ChatMemberUpdated)
    assert blocked.new_chat_member.status == "kicked"

    # confirming with offset drops the updates
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == []
    assert fake.pending_updates == []


async def test_updates_the_bot_did_not_ask_for_are_dropped(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ALICE, "hi")
    fake.block(ALICE.id)
    updates = await bot.get_updates(allowed_updates=["message"])
    assert [update.event_type for update in updates] == ["message"]


async def test_message_ids_are_shared_by_user_and_bot(fake: FakeTelegram, bot: Bot) -> None:
    first = fake.send_text(ALICE, "one")
    sent = await bot.send_message(ALICE.id, "two")
    second = fake.send_text(ALICE, "three")
    assert first < sent.message_id < second
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    assert sent.from_user.username == "smspva_test_bot"
    assert sent.chat.first_name == "Alice"
    assert sent.date.timestamp() > 0


async def test_unknown_chat_is_not_found(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "hello?")
    fake.add_user(FakeUser(id=424242))
    assert (await bot.send_message(424242, "hello!")).text == "hello!"


async def test_long_poll_waits_and_wakes_on_injection(fake: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 2.0

    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for(lambda: len(fake.calls_of("getUpdates")) == 2)
    await asyncio.sleep(0.05)
    injected = time.monotonic()
    fake.send_text(BOB, "wake up")
    updates = await poll
    assert time.monotonic() - injected < 0.5
    assert updates[0].message is not None
    assert updates[0].message.text == "wake up"


async def test_stop_wakes_a_pending_long_poll() -> None:
    fake = FakeTelegram()
    base_url = await fake.start()
    async with httpx.AsyncClient(base_url=base_url) as client:
        poll = asyncio.create_task(client.get(f"/bot{fake.token}/getUpdates", params={"timeout": 30}))
        await fake.wait_for(lambda: fake.calls_of("getUpdates"))
        started = time.monotonic()
        await fake.stop()
        response = await poll
    assert time.monotonic() - started < 1.5
    assert response.json() == {"ok": True, "result": []}


async def test_second_get_updates_terminates_the_first(fake: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for(lambda: fake.calls_of("getUpdates"))
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await first
    assert await second == []


async def test_fail_next_answers_like_telegram(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    fake.fail_next("sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ALICE.id, "first")
    assert caught.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in str(caught.value)
    assert (await bot.send_message(ALICE.id, "second")).text == "second"

    fake.fail_next("sendMessage", error_code=400, description="Bad Request: nope", chat_id=BOB.id, count=2)
    assert (await bot.send_message(ALICE.id, "other chat")).text == "other chat"
    fake.add_user(BOB)
    for _ in range(2):
        with pytest.raises(TelegramBadRequest, match="nope"):
            await bot.send_message(BOB.id, "x")
    assert (await bot.send_message(BOB.id, "x")).text == "x"
    assert [call.status for call in fake.calls_of("sendmessage")] == [429, 200, 200, 400, 400, 200]


async def test_blocked_user_is_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    fake.block(ALICE.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE.id, "are you there?")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(ALICE.id, "typing")
    fake.unblock(ALICE.id)
    assert await bot.send_chat_action(ALICE.id, "typing") is True
    assert (await bot.send_message(ALICE.id, "welcome back")).text == "welcome back"
    assert [message.text for message in fake.messages(ALICE.id)] == ["welcome back"]


async def test_html_is_validated_and_rendered(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br" at byte offset 5'):
        await bot.send_message(ALICE.id, "line1<br>line2")
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Can't find end tag"):
        await bot.send_message(ALICE.id, "<b>open")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "" at byte offset 2'):
        await bot.send_message(ALICE.id, "1 < 2")

    sent = await bot.send_message(ALICE.id, "  &lt;b&gt; is <i>escaped</i> &amp; fine  \n")
    message = fake.last_message(ALICE.id)
    assert message.text == sent.text == "<b> is escaped & fine"
    assert message.html == "  &lt;b&gt; is <i>escaped</i> &amp; fine  \n"
    assert message.entities == [{"type": "italic", "offset": 7, "length": 7}]

    plain = await bot.send_message(ALICE.id, "1 < 2 <b>", parse_mode=None)
    assert plain.text == "1 < 2 <b>"
    assert fake.last_message(ALICE.id).parse_mode is None


async def test_text_length_limits(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ALICE.id, "<b> </b>")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ALICE.id, "x" * 4097)
    long_but_fine = "<b>" + "x" * 4096 + "</b>"
    assert len((await bot.send_message(ALICE.id, long_but_fine)).text or "") == 4096


@pytest.mark.parametrize(
    ("html", "text", "entities"),
    [
        ("<b>bold</b> <strong>s</strong>", "bold s", [("bold", 0, 4), ("bold", 5, 1)]),
        ('<a href="https://t.me/x?a=1&amp;b=2">link</a>', "link", [("text_link", 0, 4)]),
        ("<a href=telegram.org>x</a><a>bad link</a>", "xbad link", [("text_link", 0, 1)]),
        (
            '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
            "xy",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ('<pre><code class="language-python">a = 1</code></pre>', "a = 1", [("pre", 0, 5)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ("&#128512; &#x41;&quot;&lt&gt; &nbsp; a & b", '😀 A"<> &nbsp; a & b', []),
        ("😀<u>x</u>", "😀x", [("underline", 2, 1)]),
        ("<b>a<i>b</i></>", "ab", [("bold", 0, 2), ("italic", 1, 1)]),
        ("<B>x</B>", "x", [("bold", 0, 1)]),
        ("&#xD83D;&#xDE00;", "😀", []),
        # from tdlib's own test suite
        ("🏟 🏟<i>🏟 &gt;<b aba   =   caba>&lt🏟</b></i>", "🏟 🏟🏟 ><🏟", [("italic", 5, 7), ("bold", 9, 3)]),
        ("🏟 🏟&lt;<i    aba  =  '&lt;&gt;&quot;'>a</>", "🏟 🏟<a", [("italic", 6, 1)]),
        ("&lt;&gt;&amp;&quot;&laquo;&raquo;&#12345678;", '<>&"&laquo;&raquo;&#12345678;', []),
        ("<a>telegram.org </a>", "telegram.org ", []),
        ('<code class="language-fift"><pre>x</></>', "x", [("pre", 0, 1)]),
    ],
)
def test_parse_html_like_telegram(html: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed_text, parsed_entities = parse_html(html)
    assert parsed_text == text
    assert [(e["type"], e["offset"], e["length"]) for e in parsed_entities] == entities


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("é<div>", 'Unsupported start tag "div" at byte offset 2'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<a href=https://x>y</a>", "Unexpected end of name token at byte offset 8"),
        ('<tg-emoji emoji-id="x">y</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("<b>x", "Can't find end tag corresponding to start tag b"),
        (
            "&#xDFDF;",
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units",
        ),
        # from tdlib's own test suite
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        (
            "🏟 🏟&lt;<i    aba>",
            'Expected equal sign in declaration of an attribute of the tag "i" at byte offset 13',
        ),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        ("🏟 🏟&lt;<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
    ],
)
def test_parse_html_errors(html: str, error: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(html)
    assert str(caught.value) == error


async def test_pre_with_language_reaches_aiogram(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    sent = await bot.send_message(ALICE.id, '<pre><code class="language-python">print(1)</code></pre>')
    assert sent.entities is not None
    assert (sent.entities[0].type, sent.entities[0].language) == ("pre", "python")


async def test_callback_data_is_limited_to_64_bytes(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE.id, "menu", reply_markup=keyboard(("too long", "x" * 65)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE.id, "menu", reply_markup=keyboard(("multibyte", "я" * 33)))
    sent = await bot.send_message(ALICE.id, "menu", reply_markup=keyboard(("just right", "x" * 64)))
    assert fake.last_message(ALICE.id).callback_data("just") == "x" * 64
    assert sent.reply_markup is not None


async def test_edits_and_deletes(fake: FakeTelegram, bot: Bot) -> None:
    user_message = fake.send_text(ALICE, "secret code 1234")
    sent = await bot.send_message(ALICE.id, "menu", reply_markup=keyboard(("A", "a")))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=ALICE.id, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    edited = await bot.edit_message_reply_markup(chat_id=ALICE.id, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.reply_markup is None
    assert edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=ALICE.id, message_id=user_message)

    assert await bot.delete_message(ALICE.id, user_message) is True
    assert fake.user_message_deleted(ALICE.id, user_message)
    assert await bot.delete_message(ALICE.id, sent.message_id) is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ALICE.id, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("again", chat_id=ALICE.id, message_id=sent.message_id)
    assert fake.messages(ALICE.id)[0].deleted
    with pytest.raises(AssertionError, match="no \\(undeleted\\) message"):
        fake.last_message(ALICE.id)
    with pytest.raises(AssertionError, match="deleted message"):
        fake.press(ALICE, sent.message_id, "a")


async def test_callback_query_can_be_answered_once(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    sent = await bot.send_message(ALICE.id, "menu", reply_markup=keyboard(("A", "a")))
    query_id = fake.press(ALICE, sent.message_id, "forged")
    updates = await bot.get_updates()
    query = updates[0].callback_query
    assert query is not None
    assert query.data == "forged"
    assert query.id == query_id
    assert isinstance(query.message, Message)
    assert query.message.text == "menu"
    assert fake.answered(query_id) is None
    assert await bot.answer_callback_query(query_id, text="ok", show_alert=True) is True
    assert fake.answered(query_id) == {"callback_query_id": query_id, "text": "ok", "show_alert": True}
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("123")


async def test_commands_per_language(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="start", description="Старт")], language_code="ru")
    assert fake.commands() == [{"command": "start", "description": "Start"}]
    assert fake.commands("ru") == [{"command": "start", "description": "Старт"}]
    assert fake.commands("ar") == []
    ru = await bot.get_my_commands(language_code="ru")
    assert [(c.command, c.description) for c in ru] == [("start", "Старт")]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])
    assert await bot.delete_my_commands(language_code="ru") is True
    assert fake.commands("ru") == []
    assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands()) is True
    assert fake.menu_button() == {"type": "commands"}


async def test_rate_limits(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    fake.enforce_rate_limits = True
    for n in range(3):
        await bot.send_message(ALICE.id, f"burst {n}")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ALICE.id, "one too many")
    assert caught.value.retry_after == 1
    fake.add_user(BOB)
    assert (await bot.send_message(BOB.id, "other chats are fine")).text


async def test_raw_protocol(fake: FakeTelegram) -> None:
    fake.add_user(ALICE)
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        response = await client.post("/bot000:wrong/getMe")
        assert (response.status_code, response.json()) == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )
        response = await client.post(f"/bot{fake.token}/sendTelepathy")
        assert (response.status_code, response.json()["description"]) == (404, "Not Found")

        markup = json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
        response = await client.post(
            f"/bot{fake.token}/sendMessage",
            data={"chat_id": str(ALICE.id), "text": "form", "reply_markup": markup},
        )
        assert response.status_code == 200
        assert response.json()["result"]["reply_markup"]
        response = await client.post(
            f"/bot{fake.token}/sendMessage",
            files={"chat_id": (None, str(ALICE.id)), "text": (None, "multipart")},
        )
        assert response.json()["result"]["text"] == "multipart"
        response = await client.post(
            f"/bot{fake.token}/sendmessage", json={"chat_id": ALICE.id, "text": "json"}
        )
        assert response.json()["result"]["text"] == "json"
        response = await client.get(
            f"/bot{fake.token}/sendMessage", params={"chat_id": ALICE.id, "text": "get"}
        )
        assert response.json()["result"]["text"] == "get"
        response = await client.post(
            f"/bot{fake.token}/sendMessage",
            json={"chat_id": ALICE.id, "text": "x", "reply_markup": {"inline_keyboard": [{"text": "flat"}]}},
        )
        assert response.status_code == 400
        assert "Array of Arrays" in response.json()["description"]

        fake.fail_next("getMe", retry_after=3)
        response = await client.get(f"/bot{fake.token}/getMe")
        assert (response.status_code, response.json()) == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        )
    assert [m.text for m in fake.messages(ALICE.id)] == ["form", "multipart", "json", "get"]
    form_call = fake.calls_of("sendMessage")[0]
    assert form_call.params["chat_id"] == ALICE.id
    assert form_call.params["reply_markup"] == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}


async def test_admin_endpoints(fake: FakeTelegram, bot: Bot) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        response = await client.get("/_admin/send", params={"user_id": 7, "text": "/start", "lang": "ar"})
        message_id = response.json()["result"]["message_id"]
        updates = await bot.get_updates()
        assert updates[0].message is not None
        assert updates[0].message.message_id == message_id
        assert updates[0].message.from_user is not None
        assert updates[0].message.from_user.language_code == "ar"

        await bot.send_message(7, "pick", reply_markup=keyboard(("Yes", "y")))
        listed = (await client.get("/_admin/messages", params={"chat_id": 7})).json()["result"]
        assert [(m["text"], m["reply_markup"]["inline_keyboard"][0][0]["text"]) for m in listed] == [
            ("pick", "Yes")
        ]

        pressed = await client.post(
            "/_admin/press", data={"user_id": "7", "message_id": str(listed[0]["message_id"]), "button": "Ye"}
        )
        query_id = pressed.json()["result"]["query_id"]
        updates = await bot.get_updates(offset=updates[-1].update_id + 1)
        assert updates[0].callback_query is not None
        assert (updates[0].callback_query.id, updates[0].callback_query.data) == (query_id, "y")

        missing = await client.get("/_admin/press", params={"user_id": 7, "message_id": 999, "data": "y"})
        assert missing.status_code == 400


async def test_wait_for_timeout_explains(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    await bot.send_message(ALICE.id, "something else")
    with pytest.raises(AssertionError) as caught:
        await fake.wait_message(ALICE.id, "never", timeout=0.1)
    report = str(caught.value)
    assert "sendMessage" in report
    assert "something else" in report


async def test_webhook_delivery(fake: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []
    statuses = [500]  # the first delivery fails and is retried

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        status = statuses.pop(0) if statuses else 200
        if status != 200:
            return web.Response(status=status)
        update = received[-1][0]
        chat_id = update["message"]["chat"]["id"]
        return web.json_response(
            {"method": "sendMessage", "chat_id": chat_id, "text": "answered in the reply"}
        )

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t") is True
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        fake.send_text(ALICE, "via webhook")
        reply = await fake.wait_message(ALICE.id, "answered in the reply")
        assert reply.text == "answered in the reply"
        assert len(received) == 2
        assert received[0] == received[1]
        assert received[1][0]["message"]["text"] == "via webhook"
        assert received[1][1] == "s3cr3t"
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        assert info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        assert await bot.delete_webhook() is True
        fake.send_text(ALICE, "via polling")
        updates = await bot.get_updates()
        assert updates[0].message is not None
        assert updates[0].message.text == "via polling"
    finally:
        await runner.cleanup()


async def test_dispatcher_commands_still_filter_by_bot_username(fake: FakeTelegram, bot: Bot) -> None:
    seen: list[str] = []
    dp = Dispatcher()

    @dp.message(Command("help"))
    async def help_command(message: Message) -> None:
        seen.append(message.text or "")
        await message.answer("help")

    async with polling(fake, dp, bot):
        fake.send_text(BOB, "/help@other_bot")
        fake.send_text(BOB, "/help@smspva_test_bot")
        await fake.wait_message(BOB.id, "help")
    assert seen == ["/help@smspva_test_bot"]


@pytest.mark.parametrize(
    ("html", "url"),
    [
        ("<a href=telegram.org> </a>", "http://telegram.org/"),
        ("<a   href=  'telegram.org?&lt;'   > </a>", "http://telegram.org/?<"),
        ("<a>https://telegram.org/asdsa?asdasdwe#12e3we</a>", "https://telegram.org/asdsa?asdasdwe#12e3we"),
    ],
)
def test_links_are_normalized_like_telegram(html: str, url: str) -> None:
    _, entities = parse_html(html)
    assert entities == [{"type": "text_link", "offset": 0, "length": entities[0]["length"], "url": url}]


async def test_aiogram_webhook_handler_and_its_multipart_reply(fake: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> SendMessage:
        # returned, not awaited: aiogram puts the call into the webhook response (multipart form)
        return message.answer(f"echo: <i>{message.text}</i>")

    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token="tok").register(app, path="/wh")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/wh", secret_token="tok")
        fake.send_text(BOB, "ping")
        reply = await fake.wait_message(BOB.id, "echo")
        assert reply.text == "echo: ping"
        assert reply.entities == [{"type": "italic", "offset": 6, "length": 4}]
        assert fake.calls_of("sendMessage")[0].params["chat_id"] == BOB.id
    finally:
        await runner.cleanup()


async def test_bad_gateway_is_a_proxy_html_page(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    fake.bad_gateway_next("sendMessage")
    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        response = await client.post(f"/bot{fake.token}/sendMessage", json={"chat_id": ALICE.id, "text": "x"})
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text == BAD_GATEWAY_PAGE == "<html><body><h1>502 Bad Gateway</h1></body></html>"
    assert fake.messages(ALICE.id) == []  # not applied: nothing was sent
    lost = fake.calls_of("sendMessage")[-1]
    assert (lost.status, lost.fault, lost.response) == (502, "bad_gateway", None)
    assert "502 bad_gateway" in lost.describe()

    # aiogram cannot decode the page: it raises ClientDecodeError, not a Telegram error
    fake.bad_gateway_next("sendMessage", applied=True, chat_id=ALICE.id)
    with pytest.raises(ClientDecodeError):
        await bot.send_message(ALICE.id, "sent, but the answer was lost")
    assert [m.text for m in fake.messages(ALICE.id)] == ["sent, but the answer was lost"]
    assert (await bot.send_message(ALICE.id, "fine again")).text == "fine again"

    sent = await bot.send_message(ALICE.id, "screen")
    fake.bad_gateway_for("editMessageText", 0.3)
    for attempt in range(2):
        with pytest.raises(ClientDecodeError):
            await bot.edit_message_text(f"edit {attempt}", chat_id=ALICE.id, message_id=sent.message_id)
    assert fake.last_message(ALICE.id).text == "screen"
    await asyncio.sleep(0.35)
    await bot.edit_message_text("edited", chat_id=ALICE.id, message_id=sent.message_id)
    assert fake.last_message(ALICE.id).text == "edited"


async def test_api_errors_for_a_time_window(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    fake.add_user(BOB)
    fake.fail_for("sendMessage", 0.3, error_code=502, chat_id=ALICE.id)
    for _ in range(3):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(ALICE.id, "x")
    assert (await bot.send_message(BOB.id, "other chats are fine")).text
    await asyncio.sleep(0.35)
    assert (await bot.send_message(ALICE.id, "after the window")).text == "after the window"
    with pytest.raises(ValueError, match="count"):
        fake.fail_next("sendMessage", count=0)
    with pytest.raises(ValueError, match="seconds"):
        fake.fail_for("sendMessage", 0)


async def test_the_edit_after_the_answer_fails(fake: FakeTelegram, bot: Bot) -> None:
    """The callback is answered, then the edit of the result screen fails: 429, 5xx or a dropped connection."""
    fake.add_user(ALICE)
    sent = await bot.send_message(ALICE.id, "screen", reply_markup=keyboard(("Go", "go")))
    query_id = fake.press_button(ALICE, fake.last_message(ALICE.id), "Go")
    assert await bot.answer_callback_query(query_id) is True

    fake.fail_next("editMessageText", retry_after=5)
    fake.fail_next("editMessageText", error_code=500, skip=1)
    fake.disconnect_next("editMessageText", skip=2)
    with pytest.raises(TelegramRetryAfter):
        await bot.edit_message_text("result 1", chat_id=ALICE.id, message_id=sent.message_id)
    with pytest.raises(TelegramServerError):
        await bot.edit_message_text("result 2", chat_id=ALICE.id, message_id=sent.message_id)
    with pytest.raises(TelegramNetworkError):
        await bot.edit_message_text("result 3", chat_id=ALICE.id, message_id=sent.message_id)
    assert fake.last_message(ALICE.id).text == "screen"
    assert [(c.status, c.fault) for c in fake.calls_of("editMessageText")] == [
        (429, None),
        (500, None),
        (0, "disconnect"),
    ]

    # applied: Telegram made the edit, the bot never heard back
    fake.disconnect_next("editMessageText", applied=True)
    with pytest.raises(TelegramNetworkError):
        await bot.edit_message_text("result 4", chat_id=ALICE.id, message_id=sent.message_id)
    assert fake.last_message(ALICE.id).text == "result 4"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("result 4", chat_id=ALICE.id, message_id=sent.message_id)

    fake.disconnect_for("sendMessage", 5.0)
    fake.clear_faults()
    assert (await bot.send_message(ALICE.id, "cleared")).text == "cleared"


async def test_blocking_flips_state_and_is_told_by_polling(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    assert (await bot.send_message(ALICE.id, "before")).text == "before"
    fake.block(ALICE.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE.id, "while blocked")
    fake.unblock(ALICE.id)
    assert (await bot.send_message(ALICE.id, "after")).text == "after"

    updates = await bot.get_updates(allowed_updates=["my_chat_member"])
    changes = [update.my_chat_member for update in updates]
    assert all(isinstance(change, ChatMemberUpdated) for change in changes)
    statuses = [
        (change.old_chat_member.status, change.new_chat_member.status) for change in changes if change
    ]
    assert statuses == [("member", "kicked"), ("kicked", "member")]
    assert all(change.chat.id == ALICE.id for change in changes if change)
    assert [m.text for m in fake.messages(ALICE.id)] == ["before", "after"]


async def test_blocking_is_told_by_webhook(fake: FakeTelegram, bot: Bot) -> None:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        fake.add_user(BOB)
        fake.block(BOB.id)
        fake.unblock(BOB.id)
        await fake.wait_for(lambda: len(received) == 2)
    finally:
        await runner.cleanup()
    statuses = [update["my_chat_member"]["new_chat_member"]["status"] for update in received]
    assert statuses == ["kicked", "member"]
    assert received[0]["my_chat_member"]["new_chat_member"]["until_date"] == 0


async def test_descriptions_per_language(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_my_description("Rent numbers") is True
    assert await bot.set_my_description("Аренда номеров", language_code="ru") is True
    assert await bot.set_my_short_description("Numbers", language_code="en") is True
    assert fake.description() == "Rent numbers"
    assert fake.description("ru") == "Аренда номеров"
    assert fake.description("ar") == ""  # nothing dedicated: no fallback in the recorded value
    assert fake.short_description("en") == "Numbers"
    assert fake.bot_text("short_description") == ""
    assert (await bot.get_my_description(language_code="ar")).description == "Rent numbers"
    assert (await bot.get_my_description(language_code="ru")).description == "Аренда номеров"
    assert (await bot.get_my_short_description(language_code="en")).short_description == "Numbers"

    assert await bot.set_my_description("", language_code="ru") is True  # removes the dedicated one
    assert fake.description("ru") == ""
    assert (await bot.get_my_description(language_code="ru")).description == "Rent numbers"
    with pytest.raises(TelegramBadRequest, match="description is too long"):
        await bot.set_my_description("x" * 513, language_code="ar")
    with pytest.raises(TelegramBadRequest, match="short description is too long"):
        await bot.set_my_short_description("x" * 121)
    with pytest.raises(TelegramBadRequest, match="LANG_CODE_INVALID"):
        await bot.set_my_description("x", language_code="english")
    assert [c.params.get("language_code") for c in fake.calls_of("setMyDescription")][:2] == [None, "ru"]


async def test_copy_text_buttons(fake: FakeTelegram, bot: Bot) -> None:
    fake.add_user(ALICE)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="📋 Copy number", copy_text=CopyTextButton(text="+79001234567"))],
            [InlineKeyboardButton(text="Back", callback_data="back")],
        ]
    )
    sent = await bot.send_message(ALICE.id, "Your number", reply_markup=markup)
    assert sent.reply_markup is not None
    copied = sent.reply_markup.inline_keyboard[0][0].copy_text
    assert copied is not None
    assert copied.text == "+79001234567"
    message = fake.last_message(ALICE.id)
    assert message.copy_text("Copy") == "+79001234567"
    with pytest.raises(AssertionError, match="no callback_data"):
        message.callback_data("Copy")
    with pytest.raises(AssertionError, match="no copy_text button"):
        message.copy_text("Back")

    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        for button, error in [
            ({"text": "c", "copy_text": "+7900"}, 'Field "copy_text" must be of type Object'),
            ({"text": "c", "copy_text": {}}, 'Field "text" must be of type String'),
            ({"text": "c", "copy_text": {"text": ""}}, "BUTTON_COPY_TEXT_INVALID"),
            ({"text": "c", "copy_text": {"text": "x" * 257}}, "BUTTON_COPY_TEXT_INVALID"),
        ]:
            response = await client.post(
                f"/bot{fake.token}/sendMessage",
                json={"chat_id": ALICE.id, "text": "x", "reply_markup": {"inline_keyboard": [[button]]}},
            )
            assert response.status_code == 400
            assert error in response.json()["description"]


async def test_transcript_shows_the_chat_as_it_stands(fake: FakeTelegram, bot: Bot) -> None:
    start = fake.send_text(ALICE, "/start")
    secret = fake.send_text(ALICE, "my key 12345")
    menu = await bot.send_message(
        ALICE.id, "<b>Menu</b> &amp; more", reply_markup=keyboard(("Rent", "r1"), ("Help", "h1"))
    )
    gone = await bot.send_message(ALICE.id, "temporary")
    plain = await bot.send_message(ALICE.id, "1 < 2", parse_mode=None)
    await bot.edit_message_text(
        "<i>Rent</i> a number",
        chat_id=ALICE.id,
        message_id=menu.message_id,
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Copy", copy_text=CopyTextButton(text="+7900")),
                    InlineKeyboardButton(text="Site", url="https://example.org/"),
                ],
                [InlineKeyboardButton(text="Back", callback_data="b1")],
            ]
        ),
    )
    await bot.delete_message(ALICE.id, gone.message_id)
    await bot.delete_message(ALICE.id, secret)
    fake.send_text(BOB, "hello")

    chat = fake.transcript(ALICE.id)
    assert [(m.message_id, m.sender) for m in chat] == [
        (start, "user"),
        (menu.message_id, "bot"),
        (plain.message_id, "bot"),
    ]
    user, screen, note = chat
    assert (user.text, user.html, user.edited) == ("/start", "/start", False)
    assert user.entities == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert (screen.text, screen.html, screen.edited) == ("Rent a number", "<i>Rent</i> a number", True)
    assert screen.button_texts() == [["Copy", "Site"], ["Back"]]
    assert screen.keyboard[0] == [
        TranscriptButton(text="Copy", action="copy_text", value="+7900"),
        TranscriptButton(text="Site", action="url", value="https://example.org/"),
    ]
    assert screen.keyboard[1] == [TranscriptButton(text="Back", action="callback_data", value="b1")]
    assert (note.text, note.html, note.keyboard) == ("1 < 2", "1 &lt; 2", [])

    everything = fake.transcripts()
    assert sorted(everything) == [ALICE.id, BOB.id]
    assert [m.text for m in everything[BOB.id]] == ["hello"]
    assert json.loads(json.dumps(screen.as_dict()))["keyboard"][1][0]["value"] == "b1"

    async with httpx.AsyncClient(base_url=fake.base_url) as client:
        shown = (await client.get("/_admin/transcript", params={"chat_id": ALICE.id})).json()["result"]
    assert [m["text"] for m in shown] == ["/start", "Rent a number", "1 < 2"]
