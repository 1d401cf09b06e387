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

Run it by hand: ``python -m tests.fakes.telegram --port 8081`` and chat with curl through ``/_admin/send``,
``/_admin/press`` and ``/_admin/messages``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import math
import re
import signal
import string
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, MultipartReader, web

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

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:TEST-token"
MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_INLINE_BUTTONS = 100
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
TERMINATED_BY_GET_UPDATES = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
TERMINATED_BY_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
BLOCKED = "Forbidden: bot was blocked by the user"

# Update types Telegram sends when allowed_updates is empty or was never given.
_NOT_SENT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# How form fields are decoded into ApiCall.params (JSON bodies may carry them either way too).
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "max_connections",
        "until_date",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "allow_sending_without_reply",
        "disable_notification",
        "disable_web_page_preview",
        "drop_pending_updates",
        "for_channels",
        "protect_content",
        "show_alert",
        "allow_paid_broadcast",
    }
)
_JSON_PARAMS = frozenset(
    {
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "link_preview_options",
        "media",
        "menu_button",
        "message_ids",
        "reply_markup",
        "reply_parameters",
        "results",
        "rights",
        "scope",
    }
)
_INT_RE = re.compile(r"-?\d+")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BOT_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_TRIMMED = " \t\r\n\v\f"
_FAILURE_PREFIXES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


# --------------------------------------------------------------------------------------------- data classes


@dataclass
class FakeUser:
    """A Telegram user who chats with the bot; the private chat id equals the user id."""

    id: int
    first_name: str = "Test"
    language_code: str | None = "en"
    username: str | None = None

    def as_user(self) -> dict[str, Any]:
        """The ``User`` object Telegram sends for this person."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def as_chat(self) -> dict[str, Any]:
        """The private ``Chat`` object of this person's chat with the bot."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class ApiCall:
    """One request the bot made; ``at`` is ``time.monotonic()`` when it arrived."""

    method: str
    token: str
    params: dict[str, Any]
    at: float
    status: int = 0
    response: dict[str, Any] | None = None

    def describe(self) -> str:
        shown = []
        for key, value in self.params.items():
            text = json.dumps(value, ensure_ascii=False, default=str)
            shown.append(f"{key}={text[:120]}..." if len(text) > 120 else f"{key}={text}")
        params = " ".join(shown)
        if self.response is None:
            outcome = "(pending)"
        elif self.response.get("ok"):
            outcome = f"{self.status} ok"
        else:
            outcome = f"{self.status} {self.response.get('description')}"
        return f"{self.method} {params} -> {outcome}"


@dataclass
class BotMessage:
    """A message the bot sent, in its current state (edits applied, deletion flagged)."""

    message_id: int
    chat_id: int
    text: str  # what the user sees: tags stripped, HTML entities decoded, trimmed
    html: str  # the text exactly as the bot sent it
    reply_markup: dict[str, Any] | None
    deleted: bool = False
    edits: int = 0
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    date: int = 0
    edit_date: int | None = None

    def buttons(self) -> list[list[dict[str, Any]]]:
        """Rows of the inline keyboard (empty if the message has none)."""
        rows = (self.reply_markup or {}).get("inline_keyboard")
        if not isinstance(rows, list):
            return []
        return [list(row) for row in rows]

    def button(self, label_contains: str) -> dict[str, Any]:
        """The first inline button whose label contains ``label_contains``."""
        for row in self.buttons():
            for button in row:
                if label_contains in str(button.get("text", "")):
                    return button
        labels = [str(button.get("text")) for row in self.buttons() for button in row]
        raise AssertionError(
            f"no button containing {label_contains!r} in message {self.message_id} "
            f"({self.text[:80]!r}); buttons: {labels}"
        )

    def callback_data(self, label_contains: str) -> str:
        button = self.button(label_contains)
        data = button.get("callback_data")
        if not isinstance(data, str):
            raise AssertionError(f"button {button.get('text')!r} has no callback_data: {button}")
        return data

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


# ------------------------------------------------------------------------------------ Telegram's HTML parser


class HtmlParseError(ValueError):
    """Why Telegram refuses the HTML; the API reports it as "Bad Request: can't parse entities: <reason>"."""


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_SPACES = frozenset(" \t\r\n\v\0")
_URL_RE = re.compile(r"(?:([A-Za-z][A-Za-z0-9+.-]*)://)?(\S+)")
_HOST_RE = re.compile(
    r"(?:[^\s/?#@:]+@)?([A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]*(?::\d{1,5})?|localhost(?::\d{1,5})?"
)
_LINK_SCHEMES = frozenset({"http", "https", "tg", "ton", "tonsite"})
_TEXT_MENTION_RE = re.compile(r"tg:(?://)?user\?id=(\d+)", re.IGNORECASE)
BAD_SURROGATES = "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Port of tdlib's ``decode_html_entity``: the character and the position after the reference."""
    size = len(text)
    end = pos + 1
    if end < size and text[end] == "#":
        end += 1
        code = 0
        if end < size and text[end] == "x":
            end += 1
            while end < size and text[end] in string.hexdigits:
                code = code * 16 + int(text[end], 16)
                end += 1
                if code >= 0x10FFFF:
                    return None
        else:
            while end < size and text[end] in string.digits:
                code = code * 10 + int(text[end])
                end += 1
                if code >= 0x10FFFF:
                    return None
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while end < size and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < size and text[end] == ";":
        end += 1
    return char, end


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the visible text
    begin: int  # index in the visible text


def _check_link(url: str) -> str | None:
    """The normalized link Telegram keeps for a text_link or URL button, None if it refuses it."""
    match = _URL_RE.fullmatch(url)
    if match is None:
        return None
    scheme = (match.group(1) or "http").lower()
    rest = match.group(2)
    if scheme not in _LINK_SCHEMES:
        return None
    if scheme not in ("http", "https"):
        return f"{scheme}://{rest}"
    host_end = min((rest.index(c) for c in "/?#" if c in rest), default=len(rest))
    host, path = rest[:host_end], rest[host_end:]
    if not _HOST_RE.fullmatch(host):
        return None
    if not path.startswith("/"):
        path = "/" + path
    return f"{scheme}://{host}{path}"


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML like Telegram does (a port of tdlib's ``parse_html``).

    Returns the visible text and its entities (UTF-16 offsets, as in the Bot API), untrimmed.
    Raises HtmlParseError with Telegram's wording, byte offsets in UTF-8 as Telegram counts them.
    """
    size = len(text)

    def at(index: int) -> str:
        return text[index] if index < size else "\0"

    def byte_offset(index: int) -> int:
        return len(text[:index].encode("utf-8", "surrogatepass"))

    result: list[str] = []
    result_len = 0
    utf16_offset = 0
    entities: list[dict[str, Any]] = []
    nested: list[_OpenTag] = []

    def emit(chunk: str) -> None:
        nonlocal result_len, utf16_offset
        result.append(chunk)
        result_len += len(chunk)
        utf16_offset += _utf16_len(chunk)

    i = 0
    while i < size:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                emit(decoded[0])
                i = decoded[1]
                continue
        if char != "<":
            emit(char)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            # a start tag
            while at(i) not in _HTML_SPACES and at(i) != ">":
                i += 1
            if i >= size:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
            argument = ""
            while at(i) != ">":
                while i < size and at(i) in _HTML_SPACES:
                    i += 1
                if at(i) == ">":
                    break
                attribute_begin = i
                while at(i) not in _HTML_SPACES and at(i) not in "=>":
                    i += 1
                attribute = text[attribute_begin:i]
                if not attribute:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                while i < size and at(i) in _HTML_SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attribute == "expandable":
                        argument = "1"
                        continue
                    raise HtmlParseError(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                        f"at byte offset {byte_offset(begin)}"
                    )
                i += 1
                while i < size and at(i) in _HTML_SPACES:
                    i += 1
                if i >= size:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                value_chars: list[str] = []
                if at(i) not in "'\"":
                    # a name token: letters, digits, periods and hyphens, case-insensitive
                    token_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _HTML_SPACES and at(i) != ">":
                        raise HtmlParseError(
                            f"Unexpected end of name token at byte offset {byte_offset(token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    while i < size and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_html_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(value_chars)
                if i >= size:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attribute == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            nested.append(_OpenTag(tag, argument, utf16_offset, result_len))
            i += 1  # the '>'
            continue

        # an end tag
        if not nested:
            raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 1
        while at(i) not in _HTML_SPACES and at(i) != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while i < size and at(i) in _HTML_SPACES:
            i += 1
        if at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        opened = nested[-1]
        if end_tag and end_tag != opened.name:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{opened.name}>", '
                f'found "</{end_tag}>"'
            )
        if utf16_offset > opened.offset:
            entity = _html_entity(opened, entities, utf16_offset, "".join(result))
            if entity is not None:
                entities.append(entity)
        nested.pop()

    if nested:
        raise HtmlParseError(f"Can't find end tag corresponding to start tag {nested[-1].name}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    visible = "".join(result)
    try:  # entities may encode the halves of a surrogate pair separately
        visible = visible.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        raise HtmlParseError(BAD_SURROGATES) from None
    return visible, entities


def _html_entity(
    opened: _OpenTag,
    entities: list[dict[str, Any]],
    utf16_offset: int,
    visible: str,
) -> dict[str, Any] | None:
    offset = opened.offset
    length = utf16_offset - offset
    tag = opened.name
    if tag in _SIMPLE_TAG_ENTITIES:
        return {"type": _SIMPLE_TAG_ENTITIES[tag], "offset": offset, "length": length}
    if tag == "a":
        url = opened.argument or visible[opened.begin :]
        mention = _TEXT_MENTION_RE.fullmatch(url)
        if mention is not None:
            user = {"id": int(mention.group(1)), "is_bot": False, "first_name": visible[opened.begin :]}
            return {"type": "text_mention", "offset": offset, "length": length, "user": user}
        checked = _check_link(url)
        if checked is None:
            return None  # Telegram silently drops links it can't use
        return {"type": "text_link", "offset": offset, "length": length, "url": checked}
    # <pre><code class="language-x"> (or the other way round) makes one pre entity with a language
    same_range = bool(entities) and entities[-1]["offset"] == offset and entities[-1]["length"] == length
    if tag == "code":
        if same_range and entities[-1]["type"] == "pre":
            if opened.argument:
                entities[-1]["language"] = opened.argument
            return None
        return {"type": "code", "offset": offset, "length": length, "_language": opened.argument}
    if tag == "pre":
        pre: dict[str, Any] = {"type": "pre", "offset": offset, "length": length}
        if same_range and entities[-1]["type"] == "code":
            code = entities.pop()
            if code.get("_language"):
                pre["language"] = code["_language"]
        return pre
    if tag == "blockquote":
        kind = "expandable_blockquote" if opened.argument else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if tag == "tg-emoji":
        if not opened.argument.isdigit() or int(opened.argument) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        return {
            "type": "custom_emoji",
            "offset": offset,
            "length": length,
            "custom_emoji_id": opened.argument,
        }
    raise AssertionError(f"unhandled tag {tag}")  # pragma: no cover - _HTML_TAGS and this function agree


def _clean_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if not k.startswith("_")} for e in entities]


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading and trailing whitespace; entities move and shrink with the text."""
    left = len(text) - len(text.lstrip(_TRIMMED))
    trimmed = text.strip(_TRIMMED)
    if len(trimmed) == len(text):
        return text, entities
    shift = _utf16_len(text[:left])
    total = _utf16_len(trimmed)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return trimmed, kept


# ---------------------------------------------------------------------------------------- request decoding


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and the body (JSON, urlencoded or multipart), as Telegram reads them."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text())
        except ValueError as exc:
            raise _bad_request("can't parse JSON object") from exc
        if isinstance(body, dict):
            params.update(body)
        return params
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = f"<file {value.filename}: {len(value.file.read())} bytes>"
            else:
                params[key] = value
    return params


def _decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-encoded objects parsed, integer and boolean fields converted, as the Bot API does."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _JSON_PARAMS and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)  # left as the raw string if broken: the method reports it
        elif key in _INT_PARAMS and isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            value = int(value)
        elif key in _BOOL_PARAMS and isinstance(value, str):
            value = value.strip().lower() in ("true", "1")
        params[key] = value
    return params


# ------------------------------------------------------------------------------------------ internal state


@dataclass
class _UserMessage:
    payload: dict[str, Any]
    deleted: bool = False


@dataclass
class _Query:
    chat_id: int
    message_id: int
    data: str
    answer: dict[str, Any] | None = None


@dataclass
class _FailRule:
    method: str
    error: ApiError
    remaining: int
    chat_id: int | None


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Formatted:
    html: str
    text: str
    entities: list[dict[str, Any]]
    parse_mode: str | None


@dataclass
class _Described:
    """A successful result that Telegram answers with a description as well (setWebhook, deleteWebhook)."""

    result: Any
    description: str


@dataclass
class _Bucket:
    tokens: float
    updated: float


_Handler = Callable[[dict[str, Any]], Awaitable[Any]]


# ----------------------------------------------------------------------------------------------- the server


class FakeTelegram:
    """An in-process Bot API server for one bot, with helpers to play the users' side."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int = 123456,
        bot_username: str = "smspva_test_bot",
        bot_name: str = "SMSPVA Test Bot",
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.base_url = ""
        self.calls: list[ApiCall] = []
        self.enforce_rate_limits = False
        self.chat_rate_per_second = 1.0
        self.chat_burst = 3
        self.global_rate_per_second = 30.0
        self.webhook_retry_delay = 0.05  # first retry after a failed webhook delivery; doubles up to the max
        self.webhook_retry_max_delay = 1.0

        self._users: dict[int, FakeUser] = {}
        self._blocked: set[int] = set()
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(500_000_001)
        self._query_ids = itertools.count(4_382_000_000_000_000_001)
        self._touches = itertools.count(1)
        self._chat_messages: dict[int, list[BotMessage]] = {}
        self._bot_messages: dict[tuple[int, int], BotMessage] = {}
        self._touched: dict[tuple[int, int], int] = {}
        self._user_messages: dict[tuple[int, int], _UserMessage] = {}
        self._queries: dict[str, _Query] = {}
        self._updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] | None = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._fail_rules: list[_FailRule] = []
        self._chat_buckets: dict[int, _Bucket] = {}
        self._global_bucket = _Bucket(tokens=0.0, updated=0.0)
        self._webhook: _Webhook | None = None

        self._changed = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._stopping = False
        self._poll_generation = 0
        self._poll_terminated_by = TERMINATED_BY_GET_UPDATES
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None

        self._methods: dict[str, _Handler] = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "sendchataction": self._send_chat_action,
            "setmydescription": self._bot_text_setter("description"),
            "getmydescription": self._bot_text_getter("description"),
            "setmyshortdescription": self._bot_text_setter("short_description"),
            "getmyshortdescription": self._bot_text_getter("short_description"),
            "setmyname": self._bot_text_setter("name"),
            "getmyname": self._bot_text_getter("name"),
        }

    # ------------------------------------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (port 0: any free one) and return the base URL for TelegramAPIServer."""
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the fake Telegram only binds a loopback address, not {host!r}")
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/_admin/{action}", self._handle_admin)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.base_url = f"http://{shown_host}:{bound_port}"
        self._webhook_task = asyncio.create_task(self._deliver_webhooks(), name="fake-telegram-webhook")
        return self.base_url

    async def stop(self) -> None:
        """Stop serving; pending getUpdates long polls answer [] at once."""
        self._stopping = True
        self._stop_event.set()
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await asyncio.sleep(0)  # let woken long polls write their answers
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --------------------------------------------------------------------------------------------- inspect

    def calls_of(self, method: str) -> list[ApiCall]:
        """Calls of one Bot API method (method names are case-insensitive, as in Telegram)."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def messages(self, chat_id: int) -> list[BotMessage]:
        """Every message the bot sent to the chat, in send order, deleted ones included (flagged)."""
        return list(self._chat_messages.get(chat_id, []))

    def last_message(self, chat_id: int) -> BotMessage:
        """The bot's last message in the chat that is not deleted."""
        for message in reversed(self._chat_messages.get(chat_id, [])):
            if not message.deleted:
                return message
        raise AssertionError(f"the bot has no (undeleted) message in chat {chat_id}\n{self._dump(chat_id)}")

    def user_message_deleted(self, chat_id: int, message_id: int) -> bool:
        """Whether the bot deleted this message that the user sent."""
        record = self._user_messages.get((chat_id, message_id))
        if record is None:
            raise AssertionError(f"user message {message_id} in chat {chat_id} was never sent")
        return record.deleted

    def answered(self, query_id: str) -> dict[str, Any] | None:
        """The answerCallbackQuery parameters of that callback query, None while unanswered."""
        query = self._queries.get(query_id)
        if query is None:
            raise AssertionError(f"callback query {query_id!r} was never sent")
        return query.answer

    def commands(
        self, language_code: str | None = None, *, scope: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The command list stored for that (scope, language_code); default scope unless given."""
        return list(self._commands.get((self._scope_key(scope), language_code or ""), []))

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any] | None:
        """The menu button set for the chat (None: the default for all chats), if any was set."""
        return self._menu_buttons.get(chat_id)

    @property
    def webhook_url(self) -> str:
        return self._webhook.url if self._webhook else ""

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by getUpdates or delivered to the webhook."""
        return list(self._updates)

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,
        interval: float = 0.02,
    ) -> Any:
        """Poll ``predicate`` (sync or async) until it returns something truthy and return that value."""
        return await self._wait(predicate, timeout, interval, lambda: f"predicate {predicate!r}", None)

    async def wait_message(
        self,
        chat_id: int,
        contains: str | None = None,
        *,
        after: int = 0,
        timeout: float = 5.0,
    ) -> BotMessage:
        """Wait for an undeleted bot message in the chat whose visible text contains ``contains``.

        Only messages with ``message_id > after`` count; when several match, the one sent or edited last
        is returned.
        """

        def find() -> BotMessage | None:
            best: BotMessage | None = None
            best_touch = -1
            for message in self._chat_messages.get(chat_id, []):
                if message.deleted or message.message_id <= after:
                    continue
                if contains is not None and contains not in message.text:
                    continue
                touch = self._touched.get((chat_id, message.message_id), 0)
                if touch > best_touch:
                    best, best_touch = message, touch
            return best

        def what() -> str:
            return f"a bot message in chat {chat_id} containing {contains!r} with message_id > {after}"

        found: BotMessage = await self._wait(find, timeout, 0.01, what, chat_id)
        return found

    async def _wait(
        self,
        predicate: Callable[[], Any],
        seconds: float,
        interval: float,
        what: Callable[[], str],
        chat_id: int | None,
    ) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if loop.time() >= deadline:
                raise AssertionError(
                    f"timed out after {seconds}s waiting for {what()}\n{self._dump(chat_id)}"
                )
            await asyncio.sleep(interval)

    def _dump(self, chat_id: int | None = None) -> str:
        calls = [call for call in self.calls if call.method.lower() != "getupdates"][-5:]
        lines = ["last calls (getUpdates omitted):"]
        lines += [f"  {call.describe()}" for call in calls] or ["  (none)"]
        polls = self.calls_of("getUpdates")
        lines.append(f"getUpdates calls: {len(polls)}; pending updates: {len(self._updates)}")
        if chat_id is not None:
            lines.append(f"bot messages in chat {chat_id}:")
            for message in self._chat_messages.get(chat_id, []):
                flags = " [deleted]" if message.deleted else ""
                flags += f" [edits={message.edits}]" if message.edits else ""
                lines.append(f"  #{message.message_id}{flags}: {message.text[:200]!r}")
        return "\n".join(lines)

    # ------------------------------------------------------------------------------------- play the users

    def add_user(self, user: FakeUser) -> None:
        """Make the user's chat known (as if they had started the bot) without sending an update."""
        self._users[user.id] = user

    def send_text(self, user: FakeUser, text: str) -> int:
        """The user writes ``text`` in their private chat; returns the new message id."""
        if not text.strip():
            raise ValueError("Telegram clients don't send empty messages")
        self.add_user(user)
        message_id = next(self._message_ids)
        payload: dict[str, Any] = {
            "message_id": message_id,
            "from": user.as_user(),
            "chat": user.as_chat(),
            "date": int(time.time()),
            "text": text,
        }
        command = _BOT_COMMAND_RE.match(text)
        if command is not None:
            payload["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group())}
            ]
        self._user_messages[(user.id, message_id)] = _UserMessage(payload)
        self._enqueue({"message": payload})
        return message_id

    def press(self, user: FakeUser, message: BotMessage | int, data: str) -> str:
        """The user presses an inline button carrying ``data`` under one of the bot's messages.

        The data is not checked against the keyboard, so tests can forge callbacks.
        """
        self.add_user(user)
        message_id = message.message_id if isinstance(message, BotMessage) else int(message)
        stored = self._bot_messages.get((user.id, message_id))
        if stored is None or stored.deleted:
            state = "deleted" if stored is not None else "unknown"
            raise AssertionError(
                f"can't press a button on {state} message {message_id} in chat {user.id}\n{self._dump(user.id)}"
            )
        query_id = str(next(self._query_ids))
        self._queries[query_id] = _Query(chat_id=user.id, message_id=message_id, data=data)
        self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.as_user(),
                    "message": self._message_payload(stored),
                    "chat_instance": self._chat_instance(user.id),
                    "data": data,
                }
            }
        )
        return query_id

    def press_button(self, user: FakeUser, message: BotMessage, label_contains: str) -> str:
        """Press the first button of the message (its current state) whose label contains the text."""
        stored = self._bot_messages.get((message.chat_id, message.message_id), message)
        return self.press(user, stored, stored.callback_data(label_contains))

    # ------------------------------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (optionally only for ``chat_id``) fail like Telegram."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _FAILURE_PREFIXES.get(error_code, "Error")
        error = ApiError(error_code, description, retry_after=retry_after)
        self._fail_rules.append(_FailRule(method.lower(), error, count, chat_id))

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sending to their chat answers 403 from now on."""
        if user_id in self._blocked:
            return
        self._blocked.add(user_id)
        self._chat_member_update(user_id, old="member", new="kicked")

    def unblock(self, user_id: int) -> None:
        if user_id not in self._blocked:
            return
        self._blocked.discard(user_id)
        self._chat_member_update(user_id, old="kicked", new="member")

    def _chat_member_update(self, user_id: int, *, old: str, new: str) -> None:
        user = self._users.get(user_id)
        if user is None:
            return

        def member(status: str) -> dict[str, Any]:
            state: dict[str, Any] = {"status": status, "user": self._bot_user()}
            if status == "kicked":
                state["until_date"] = 0
            return state

        self._enqueue(
            {
                "my_chat_member": {
                    "chat": user.as_chat(),
                    "from": user.as_user(),
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    # ---------------------------------------------------------------------------------------- HTTP layer

    async def _handle_api(self, request: web.Request) -> web.Response:
        try:
            raw = await _read_params(request)
        except ApiError as exc:
            return web.json_response(exc.payload(), status=exc.error_code)
        status, body = await self._call(request.match_info["method"], request.match_info["token"], raw)
        return web.json_response(body, status=status)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _call(self, method: str, token: str, raw: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        params = _decode_params(raw)
        call = ApiCall(method=method, token=token, params=params, at=time.monotonic())
        self.calls.append(call)
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            self._injected_failure(method, params)
            result = await handler(params)
        except ApiError as exc:
            status, body = exc.error_code, exc.payload()
        else:
            status = 200
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            else:
                body = {"ok": True, "result": result}
        call.status = status
        call.response = body
        return status, body

    def _injected_failure(self, method: str, params: dict[str, Any]) -> None:
        for rule in self._fail_rules:
            if rule.method != method.lower():
                continue
            if rule.chat_id is not None and params.get("chat_id") != rule.chat_id:
                continue
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._fail_rules.remove(rule)
            raise rule.error

    # ------------------------------------------------------------------------------------------- updates

    def _enqueue(self, body: dict[str, Any]) -> None:
        self._updates.append({"update_id": next(self._update_ids), **body})
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _allowed(self) -> frozenset[str] | None:
        """Allowed update types; None means Telegram's default (all but a few)."""
        return frozenset(self._allowed_updates) if self._allowed_updates else None

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        """Drop updates the bot did not ask for and return the first ``limit`` of the rest."""
        allowed = self._allowed()
        kept: list[dict[str, Any]] = []
        for update in self._updates:
            kind = next(key for key in update if key != "update_id")
            if (kind in allowed) if allowed is not None else (kind not in _NOT_SENT_BY_DEFAULT):
                kept.append(update)
        self._updates = kept
        return kept[:limit]

    def _set_allowed_updates(self, value: Any) -> None:
        if value is None:
            return  # not given: keep the previous setting
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _bad_request("can't parse allowed updates JSON object")
        self._allowed_updates = list(value)

    async def _get_updates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = p.get("offset")
        limit = p.get("limit")
        timeout = p.get("timeout")
        limit = limit if isinstance(limit, int) and 1 <= limit <= 100 else 100
        timeout = max(timeout, 0) if isinstance(timeout, int) else 0
        self._set_allowed_updates(p.get("allowed_updates"))
        if isinstance(offset, int) and offset > 0:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        elif isinstance(offset, int) and offset < 0:
            self._updates = self._updates[offset:]

        # A newer getUpdates ends the older long poll with 409, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._poll_terminated_by = TERMINATED_BY_GET_UPDATES
        self._notify()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if self._stopping:
                return []
            if generation != self._poll_generation:
                raise ApiError(409, self._poll_terminated_by)
            if self._webhook is not None:
                raise ApiError(409, TERMINATED_BY_SET_WEBHOOK)
            batch = self._deliverable(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    # ------------------------------------------------------------------------------------------- webhook

    async def _set_webhook(self, p: dict[str, Any]) -> _Described:
        url = str(p.get("url") or "").strip()
        if not url:
            return await self._delete_webhook(p)
        if not re.fullmatch(r"https?://[^\s/]+(?:/\S*)?", url, flags=re.IGNORECASE):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and (not isinstance(secret, str) or not _SECRET_RE.fullmatch(secret)):
            raise _bad_request("secret token contains unallowed characters")
        max_connections = p.get("max_connections")
        if not isinstance(max_connections, int) or not 1 <= max_connections <= 100:
            max_connections = 40
        self._set_allowed_updates(p.get("allowed_updates"))
        if p.get("drop_pending_updates"):
            self._updates.clear()
        previous = self._webhook
        self._webhook = _Webhook(
            url=url,
            secret_token=secret or None,
            max_connections=max_connections,
            ip_address=str(p["ip_address"]) if p.get("ip_address") else None,
        )
        self._poll_generation += 1
        self._poll_terminated_by = TERMINATED_BY_SET_WEBHOOK
        self._notify()
        if previous is not None and previous.url == url:
            return _Described(True, "Webhook is already set")
        return _Described(True, "Webhook was set")

    async def _delete_webhook(self, p: dict[str, Any]) -> _Described:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if self._webhook is None:
            return _Described(True, "Webhook is already deleted")
        self._webhook = None
        self._notify()
        return _Described(True, "Webhook was deleted")

    async def _get_webhook_info(self, p: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook.max_connections
            if self._webhook.ip_address:
                info["ip_address"] = self._webhook.ip_address
            if self._webhook.last_error_date is not None:
                info["last_error_date"] = self._webhook.last_error_date
                info["last_error_message"] = self._webhook.last_error_message
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    async def _deliver_webhooks(self) -> None:
        """POST pending updates, in order, to the webhook; retry failures with a growing delay."""
        delay = self.webhook_retry_delay
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while not self._stopping:
                changed = self._changed
                webhook = self._webhook
                batch = self._deliverable(1) if webhook is not None else []
                if webhook is None or not batch:
                    await changed.wait()
                    continue
                update = batch[0]
                error = await self._post_update(session, webhook, update)
                if error is None:
                    delay = self.webhook_retry_delay
                    self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                    continue
                webhook.last_error_date = int(time.time())
                webhook.last_error_message = error
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_event.wait(), delay)
                delay = min(delay * 2, self.webhook_retry_max_delay)

    async def _post_update(
        self, session: ClientSession, webhook: _Webhook, update: dict[str, Any]
    ) -> str | None:
        """Deliver one update; None on success, else Telegram's last_error_message."""
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        try:
            async with session.post(webhook.url, data=json.dumps(update), headers=headers) as response:
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                reply = await self._read_webhook_reply(
                    response.headers, response.content, response.content_type
                )
        except TimeoutError:
            return "Read timeout expired"
        except (ClientError, OSError) as exc:
            return f"Connection failed: {exc}"
        if reply is not None:
            method = reply.pop("method", None)
            if isinstance(method, str):
                await self._call(method, self.token, reply)
        return None

    @staticmethod
    async def _read_webhook_reply(
        headers: Mapping[str, str], content: Any, content_type: str
    ) -> dict[str, Any] | None:
        """A method call in the webhook's answer (JSON or multipart form), as Telegram executes it."""
        if content_type == "application/json":
            try:
                reply = json.loads(await content.read())
            except ValueError:
                return None
            return reply if isinstance(reply, dict) else None
        if content_type == "multipart/form-data":
            fields: dict[str, Any] = {}
            reader = MultipartReader(headers, content)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if isinstance(part, BodyPartReader) and part.name:
                    fields[part.name] = await part.text()
            return fields
        return None

    # ----------------------------------------------------------------------------------------- messages

    def _bot_user(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_name, "username": self.bot_username}

    def _chat_instance(self, chat_id: int) -> str:
        return str(
            (chat_id * 1_000_003 + self.bot_id * 7_919) % 9_000_000_000_000_000_000
            - 4_500_000_000_000_000_000
        )

    def _message_payload(self, message: BotMessage) -> dict[str, Any]:
        user = self._users.get(message.chat_id) or FakeUser(id=message.chat_id)
        payload: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self._bot_user(),
            "chat": user.as_chat(),
            "date": message.date,
        }
        if message.edit_date is not None:
            payload["edit_date"] = message.edit_date
        payload["text"] = message.text
        if message.entities:
            payload["entities"] = message.entities
        markup = _inline_markup(message.reply_markup)
        if markup is not None:
            payload["reply_markup"] = markup
        return payload

    def _chat(self, p: dict[str, Any]) -> int:
        """The private chat the call addresses; Telegram's errors when it can't be found."""
        value = p.get("chat_id")
        if value is None or value == "":
            raise _bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            for user in self._users.values():
                if user.username and user.username.lower() == value[1:].lower():
                    return user.id
        if isinstance(value, int) and not isinstance(value, bool) and value in self._users:
            return value
        raise _bad_request("chat not found")

    def _format(self, p: dict[str, Any]) -> _Formatted:
        raw = p.get("text")
        if raw is None or raw == "":
            raise _bad_request("message text is empty")
        html = raw if isinstance(raw, str) else json.dumps(raw)
        parse_mode = p.get("parse_mode")
        if parse_mode is not None and not isinstance(parse_mode, str):
            raise _bad_request("unsupported parse_mode")
        mode = (parse_mode or "").strip().lower()
        entities: list[dict[str, Any]]
        if mode == "html":
            try:
                text, entities = parse_html(html)
            except HtmlParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from exc
            entities = _clean_entities(entities)
        elif mode in ("markdown", "markdownv2"):
            text, entities = html, []  # not parsed by this fake
        elif mode in ("", "none"):
            text, entities = html, _explicit_entities(p.get("entities"))
        else:
            raise _bad_request("unsupported parse_mode")
        text, entities = _trim(text, entities)
        if not text:
            raise _bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        return _Formatted(html=html, text=text, entities=entities, parse_mode=parse_mode or None)

    def _check_can_send(self, chat_id: int, *, rate_limited: bool) -> None:
        if chat_id in self._blocked:
            raise ApiError(403, BLOCKED)
        if rate_limited and self.enforce_rate_limits:
            self._take_rate_token(chat_id)

    def _take_rate_token(self, chat_id: int) -> None:
        now = time.monotonic()
        bucket = self._chat_buckets.setdefault(chat_id, _Bucket(tokens=float(self.chat_burst), updated=now))
        bucket.tokens = min(
            float(self.chat_burst), bucket.tokens + (now - bucket.updated) * self.chat_rate_per_second
        )
        bucket.updated = now
        overall = self._global_bucket
        if overall.updated == 0.0:
            overall.tokens, overall.updated = self.global_rate_per_second, now
        overall.tokens = min(
            self.global_rate_per_second,
            overall.tokens + (now - overall.updated) * self.global_rate_per_second,
        )
        overall.updated = now
        if bucket.tokens < 1.0:
            raise _too_many_requests(max(1, math.ceil((1.0 - bucket.tokens) / self.chat_rate_per_second)))
        if overall.tokens < 1.0:
            raise _too_many_requests(max(1, math.ceil((1.0 - overall.tokens) / self.global_rate_per_second)))
        bucket.tokens -= 1.0
        overall.tokens -= 1.0

    def _reply_target(self, chat_id: int, p: dict[str, Any]) -> dict[str, Any] | None:
        reply = p.get("reply_parameters")
        message_id = p.get("reply_to_message_id")
        allow_missing = bool(p.get("allow_sending_without_reply"))
        if reply is not None:
            if not isinstance(reply, dict):
                raise _bad_request("can't parse reply parameters JSON object")
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        if not message_id:
            return None
        bot_message = self._bot_messages.get((chat_id, message_id))
        if bot_message is not None and not bot_message.deleted:
            return self._message_payload(bot_message)
        user_message = self._user_messages.get((chat_id, message_id))
        if user_message is not None and not user_message.deleted:
            return user_message.payload
        if allow_missing:
            return None
        raise _bad_request("message to be replied not found")

    def _touch(self, message: BotMessage) -> None:
        self._touched[(message.chat_id, message.message_id)] = next(self._touches)

    async def _send_message(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(p)
        formatted = self._format(p)
        markup = _reply_markup(p.get("reply_markup"), inline_only=False)
        reply_to = self._reply_target(chat_id, p)
        self._check_can_send(chat_id, rate_limited=True)
        message = BotMessage(
            message_id=next(self._message_ids),
            chat_id=chat_id,
            text=formatted.text,
            html=formatted.html,
            reply_markup=markup,
            parse_mode=formatted.parse_mode,
            entities=formatted.entities,
            date=int(time.time()),
        )
        self._chat_messages.setdefault(chat_id, []).append(message)
        self._bot_messages[(chat_id, message.message_id)] = message
        self._touch(message)
        payload = self._message_payload(message)
        if reply_to is not None:
            payload["reply_to_message"] = reply_to
        return payload

    def _message_to_edit(self, p: dict[str, Any]) -> BotMessage:
        if p.get("inline_message_id"):
            raise _bad_request("MESSAGE_ID_INVALID")  # the fake has no inline messages
        chat_id = self._chat(p)
        message_id = p.get("message_id")
        if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id <= 0:
            raise _bad_request("message identifier is not specified")
        message = self._bot_messages.get((chat_id, message_id))
        user_message = self._user_messages.get((chat_id, message_id))
        if message is None and user_message is not None and not user_message.deleted:
            raise _bad_request("message can't be edited")
        if message is None or message.deleted:
            raise _bad_request("message to edit not found")
        return message

    def _apply_edit(self, message: BotMessage, markup: dict[str, Any] | None) -> dict[str, Any]:
        message.reply_markup = markup
        message.edits += 1
        message.edit_date = int(time.time())
        self._touch(message)
        return self._message_payload(message)

    async def _edit_message_text(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._message_to_edit(p)
        formatted = self._format(p)
        markup = _reply_markup(p.get("reply_markup"), inline_only=True)
        unchanged = (
            formatted.text == message.text
            and formatted.entities == message.entities
            and markup == _inline_markup(message.reply_markup)
        )
        if unchanged:
            raise ApiError(400, NOT_MODIFIED)
        self._check_can_send(message.chat_id, rate_limited=False)
        message.text = formatted.text
        message.html = formatted.html
        message.entities = formatted.entities
        message.parse_mode = formatted.parse_mode
        return self._apply_edit(message, markup)

    async def _edit_message_reply_markup(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._message_to_edit(p)
        markup = _reply_markup(p.get("reply_markup"), inline_only=True)
        if markup == _inline_markup(message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        self._check_can_send(message.chat_id, rate_limited=False)
        return self._apply_edit(message, markup)

    def _delete_one(self, chat_id: int, message_id: Any) -> bool:
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            return False
        bot_message = self._bot_messages.get((chat_id, message_id))
        if bot_message is not None and not bot_message.deleted:
            bot_message.deleted = True
            self._touch(bot_message)
            return True
        user_message = self._user_messages.get((chat_id, message_id))
        if user_message is not None and not user_message.deleted:
            user_message.deleted = True
            return True
        return False

    async def _delete_message(self, p: dict[str, Any]) -> bool:
        chat_id = self._chat(p)
        message_id = p.get("message_id")
        if message_id is None or message_id == "":
            raise _bad_request("message identifier is not specified")
        if not self._delete_one(chat_id, message_id):
            raise _bad_request("message to delete not found")
        return True

    async def _delete_messages(self, p: dict[str, Any]) -> bool:
        chat_id = self._chat(p)
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad_request("message identifiers are not specified")
        deleted = [self._delete_one(chat_id, message_id) for message_id in ids]
        if not any(deleted):
            raise _bad_request("message to delete not found")
        return True

    async def _answer_callback_query(self, p: dict[str, Any]) -> bool:
        query = self._queries.get(str(p.get("callback_query_id", "")))
        if query is None or query.answer is not None:
            raise ApiError(400, QUERY_TOO_OLD)
        text = p.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        query.answer = dict(p)
        return True

    async def _send_chat_action(self, p: dict[str, Any]) -> bool:
        chat_id = self._chat(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        self._check_can_send(chat_id, rate_limited=False)
        return True

    # ------------------------------------------------------------------------------------ bot settings

    def _scope_key(self, scope: Any) -> str:
        if scope is None or scope == "":
            scope = {"type": "default"}
        if not isinstance(scope, Mapping) or scope.get("type") not in _SCOPE_TYPES:
            raise _bad_request("can't parse BotCommandScope JSON object")
        normalized = dict(scope)
        for key in ("chat_id", "user_id"):
            value = normalized.get(key)
            if isinstance(value, str) and _INT_RE.fullmatch(value):
                normalized[key] = int(value)
        return json.dumps(normalized, sort_keys=True)

    @staticmethod
    def _language(p: dict[str, Any]) -> str:
        language = p.get("language_code") or ""
        if language and (not isinstance(language, str) or not _LANGUAGE_RE.fullmatch(language)):
            raise _bad_request("LANG_CODE_INVALID")
        return str(language)

    async def _set_my_commands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad_request("too many commands")
        stored: list[dict[str, Any]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            command, description = item.get("command"), item.get("description")
            if not isinstance(command, str) or not _COMMAND_RE.fullmatch(command):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            stored.append({"command": command, "description": description})
        key = (self._scope_key(p.get("scope")), self._language(p))
        if stored:
            self._commands[key] = stored
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        key = (self._scope_key(p.get("scope")), self._language(p))
        return list(self._commands.get(key, []))

    async def _delete_my_commands(self, p: dict[str, Any]) -> bool:
        self._commands.pop((self._scope_key(p.get("scope")), self._language(p)), None)
        return True

    async def _set_chat_menu_button(self, p: dict[str, Any]) -> bool:
        chat_id = self._chat(p) if p.get("chat_id") not in (None, "") else None
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise _bad_request("can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(p) if p.get("chat_id") not in (None, "") else None
        return self._menu_buttons.get(chat_id) or self._menu_buttons.get(None) or {"type": "default"}

    def _bot_text_setter(self, name: str) -> _Handler:
        async def setter(p: dict[str, Any]) -> bool:
            self._bot_texts[(name, self._language(p))] = str(p.get(name) or "")
            return True

        return setter

    def _bot_text_getter(self, name: str) -> _Handler:
        async def getter(p: dict[str, Any]) -> dict[str, str]:
            language = self._language(p)
            value = self._bot_texts.get((name, language)) or self._bot_texts.get((name, ""), "")
            if name == "name" and not value:
                value = self.bot_name
            return {name: value}

        return getter

    async def _get_me(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _true(self, p: dict[str, Any]) -> bool:
        return True

    # -------------------------------------------------------------------------------------------- admin

    async def _handle_admin(self, request: web.Request) -> web.Response:
        """Chat by hand: /_admin/send, /_admin/press, /_admin/messages, /_admin/calls (GET or POST)."""
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.body_exists:
            if request.content_type == "application/json":
                with contextlib.suppress(ValueError):
                    body = json.loads(await request.text())
                    if isinstance(body, dict):
                        params.update(body)
            else:
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        action = request.match_info["action"]
        try:
            result = self._admin(action, params)
        except (KeyError, ValueError, AssertionError) as exc:
            return web.json_response({"ok": False, "description": f"{type(exc).__name__}: {exc}"}, status=400)
        if result is None:
            return web.json_response(
                {"ok": False, "description": f"unknown admin action {action!r}"}, status=404
            )
        return web.json_response({"ok": True, "result": result}, dumps=_pretty_json)

    def _admin(self, action: str, params: dict[str, Any]) -> Any:
        if action == "send":
            user = self._admin_user(params)
            return {"message_id": self.send_text(user, str(params["text"]))}
        if action == "press":
            user = self._admin_user(params)
            message_id = int(params["message_id"])
            data = params.get("data")
            if data is None:
                stored = self._bot_messages.get((user.id, message_id))
                if stored is None:
                    raise KeyError(f"no bot message {message_id} in chat {user.id}")
                data = stored.callback_data(str(params["button"]))
            return {"query_id": self.press(user, message_id, str(data))}
        if action == "messages":
            return [message.as_dict() for message in self.messages(int(params["chat_id"]))]
        if action == "calls":
            limit = int(params.get("limit", 20))
            return [asdict(call) for call in self.calls[-limit:]]
        return None

    def _admin_user(self, params: dict[str, Any]) -> FakeUser:
        user_id = int(params["user_id"])
        user = self._users.get(user_id) or FakeUser(id=user_id)
        if params.get("lang"):
            user.language_code = str(params["lang"])
        if params.get("first_name"):
            user.first_name = str(params["first_name"])
        if params.get("username"):
            user.username = str(params["username"])
        return user


# ------------------------------------------------------------------------------------------ reply markup


def _inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a stored reply_markup that stays attached to the message (inline keyboards only)."""
    if markup is None or "inline_keyboard" not in markup:
        return None
    return {"inline_keyboard": markup["inline_keyboard"]}


def _reply_markup(value: Any, *, inline_only: bool) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram; an empty inline keyboard means no keyboard."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        return _inline_keyboard(value["inline_keyboard"])
    if inline_only:
        raise _bad_request("inline keyboard expected")
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
        for row in rows:
            for button in row:
                text = (
                    button
                    if isinstance(button, str)
                    else button.get("text")
                    if isinstance(button, dict)
                    else None
                )
                if not isinstance(text, str) or not text:
                    raise _bad_request('can\'t parse keyboard button: Field "text" must be of type String')
        return dict(value)
    if value.get("remove_keyboard") is True or value.get("force_reply") is True:
        return dict(value)
    raise _bad_request("can't parse reply keyboard markup JSON object")


def _inline_keyboard(rows: Any) -> dict[str, Any] | None:
    if not isinstance(rows, list):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    if not all(isinstance(row, list) for row in rows):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    kept = [list(row) for row in rows if row]
    if sum(len(row) for row in kept) > MAX_INLINE_BUTTONS:
        raise _bad_request("reply markup is too long")
    for row in kept:
        for button in row:
            _check_inline_button(button)
    return {"inline_keyboard": kept} if kept else None


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise _bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise _bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not button["text"]:
        raise _bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise _bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in actions:
        data = button["callback_data"]
        if (
            not isinstance(data, str)
            or not 1 <= len(data.encode("utf-8", "surrogatepass")) <= MAX_CALLBACK_DATA_BYTES
        ):
            raise _bad_request("BUTTON_DATA_INVALID")
    if "url" in actions:
        url = button["url"]
        if not isinstance(url, str) or _check_link(url) is None:
            raise _bad_request("BUTTON_URL_INVALID")


def _explicit_entities(value: Any) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise _bad_request("can't parse entities JSON object")
    entities: list[dict[str, Any]] = []
    for entity in value:
        if (
            not isinstance(entity, dict)
            or not isinstance(entity.get("type"), str)
            or not isinstance(entity.get("offset"), int)
            or not isinstance(entity.get("length"), int)
        ):
            raise _bad_request("can't parse MessageEntity JSON object")
        if entity["length"] > 0 and entity["offset"] >= 0:
            entities.append(dict(entity))
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities


def _pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


# ----------------------------------------------------------------------------------------------- CLI


async def _serve(token: str, port: int, bot_username: str, rate_limits: bool) -> None:
    prefix = token.split(":", 1)[0]
    fake = FakeTelegram(token, bot_id=int(prefix) if prefix.isdigit() else 123456, bot_username=bot_username)
    fake.enforce_rate_limits = rate_limits
    base_url = await fake.start(port=port)
    print(f"Fake Telegram Bot API on {base_url} (token {token})", flush=True)
    print(
        f"  bot:   Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base({base_url!r})))\n"
        f"  write: curl '{base_url}/_admin/send?user_id=1001&lang=en' --data-urlencode 'text=/start'\n"
        f"  press: curl '{base_url}/_admin/press?user_id=1001&message_id=2&data=...'  (or &button=<label part>)\n"
        f"  read:  curl '{base_url}/_admin/messages?chat_id=1001'   (and /_admin/calls?limit=20)",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()
        print("Fake Telegram stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.telegram", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=8081, help="port on 127.0.0.1 (default 8081, 0: any)")
    parser.add_argument(
        "--token", default=DEFAULT_TOKEN, help=f"the bot token to accept (default {DEFAULT_TOKEN})"
    )
    parser.add_argument("--bot-username", default="smspva_test_bot")
    parser.add_argument("--rate-limits", action="store_true", help="answer 429 on Telegram's flood limits")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.token, args.port, args.bot_username, args.rate_limits))


if __name__ == "__main__":
    main()
