"""The fake's state, shared by every part of the server, and the few helpers all of them use."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from tests.fakes.telegram.errors import TERMINATED_BY_GET_UPDATES, bad_request
from tests.fakes.telegram.markup import inline_markup
from tests.fakes.telegram.records import (
    ApiCall,
    BotMessage,
    Bucket,
    FailRule,
    FakeUser,
    Query,
    UserMessage,
    Webhook,
)

DEFAULT_TOKEN = "123456:TEST-token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class FakeState:
    """Everything the fake knows; the mixins that make up ``FakeTelegram`` read and change it."""

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
        self._user_messages: dict[tuple[int, int], UserMessage] = {}
        self._queries: dict[str, Query] = {}
        self._updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] | None = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._fail_rules: list[FailRule] = []
        self._chat_buckets: dict[int, Bucket] = {}
        self._global_bucket = Bucket(tokens=0.0, updated=0.0)
        self._webhook: Webhook | None = None

        self._changed = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._stopping = False
        self._poll_generation = 0
        self._poll_terminated_by = TERMINATED_BY_GET_UPDATES
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------------------------------- updates

    def _enqueue(self, body: dict[str, Any]) -> None:
        self._updates.append({"update_id": next(self._update_ids), **body})
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

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
        markup = inline_markup(message.reply_markup)
        if markup is not None:
            payload["reply_markup"] = markup
        return payload

    def _chat(self, p: dict[str, Any]) -> int:
        """The private chat the call addresses; Telegram's errors when it can't be found."""
        value = p.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            for user in self._users.values():
                if user.username and user.username.lower() == value[1:].lower():
                    return user.id
        if isinstance(value, int) and not isinstance(value, bool) and value in self._users:
            return value
        raise bad_request("chat not found")

    def _touch(self, message: BotMessage) -> None:
        self._touched[(message.chat_id, message.message_id)] = next(self._touches)

    async def _call(self, method: str, token: str, raw: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one Bot API call and record it (the server implements it; webhook replies use it too)."""
        raise NotImplementedError
