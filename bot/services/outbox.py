"""Sends the outbox to Telegram within its limits: 1 message/s per chat, 25/s overall.

429 waits exactly `retry_after` for that chat; 403 (the user blocked the bot) pauses the user until
they unblock it (Telegram's `my_chat_member` update) or send /start; 5xx, network errors and answers
that are not JSON (a proxy's HTML error page) back off per message without holding up anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup

from bot.db.outbox import OutboxItem, OutboxRepo
from bot.db.users import UsersRepo
from bot.services.background import Heartbeat

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
PER_CHAT_INTERVAL_SECONDS = 1.0  # Telegram: about one message per second in one chat


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        outbox: OutboxRepo,
        users: UsersRepo,
        *,
        per_second: float = 25.0,
        per_chat_interval: float | None = None,
        concurrency: int = 8,
        idle_poll_seconds: float = 1.0,
    ) -> None:
        self._bot = bot
        self._outbox = outbox
        self._users = users
        self._global_interval = 1.0 / per_second
        self._per_chat_interval = (
            PER_CHAT_INTERVAL_SECONDS if per_chat_interval is None else per_chat_interval
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._idle_poll = idle_poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self.sent_count = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, heartbeat: Heartbeat | None = None) -> None:
        """Send until stopped; a database error propagates to the supervisor, which restarts this."""
        while not self._stopping:
            dispatched, cooling = await self._dispatch_due()
            if heartbeat is not None:
                heartbeat.beat()
            if self._stopping:
                break
            if dispatched:
                timeout = self._soonest_chat_wait()
            elif cooling is not None:  # a chat has a message due once its 1 s spacing ends: not later
                timeout = min(self._idle_poll, max(0.01, cooling - time.monotonic()))
            else:
                timeout = self._idle_poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    def _soonest_chat_wait(self) -> float:
        now = time.monotonic()
        waits = [moment - now for moment in self._next_chat.values() if moment > now]
        return max(0.01, min(waits, default=0.05))

    async def _dispatch_due(self) -> tuple[int, float | None]:
        """Send each waiting chat's oldest message; returns how many went out, and the earliest moment
        a chat held back by its per-chat spacing (or a 429) may send again."""
        now = time.monotonic()
        # Forget chat slots long past: the map stays as small as the set of recently served chats.
        self._next_chat = {chat: moment for chat, moment in self._next_chat.items() if moment > now}
        items = await self._outbox.due(limit=500, exclude_users=set(self._inflight))
        dispatched = 0
        cooling: float | None = None
        claimed: set[int] = set()
        for item in items:
            if self._stopping:
                break
            if item.user_id in claimed or item.user_id in self._inflight:
                continue  # one message at a time per chat, oldest first
            claimed.add(item.user_id)
            ready_at = self._next_chat.get(item.user_id, 0.0)
            if ready_at > time.monotonic():
                cooling = ready_at if cooling is None else min(cooling, ready_at)
                continue
            await self._slots.acquire()
            await self._global_slot()
            task = asyncio.create_task(self._send(item), name=f"outbox-{item.id}")
            self._inflight[item.user_id] = task
            dispatched += 1
        return dispatched, cooling

    async def _global_slot(self) -> None:
        now = time.monotonic()
        if self._next_global > now:
            await asyncio.sleep(self._next_global - now)
        self._next_global = max(now, self._next_global) + self._global_interval

    async def _send(self, item: OutboxItem) -> None:
        try:
            await self._deliver(item)
        except Exception:  # e.g. the database failed while recording the outcome: never silently
            # Hold the chat back a little so a persistent failure cannot turn into a busy loop.
            self._next_chat[item.user_id] = time.monotonic() + self._per_chat_interval * 5
            log.exception("outbox send failed outbox_id=%s chat_id=%s", item.id, item.user_id)
        finally:
            self._inflight.pop(item.user_id, None)
            self._slots.release()
            self._wake.set()

    async def _deliver(self, item: OutboxItem) -> None:
        markup = InlineKeyboardMarkup.model_validate(item.markup) if item.markup else None
        try:
            await self._bot.send_message(item.user_id, item.text, reply_markup=markup)
        except TelegramRetryAfter as error:
            self._next_chat[item.user_id] = time.monotonic() + error.retry_after
            await self._outbox.postpone(item.id, error.retry_after, "429", count_attempt=False)
            log.info("telegram flood control chat_id=%s retry_after=%s", item.user_id, error.retry_after)
        except TelegramForbiddenError:
            if await self._users.set_bot_blocked(item.user_id, True):
                log.info("user blocked the bot, pausing chat_id=%s", item.user_id)
        except TelegramBadRequest as error:
            if "chat not found" in error.message.lower():
                await self._users.set_bot_blocked(item.user_id, True)
                return
            # The message itself is refused (should not happen: texts are escaped); keep it for
            # inspection instead of retrying forever.
            await self._outbox.mark_failed(item.id, error.message)
            log.warning(
                "telegram refused message outbox_id=%s kind=%s reason=%s", item.id, item.kind, error.message
            )
        except (TelegramAPIError, ClientDecodeError) as error:
            # 5xx, network errors, and answers that are not Telegram's JSON at all (the HTML error
            # page of a proxy in front of the Bot API): back off per message, exponentially.
            delay = min(MAX_BACKOFF_SECONDS, 2.0 ** min(item.attempts + 1, 16))
            reason = error.message if isinstance(error, TelegramAPIError) else "answer is not JSON"
            await self._outbox.postpone(item.id, delay, reason)
            log.warning(
                "telegram send failed, will retry outbox_id=%s delay=%s reason=%s", item.id, delay, reason
            )
        else:
            await self._outbox.mark_sent(item.id)
            self._next_chat[item.user_id] = time.monotonic() + self._per_chat_interval
            self.sent_count += 1

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Let in-flight sends finish (or stay in the outbox); take nothing new."""
        self._stopping = True
        self._wake.set()
        pending = list(self._inflight.values())
        if pending:
            _done, still = await asyncio.wait(pending, timeout=grace_seconds)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
