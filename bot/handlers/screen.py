"""Showing a screen: edit the message the button sits on, or send a new one."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

log = logging.getLogger(__name__)


async def show(
    event: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Render a screen in place for button presses, as a new message for typed commands.

    Editing keeps the chat tidy ("one message, edited in place"); when the message is gone or too
    old to edit, a fresh one is sent so the user is never left without an answer.
    """
    if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
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


async def show_progress(query: CallbackQuery, text: str) -> None:
    """The "⏳" line shown before a money-moving call. Best effort: Telegram refusing it (a 429, a
    5xx) must not stop the call the user confirmed, whose outcome is shown afterwards anyway."""
    try:
        await show(query, text)
    except TelegramAPIError as error:
        log.info("could not show progress reason=%s", error.message)


async def drop_keyboard(query: CallbackQuery) -> None:
    """Remove the buttons under a message at once (a confirmation must not be pressable twice).

    Best effort: the token is single-use anyway, so Telegram refusing the edit (a 429, a 5xx) must
    not strand a claimed confirmation."""
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramAPIError as error:
            log.info("could not remove keyboard reason=%s", error.message)
