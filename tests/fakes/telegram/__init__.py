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

Controls for tests (every ``method`` is a Bot API method name, case-insensitive; ``chat_id`` narrows a fault
to one chat; ``skip=K`` lets K matching calls through first, e.g. to fail the edit of a result screen that
follows an answered callback; ``applied=True`` makes the call take effect at Telegram before its answer is
lost, so the bot cannot know whether it went through):

* ``fail_next(method, *, error_code=429, description=None, retry_after=None, count=1, chat_id=None, skip=0)``
  and ``fail_for(method, seconds, *, error_code=429, ...)``: Telegram's JSON error (429 with retry_after,
  5xx, 400, ...) for the next ``count`` calls or for a time window; the call has no effect.
* ``bad_gateway_next(method, *, count=1, chat_id=None, skip=0, applied=False)`` and
  ``bad_gateway_for(method, seconds, *, chat_id=None, applied=False)``: a proxy's HTML page instead of
  JSON (status 502, ``text/html``, ``BAD_GATEWAY_PAGE``); aiogram raises ``ClientDecodeError``.
* ``disconnect_next(method, *, count=1, chat_id=None, skip=0, applied=False)`` and
  ``disconnect_for(method, seconds, *, chat_id=None, applied=False)``: the connection is closed without
  an answer; aiogram raises ``TelegramNetworkError``. ``clear_faults()`` forgets pending ones.
  ``ApiCall.fault`` says which of the two ate an answer (``status`` 502 or 0).
* ``block(user_id)`` / ``unblock(user_id)``: the user blocks (unblocks) the bot; a ``my_chat_member``
  update (``member`` -> ``kicked``, ``kicked`` -> ``member``) goes out by long polling or webhook, and
  sending to the chat answers 403 "Forbidden: bot was blocked by the user" while blocked.
* ``enforce_rate_limits = True``: 429 on Telegram's flood limits (1 message/s per chat, burst 3; 30/s).
* ``description(language_code=None)``, ``short_description(language_code=None)``,
  ``bot_text(field, language_code=None)``: what setMyDescription / setMyShortDescription / setMyName stored
  for exactly that language (getMy* fall back to the default language, as Telegram does); ``commands()``,
  ``menu_button()`` likewise. Inline buttons are validated, ``copy_text`` (``CopyTextButton``) included;
  ``BotMessage.copy_text(label)`` reads one.
* ``transcript(chat_id) -> list[TranscriptMessage]`` and ``transcripts() -> dict[int, list[...]]``: each
  chat as its user sees it now: both sides' undeleted messages in order, edits applied, with ``text``,
  renderable ``html``, ``entities`` and the inline keyboard as rows of ``TranscriptButton(text, action,
  value)`` (also ``GET /_admin/transcript?chat_id=...``).

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
``/_admin/press``, ``/_admin/messages`` and ``/_admin/transcript``.
"""

from tests.fakes.telegram.cli import main
from tests.fakes.telegram.errors import BAD_GATEWAY_PAGE, ApiError
from tests.fakes.telegram.parsing import HtmlParseError, parse_html
from tests.fakes.telegram.records import ApiCall, BotMessage, FakeUser
from tests.fakes.telegram.server import FakeTelegram
from tests.fakes.telegram.transcript import TranscriptButton, TranscriptMessage

__all__ = [
    "BAD_GATEWAY_PAGE",
    "ApiCall",
    "ApiError",
    "BotMessage",
    "FakeTelegram",
    "FakeUser",
    "HtmlParseError",
    "TranscriptButton",
    "TranscriptMessage",
    "main",
    "parse_html",
]
