"""What a test reads: the call log, the bot's messages as the user sees them, and waiting for them."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from tests.fakes.telegram.records import ApiCall, BotMessage
from tests.fakes.telegram.state import FakeState
from tests.fakes.telegram.transcript import TranscriptMessage, build_transcript


class InspectMixin(FakeState):
    """Read-only views for tests, and waiting for the bot to act."""

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

    def transcript(self, chat_id: int) -> list[TranscriptMessage]:
        """The chat as its user sees it now: the bot's and the user's undeleted messages in order, with
        edits applied and each inline keyboard's rows (for rendering screens)."""
        users = [message for (chat, _), message in self._user_messages.items() if chat == chat_id]
        return build_transcript(self._chat_messages.get(chat_id, []), users)

    def transcripts(self) -> dict[int, list[TranscriptMessage]]:
        """``transcript`` of every chat with at least one message, by chat id."""
        chats = set(self._chat_messages) | {chat for chat, _ in self._user_messages}
        return {chat_id: self.transcript(chat_id) for chat_id in sorted(chats)}

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
