"""Bot API methods on messages: send, edit, delete, answerCallbackQuery and sendChatAction."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fakes.telegram.errors import NOT_MODIFIED, QUERY_TOO_OLD, ApiError, bad_request
from tests.fakes.telegram.faults import FaultsMixin
from tests.fakes.telegram.markup import explicit_entities, inline_markup, parse_reply_markup
from tests.fakes.telegram.parsing import HtmlParseError, clean_entities, parse_html, trim_text
from tests.fakes.telegram.records import BotMessage, Formatted

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_ANSWER_LENGTH = 200
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


class MessagesMixin(FaultsMixin):
    """Methods that create, change or remove messages in a chat."""

    def _format(self, p: dict[str, Any]) -> Formatted:
        raw = p.get("text")
        if raw is None or raw == "":
            raise bad_request("message text is empty")
        html = raw if isinstance(raw, str) else json.dumps(raw)
        parse_mode = p.get("parse_mode")
        if parse_mode is not None and not isinstance(parse_mode, str):
            raise bad_request("unsupported parse_mode")
        mode = (parse_mode or "").strip().lower()
        entities: list[dict[str, Any]]
        if mode == "html":
            try:
                text, entities = parse_html(html)
            except HtmlParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from exc
            entities = clean_entities(entities)
        elif mode in ("markdown", "markdownv2"):
            text, entities = html, []  # not parsed by this fake
        elif mode in ("", "none"):
            text, entities = html, explicit_entities(p.get("entities"))
        else:
            raise bad_request("unsupported parse_mode")
        text, entities = trim_text(text, entities)
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        return Formatted(html=html, text=text, entities=entities, parse_mode=parse_mode or None)

    def _reply_target(self, chat_id: int, p: dict[str, Any]) -> dict[str, Any] | None:
        reply = p.get("reply_parameters")
        message_id = p.get("reply_to_message_id")
        allow_missing = bool(p.get("allow_sending_without_reply"))
        if reply is not None:
            if not isinstance(reply, dict):
                raise bad_request("can't parse reply parameters JSON object")
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
        raise bad_request("message to be replied not found")

    async def _send_message(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(p)
        formatted = self._format(p)
        markup = parse_reply_markup(p.get("reply_markup"), inline_only=False)
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
            raise bad_request("MESSAGE_ID_INVALID")  # the fake has no inline messages
        chat_id = self._chat(p)
        message_id = p.get("message_id")
        if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id <= 0:
            raise bad_request("message identifier is not specified")
        message = self._bot_messages.get((chat_id, message_id))
        user_message = self._user_messages.get((chat_id, message_id))
        if message is None and user_message is not None and not user_message.deleted:
            raise bad_request("message can't be edited")
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
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
        markup = parse_reply_markup(p.get("reply_markup"), inline_only=True)
        unchanged = (
            formatted.text == message.text
            and formatted.entities == message.entities
            and markup == inline_markup(message.reply_markup)
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
        markup = parse_reply_markup(p.get("reply_markup"), inline_only=True)
        if markup == inline_markup(message.reply_markup):
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
            raise bad_request("message identifier is not specified")
        if not self._delete_one(chat_id, message_id):
            raise bad_request("message to delete not found")
        return True

    async def _delete_messages(self, p: dict[str, Any]) -> bool:
        chat_id = self._chat(p)
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        deleted = [self._delete_one(chat_id, message_id) for message_id in ids]
        if not any(deleted):
            raise bad_request("message to delete not found")
        return True

    async def _answer_callback_query(self, p: dict[str, Any]) -> bool:
        query = self._queries.get(str(p.get("callback_query_id", "")))
        if query is None or query.answer is not None:
            raise ApiError(400, QUERY_TOO_OLD)
        text = p.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer = dict(p)
        return True

    async def _send_chat_action(self, p: dict[str, Any]) -> bool:
        chat_id = self._chat(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._check_can_send(chat_id, rate_limited=False)
        return True
