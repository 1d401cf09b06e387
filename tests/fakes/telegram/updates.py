"""The users' side (messages, button presses) and the update queue: allowed_updates and getUpdates long polling."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any

from tests.fakes.telegram.errors import (
    TERMINATED_BY_GET_UPDATES,
    TERMINATED_BY_SET_WEBHOOK,
    WEBHOOK_ACTIVE,
    ApiError,
    bad_request,
)
from tests.fakes.telegram.inspection import InspectMixin
from tests.fakes.telegram.parsing import utf16_len
from tests.fakes.telegram.records import BotMessage, FakeUser, Query, UserMessage

_NOT_SENT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BOT_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


class UpdatesMixin(InspectMixin):
    """Play the users and hand their updates to the bot by long polling."""

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
            payload["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}]
        self._user_messages[(user.id, message_id)] = UserMessage(payload)
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
        self._queries[query_id] = Query(chat_id=user.id, message_id=message_id, data=data)
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
            raise bad_request("can't parse allowed updates JSON object")
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
