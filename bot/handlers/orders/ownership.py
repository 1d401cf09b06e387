"""The ownership check in front of every order button."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.callbacks import OrderAction, OrderCb
from bot.db import UserRow
from bot.deps import deps_of
from bot.handlers.screen import show
from bot.handlers.upstream import fetch_orders, require_key
from bot.keyboards import orders as kb
from bot.services.money import find_order

log = logging.getLogger(__name__)

LIST_ACTIONS = frozenset({OrderAction.LIST, OrderAction.REFRESH})


def not_owned_text() -> str:
    return _("This number is not among your current orders (it may have expired or been deleted).")


class OwnedOrderMiddleware(BaseMiddleware):
    """For every order button (but the list): re-read the user's orders with their own key and
    hand the handler `order` and `apikey` only if the id is among them. A forged or stale id is
    refused here, before any handler can act on it; a missing key or an upstream failure raises
    to the error handler."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        callback_data = data.get("callback_data")
        if not isinstance(callback_data, OrderCb) or callback_data.action in LIST_ACTIONS:
            return await handler(event, data)
        assert isinstance(event, CallbackQuery)
        deps = deps_of(data)
        user: UserRow = data["user"]
        apikey = await require_key(deps, user)
        order = find_order(await fetch_orders(deps, user, apikey), callback_data.order_id)
        if order is None:
            log.warning("order not owned or gone user_id=%s order_id=%s", user.id, callback_data.order_id)
            await show(event, not_owned_text(), kb.back_to_list())
            await event.answer()
            return None
        data["apikey"], data["order"] = apikey, order
        return await handler(event, data)
