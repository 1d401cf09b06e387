"""A chat as its user sees it right now: the visible messages of both sides, for rendering screenshots."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tests.fakes.telegram.markup import BUTTON_ACTIONS
from tests.fakes.telegram.records import BotMessage, UserMessage

_TRIMMED = " \t\r\n\v\f"


@dataclass(frozen=True)
class TranscriptButton:
    """One inline button: its label and what it does."""

    text: str
    action: str  # "callback_data", "url", "copy_text", ... (the button's field that is set)
    value: str  # the callback data, the URL, the text to copy; other actions as JSON


@dataclass
class TranscriptMessage:
    """One visible message in its current state (edits applied)."""

    message_id: int
    sender: Literal["bot", "user"]
    text: str  # what the user reads: tags stripped, HTML entities decoded, trimmed
    html: str  # HTML showing that text: the bot's HTML as sent (trimmed), else the text escaped
    entities: list[dict[str, Any]] = field(default_factory=list)  # UTF-16 offsets, as in the Bot API
    keyboard: list[list[TranscriptButton]] = field(default_factory=list)  # inline keyboard rows
    edited: bool = False
    date: int = 0

    def button_texts(self) -> list[list[str]]:
        """The inline keyboard's labels, row by row."""
        return [[button.text for button in row] for row in self.keyboard]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_transcript(
    bot_messages: Iterable[BotMessage], user_messages: Iterable[UserMessage]
) -> list[TranscriptMessage]:
    """Both sides' undeleted messages of one chat, in chat order (message ids are shared, so by id)."""
    shown = [_bot_entry(message) for message in bot_messages if not message.deleted]
    shown += [_user_entry(message) for message in user_messages if not message.deleted]
    return sorted(shown, key=lambda entry: entry.message_id)


def _bot_entry(message: BotMessage) -> TranscriptMessage:
    is_html = (message.parse_mode or "").strip().lower() == "html"
    return TranscriptMessage(
        message_id=message.message_id,
        sender="bot",
        text=message.text,
        html=message.html.strip(_TRIMMED) if is_html else html.escape(message.text, quote=False),
        entities=[dict(entity) for entity in message.entities],
        keyboard=[[_button(button) for button in row] for row in message.buttons()],
        edited=message.edits > 0,
        date=message.date,
    )


def _user_entry(message: UserMessage) -> TranscriptMessage:
    payload = message.payload
    text = str(payload.get("text", ""))
    return TranscriptMessage(
        message_id=int(payload["message_id"]),
        sender="user",
        text=text,
        html=html.escape(text, quote=False),
        entities=[dict(entity) for entity in payload.get("entities", [])],
        date=int(payload.get("date", 0)),
    )


def _button(button: dict[str, Any]) -> TranscriptButton:
    action = next((name for name in BUTTON_ACTIONS if button.get(name) is not None), "")
    value = button.get(action) if action else None
    if action == "copy_text" and isinstance(value, dict):
        value = value.get("text")
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return TranscriptButton(text=str(button.get("text", "")), action=action, value=shown)
