"""Showing a screen: edit the message the button sits on, or send a new one."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject

from bot.callbacks import is_from_notification

log = logging.getLogger(__name__)


class ScreenTracker:
    """The last screen show() sent into each chat, so a newer one can take its keyboard away (a
    typed search or /orders again leaves no second set of live buttons above).

    Only messages show() sent are remembered: pushes and notices (the outbox) are never touched.
    Kept in memory, like the FSM: after a restart the first new screen leaves the older one as it is.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._last: OrderedDict[int, int] = OrderedDict()

    def swap(self, chat_id: int, message_id: int) -> int | None:
        """Remember the chat's new screen; return the previous one (None if none or the same)."""
        previous = self._last.pop(chat_id, None)
        self._last[chat_id] = message_id
        if len(self._last) > self._limit:
            self._last.popitem(last=False)
        return previous if previous != message_id else None


# Set for the duration of each update by ScreenMiddleware (like aiogram's i18n context): show() is
# called from every screen with the event only.
_tracker: ContextVar[ScreenTracker | None] = ContextVar("screen_tracker", default=None)


class ScreenMiddleware(BaseMiddleware):
    def __init__(self, tracker: ScreenTracker) -> None:
        self._tracker = tracker

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = _tracker.set(self._tracker)
        try:
            return await handler(event, data)
        finally:
            _tracker.reset(token)


async def _replaced(bot: Bot | None, sent: Message | None) -> Message | None:
    """A new screen was sent: the previous screen in that chat loses its keyboard."""
    tracker = _tracker.get()
    if tracker is None or sent is None or bot is None:
        return sent
    previous = tracker.swap(sent.chat.id, sent.message_id)
    if previous is not None:
        try:
            await bot.edit_message_reply_markup(chat_id=sent.chat.id, message_id=previous, reply_markup=None)
        except TelegramBadRequest as error:  # no keyboard left, deleted, too old: nothing to tidy
            log.debug("old screen keeps its state reason=%s", error.message)
    return sent


async def show(
    event: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Render a screen in place for button presses, as a new message for typed commands.

    Editing keeps the chat tidy ("one message, edited in place"); when the message is gone or too
    old to edit, a fresh one is sent so the user is never left without an answer. A button on a
    notification (an SMS, a notice, a warning) opens a new message: the notification stays as it is.
    """
    if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
        if is_notification(event.message):
            return await event.message.answer(text, reply_markup=markup)
        try:
            edited = await event.message.edit_text(text, reply_markup=markup)
            return edited if isinstance(edited, Message) else event.message
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return event.message
            log.info("edit failed, sending anew reason=%s", error.message)
        return await _replaced(event.bot, await event.message.answer(text, reply_markup=markup))
    if isinstance(event, CallbackQuery):
        # The message is inaccessible (too old): answer in the chat directly.
        sent = (
            await event.bot.send_message(event.from_user.id, text, reply_markup=markup) if event.bot else None
        )
        return await _replaced(event.bot, sent)
    return await _replaced(event.bot, await event.answer(text, reply_markup=markup))


def is_notification(message: Message) -> bool:
    """A message the bot sent on its own: its buttons carry the FROM_NOTIFICATION mark."""
    markup = message.reply_markup
    if not isinstance(markup, InlineKeyboardMarkup):
        return False
    return any(is_from_notification(button.callback_data) for row in markup.inline_keyboard for button in row)


async def drop_keyboard(query: CallbackQuery) -> None:
    """Remove the buttons under a message at once (a confirmation must not be pressable twice).
    A notification keeps its buttons (it is a record; its buttons only ever open screens).

    Best effort: the token is single-use anyway, so Telegram refusing the edit (a 429, a 5xx) must
    not strand a claimed confirmation."""
    if (
        isinstance(query.message, Message)
        and query.message.reply_markup is not None
        and not is_notification(query.message)
    ):
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramAPIError as error:
            log.info("could not remove keyboard reason=%s", error.message)
