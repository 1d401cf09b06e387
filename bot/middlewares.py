"""Per-update middlewares: the current user's row, and the ALLOWED_USER_IDS gate."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.i18n import gettext as _

from bot.db import UsersRepo


class UserMiddleware(BaseMiddleware):
    """Loads (creating on first contact) the sender's row into `data["user"]`."""

    def __init__(self, users: UsersRepo) -> None:
        self._users = users

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: User | None = data.get("event_from_user")
        if tg_user is not None and not tg_user.is_bot:
            data["user"] = await self._users.get_or_create(tg_user.id, tg_user.language_code)
        return await handler(event, data)


class AccessMiddleware(BaseMiddleware):
    """Politely refuses everyone outside ALLOWED_USER_IDS (empty set = everyone is welcome).

    Runs after the throttle (a refused user who floods is slowed like anyone) and before
    UserMiddleware: a refusal stores nothing, so strangers cannot grow the database."""

    def __init__(self, allowed: frozenset[int]) -> None:
        self._allowed = allowed

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: User | None = data.get("event_from_user")
        if not self._allowed or (tg_user is not None and tg_user.id in self._allowed):
            return await handler(event, data)
        text = _("Sorry, this bot is private. Ask its owner to add your Telegram id ({user_id}).").format(
            user_id=tg_user.id if tg_user else "?"
        )
        if isinstance(event, Message):
            await event.answer(text)
        elif isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        return None
