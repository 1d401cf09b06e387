"""A fake Telegram Bot API server that the real aiogram ``Bot`` talks HTTP to.

The fake answers like api.telegram.org: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "...", "parameters": {...}}`` with the matching HTTP status, so aiogram raises the same
exceptions it would raise in production (``TelegramBadRequest``, ``TelegramRetryAfter``, ...).

Typical use in a test::

    fake = FakeTelegram()
    base_url = await fake.start()
    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)),
              default=DefaultBotProperties(parse_mode="HTML"))
    ...  # dp.start_polling(bot, handle_signals=False) in a task
    user = FakeUser(id=1001, language_code="ru")
    fake.send_text(user, "/start")
    menu = await fake.wait_message(user.id, "Welcome")
    fake.press_button(user, menu, "Rent")
    ...
    await fake.stop()

Behaviour worth knowing (all of it Telegram's):

* A chat exists once its user has written to the bot (``send_text``/``press``) or was added with
  ``add_user``; sending to any other chat id answers 400 "Bad Request: chat not found".
* Message ids come from one counter shared by the user's and the bot's messages, as in private chats.
* Message text is trimmed; with ``parse_mode=HTML`` it is parsed like Telegram's own parser (a port of tdlib's
  ``parse_html``): only Telegram's tags; ``&lt; &gt; &amp; &quot;`` and numeric references are decoded, and an
  ``&`` that starts no such reference stays a literal ``&``.
* ``editMessageText`` without ``reply_markup`` removes the message's inline keyboard.
* Blocking or unblocking emits a ``my_chat_member`` update; update types the bot did not ask for in
  ``allowed_updates`` are dropped.
* A newer getUpdates ends a pending one with 409 "Conflict: terminated by other getUpdates request; ...".
* A webhook reply that carries a ``method`` (JSON, or multipart as aiogram sends it) is executed.

Deviations: webhooks may be plain ``http://``; Markdown parse modes are accepted but not parsed (text kept as
sent); URLs, mentions and hashtags are not auto-detected as entities (only a leading /command in user text);
only private chats exist; there are no media methods (they answer 404 like unknown methods).

Layout (one concern per module; ``FakeTelegram`` is assembled from mixins over one shared state):
``records`` (users, calls, messages), ``errors`` (Telegram's error answers), ``parsing`` (the HTML parser),
``markup`` (reply_markup validation), ``protocol`` (request decoding), ``state`` (the shared state),
``faults`` (injected failures, blocking, flood limits), ``messages`` and ``settings`` (Bot API methods),
``updates`` (the users' side and long polling), ``webhook`` (webhook delivery), ``inspection`` (what tests
read and wait for), ``admin`` (the ``/_admin`` endpoints), ``server`` (``FakeTelegram``: lifecycle and
dispatch), ``cli`` and ``__main__`` (standalone).

Run it by hand: ``python -m tests.fakes.telegram --port 8081`` and chat with curl through ``/_admin/send``,
``/_admin/press`` and ``/_admin/messages``.
"""

from tests.fakes.telegram.cli import main
from tests.fakes.telegram.errors import ApiError
from tests.fakes.telegram.parsing import HtmlParseError, parse_html
from tests.fakes.telegram.records import ApiCall, BotMessage, FakeUser
from tests.fakes.telegram.server import FakeTelegram

__all__ = [
    "ApiCall",
    "ApiError",
    "BotMessage",
    "FakeTelegram",
    "FakeUser",
    "HtmlParseError",
    "main",
    "parse_html",
]
