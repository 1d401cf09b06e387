"""Showing a screen: edit the message the button sits on, or send a new one."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import is_from_notification

log = logging.getLogger(__name__)


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
        return await event.message.answer(text, reply_markup=markup)
    if isinstance(event, CallbackQuery):
        # The message is inaccessible (too old): answer in the chat directly.
        return (
            await event.bot.send_message(event.from_user.id, text, reply_markup=markup) if event.bot else None
        )
    return await event.answer(text, reply_markup=markup)


def is_notification(message: Message) -> bool:
    """A message the bot sent on its own: its buttons carry the FROM_NOTIFICATION mark."""
    markup = message.reply_markup
    if not isinstance(markup, InlineKeyboardMarkup):
        return False
    return any(is_from_notification(button.callback_data) for row in markup.inline_keyboard for button in row)


async def drop_keyboard(query: CallbackQuery) -> None:
    """Remove the buttons under a message at once (a confirmation must not be pressable twice).
    A notification keeps its buttons (it is a record; its buttons only ever open screens)."""
    if (
        isinstance(query.message, Message)
        and query.message.reply_markup is not None
        and not is_notification(query.message)
    ):
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest as error:
            log.info("could not remove keyboard reason=%s", error.message)
