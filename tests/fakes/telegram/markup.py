"""Validation of ``reply_markup`` and explicit ``entities``, with Telegram's error wording."""

from __future__ import annotations

from typing import Any

from tests.fakes.telegram.errors import bad_request
from tests.fakes.telegram.parsing import check_link

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_COPY_TEXT_LENGTH = 256
BUTTON_ACTIONS = (
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
# ------------------------------------------------------------------------------------------ reply markup


def inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a stored reply_markup that stays attached to the message (inline keyboards only)."""
    if markup is None or "inline_keyboard" not in markup:
        return None
    return {"inline_keyboard": markup["inline_keyboard"]}


def parse_reply_markup(value: Any, *, inline_only: bool) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram; an empty inline keyboard means no keyboard."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        return _inline_keyboard(value["inline_keyboard"])
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
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
                    raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
        return dict(value)
    if value.get("remove_keyboard") is True or value.get("force_reply") is True:
        return dict(value)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _inline_keyboard(rows: Any) -> dict[str, Any] | None:
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    if not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    kept = [list(row) for row in rows if row]
    if sum(len(row) for row in kept) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in kept:
        for button in row:
            _check_inline_button(button)
    return {"inline_keyboard": kept} if kept else None


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not button["text"]:
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in actions:
        data = button["callback_data"]
        if (
            not isinstance(data, str)
            or not 1 <= len(data.encode("utf-8", "surrogatepass")) <= MAX_CALLBACK_DATA_BYTES
        ):
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions:
        url = button["url"]
        if not isinstance(url, str) or check_link(url) is None:
            raise bad_request("BUTTON_URL_INVALID")
    if "copy_text" in actions:  # CopyTextButton (Bot API 7.11): {"text": "1-256 characters"}
        copy = button["copy_text"]
        if not isinstance(copy, dict):
            raise bad_request('can\'t parse inline keyboard button: Field "copy_text" must be of type Object')
        if not isinstance(copy.get("text"), str):
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not 1 <= len(copy["text"]) <= MAX_COPY_TEXT_LENGTH:
            raise bad_request("BUTTON_COPY_TEXT_INVALID")  # the limit is documented, the wording assumed


def explicit_entities(value: Any) -> list[dict[str, Any]]:
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise bad_request("can't parse entities JSON object")
    entities: list[dict[str, Any]] = []
    for entity in value:
        if (
            not isinstance(entity, dict)
            or not isinstance(entity.get("type"), str)
            or not isinstance(entity.get("offset"), int)
            or not isinstance(entity.get("length"), int)
        ):
            raise bad_request("can't parse MessageEntity JSON object")
        if entity["length"] > 0 and entity["offset"] >= 0:
            entities.append(dict(entity))
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities
