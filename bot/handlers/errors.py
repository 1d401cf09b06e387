"""Last line of defence: log an unexpected failure with context and tell the user."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.db import UsersRepo
from bot.i18n import DEFAULT_LOCALE, user_locale

router = Router(name=__name__)
log = logging.getLogger(__name__)


@router.error()
async def on_error(event: ErrorEvent, bot: Bot, i18n: I18n, users: UsersRepo) -> bool:
    update = event.update
    log.error(
        "unhandled error update_id=%s error=%s",
        update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    chat_id: int | None = None
    if update.message is not None:
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        chat_id = update.callback_query.from_user.id
        # Already answered, or too old: the message below still reaches the user.
        with contextlib.suppress(TelegramAPIError):
            await update.callback_query.answer()
    if chat_id is not None:
        user = await users.get(chat_id)
        with i18n.context(), i18n.use_locale(user_locale(user) if user else DEFAULT_LOCALE):
            text = _("Sorry, something went wrong on my side. Please try again; nothing was lost.")
        try:
            await bot.send_message(chat_id, text)
        except TelegramAPIError as error:
            log.warning("could not report error to user reason=%s", error.message)
    return True
