"""Slows down a user who floods the bot, without touching anyone else or the background work."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.i18n import gettext as _

WINDOW_SECONDS = 60.0


class ThrottlingMiddleware(BaseMiddleware):
    """At most `per_minute` messages and button presses per user in any 60 s window.

    Over the limit, updates are dropped with one polite notice per window (a flood must not be
    answered by a flood). Memory stays bounded: idle users' windows are forgotten.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._events: dict[int, deque[float]] = {}
        self._noticed: dict[int, float] = {}
        self._last_sweep = 0.0

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < WINDOW_SECONDS:
            return
        self._last_sweep = now
        for user_id in [uid for uid, q in self._events.items() if not q or now - q[-1] > WINDOW_SECONDS]:
            del self._events[user_id]
            self._noticed.pop(user_id, None)

    def allow(self, user_id: int) -> bool:
        now = self._clock()
        self._sweep(now)
        events = self._events.setdefault(user_id, deque())
        while events and now - events[0] > WINDOW_SECONDS:
            events.popleft()
        if len(events) >= self._limit:
            return False
        events.append(now)
        return True

    def should_notice(self, user_id: int) -> bool:
        now = self._clock()
        last = self._noticed.get(user_id)
        if last is not None and now - last < WINDOW_SECONDS:
            return False
        self._noticed[user_id] = now
        return True

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: User | None = data.get("event_from_user")
        if tg_user is None or self.allow(tg_user.id):
            return await handler(event, data)
        text = _("You're going a bit fast — please wait a few seconds and try again.")
        if isinstance(event, CallbackQuery):
            await event.answer(text)  # a press must always be answered, or its button spins
        elif isinstance(event, Message) and self.should_notice(tg_user.id):
            await event.answer(text)
        return None
