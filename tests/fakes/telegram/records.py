"""What the fake records: the users, every API call, the bot's messages, and its internal bookkeeping."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tests.fakes.telegram.errors import ApiError

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
    status: int = 0  # the HTTP status the bot got (0: none, the connection was dropped)
    response: dict[str, Any] | None = None  # Telegram's answer; None if the call never ran
    fault: str | None = None  # "bad_gateway" or "disconnect" when an injected fault ate the answer

    def describe(self) -> str:
        shown = []
        for key, value in self.params.items():
            text = json.dumps(value, ensure_ascii=False, default=str)
            shown.append(f"{key}={text[:120]}..." if len(text) > 120 else f"{key}={text}")
        params = " ".join(shown)
        if self.fault is not None:
            outcome = f"{self.status} {self.fault}" + (" (after it took effect)" if self.response else "")
        elif self.response is None:
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

    def copy_text(self, label_contains: str) -> str:
        """The text a ``copy_text`` button puts on the clipboard (pressing it sends the bot nothing)."""
        button = self.button(label_contains)
        copy = button.get("copy_text")
        if not isinstance(copy, dict) or not isinstance(copy.get("text"), str):
            raise AssertionError(f"button {button.get('text')!r} is no copy_text button: {button}")
        return str(copy["text"])

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------ internal state


@dataclass
class UserMessage:
    payload: dict[str, Any]
    deleted: bool = False


@dataclass
class Query:
    chat_id: int
    message_id: int
    data: str
    answer: dict[str, Any] | None = None


FaultKind = Literal["error", "bad_gateway", "disconnect"]
"""How an injected failure reaches the bot: a Bot API error answer, a proxy's HTML 502 page, or a connection
closed without an answer."""


@dataclass
class FailRule:
    method: str  # lower case
    kind: FaultKind
    error: ApiError | None  # the answer, for kind "error"
    chat_id: int | None  # only calls for this chat; None: any
    remaining: int | None = None  # calls left to fail; None: until the deadline
    deadline: float | None = None  # time.monotonic() when the rule ends; None: after ``remaining`` calls
    skip: int = 0  # matching calls still let through before the rule starts failing
    applied: bool = False  # the call takes effect at Telegram before its answer is lost


class LostAnswer(Exception):
    """The answer to a call never reaches the bot in Telegram's format (bad_gateway or disconnect)."""

    def __init__(self, kind: FaultKind) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Formatted:
    html: str
    text: str
    entities: list[dict[str, Any]]
    parse_mode: str | None


@dataclass
class Described:
    """A successful result that Telegram answers with a description as well (setWebhook, deleteWebhook)."""

    result: Any
    description: str


@dataclass
class Bucket:
    tokens: float
    updated: float


Handler = Callable[[dict[str, Any]], Awaitable[Any]]
