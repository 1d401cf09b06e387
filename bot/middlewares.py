"""Per-update middlewares: the key-paste guard, the ALLOWED_USER_IDS gate and the current user's row."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.i18n import gettext as _

from bot.apikey import looks_like_key
from bot.callbacks import is_from_notification, plain_data
from bot.db import UserRow, UsersRepo
from bot.throttling import ThrottlingMiddleware

log = logging.getLogger(__name__)


class NotificationButtons(BaseMiddleware):
    """First of all for button presses: a button on a notification carries FROM_NOTIFICATION in
    front of its data; routing, filters and handlers see the ordinary data. show() recognises the
    notification by its keyboard (see `bot.handlers.screen.is_notification`) and sends anew."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if isinstance(event, CallbackQuery) and event.data and is_from_notification(event.data):
            event = event.model_copy(update={"data": plain_data(event.data)})
        return await handler(event, data)


class KnownUserMiddleware(BaseMiddleware):
    """First of all: reads (never creates) the sender's row into `data["user"]`, so even the
    throttle's and the access gate's replies use the saved language. Writes nothing."""

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
            data["user"] = await self._users.get(tg_user.id)  # None: unknown, or outside ALLOWED_USER_IDS
        return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    """After the access gate: creates the sender's row on first contact (and keeps Telegram's
    language up to date), so `data["user"]` is always there for handlers."""

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
            known: UserRow | None = data.get("user")
            if known is None or known.tg_language != tg_user.language_code:
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


class KeyPasteGuard(BaseMiddleware):
    """Deletes at once any message that looks like an API key sent where no key is expected
    (a search, the time zone prompt, another command...), so it neither stays in the chat nor is
    echoed back by a handler, and says how to link a key instead.

    Runs before the throttle (a throttled key must still go), the access gate and every
    handler. `/key KEY` and the key prompt's own state are left to their handler, which deletes too
    (except for users the gate refuses: no handler would).
    The note is sent only while the throttle allows it: a flood of keys is deleted, not answered.
    """

    def __init__(
        self, throttling: ThrottlingMiddleware, key_states: frozenset[str], users: UsersRepo
    ) -> None:
        self._throttling = throttling
        self._key_states = key_states
        self._users = users

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message):
            return await handler(event, data)
        text = event.text or event.caption or ""
        first = text.split(maxsplit=1)[0].lower() if text.strip() else ""
        # A refused user's /key reaches no handler (the gate stops it), so it is deleted here too.
        allowed = event.from_user is None or self._users.is_allowed(event.from_user.id)
        if allowed and (data.get("raw_state") in self._key_states or first.split("@")[0] == "/key"):
            return await handler(event, data)
        if not looks_like_key(text):
            return await handler(event, data)
        bot: Bot = data["bot"]
        try:
            await bot.delete_message(event.chat.id, event.message_id)
        except TelegramBadRequest as error:
            log.warning("could not delete key-shaped message reason=%s", error.message)
        log.info("key-shaped message deleted user_id=%s", event.chat.id)
        if not allowed:
            return await handler(event, data)  # the throttle and the access gate answer; no handler sees it
        if event.from_user is None or self._throttling.allow(event.from_user.id):
            await event.answer(
                _(
                    "🔒 I deleted your message: it looked like an API key, and keys must not stay in a chat. "
                    "To link your SMSPVA key, send /key followed by the key, or open Settings → API key."
                )
            )
        return None
