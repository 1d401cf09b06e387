"""The bot's command menu, description and short description, set once per language at start-up so
Telegram shows them in the user's language (the description fills the empty chat before /start)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import DEFAULT_LOCALE, LANGUAGES

log = logging.getLogger(__name__)

# Bot API limits (setMyDescription / setMyShortDescription).
DESCRIPTION_LIMIT = 512
SHORT_DESCRIPTION_LIMIT = 120


def command_list() -> list[BotCommand]:
    return [
        BotCommand(command="start", description=_("Main menu")),
        BotCommand(command="rent", description=_("Rent a number")),
        BotCommand(command="orders", description=_("My numbers")),
        BotCommand(command="archive", description=_("Expired rentals and restore")),
        BotCommand(command="settings", description=_("Settings")),
        BotCommand(command="key", description=_("Link your SMSPVA API key")),
        BotCommand(command="language", description=_("Change language")),
        BotCommand(command="help", description=_("Help and FAQ")),
    ]


def description() -> str:
    """Shown in the empty chat ("What can this bot do?"), at most 512 characters, plain text."""
    return _(
        "Rent phone numbers that receive SMS, from SMSPVA, right here in Telegram.\n\n"
        "• Pick a country, a service and a period, and see the exact price before you pay.\n"
        "• Every SMS your numbers receive is sent to this chat within seconds, with the code ready "
        "to copy.\n"
        "• Prolong, restore and manage your numbers with buttons.\n\n"
        "You need your own SMSPVA API key. Press Start to begin."
    )


def short_description() -> str:
    """Shown on the bot's profile and in shared links, at most 120 characters."""
    return _("Rent SMSPVA numbers and get every SMS pushed to this chat within seconds.")


async def set_commands(bot: Bot, i18n: I18n) -> None:
    scope = BotCommandScopeAllPrivateChats()
    with i18n.context():
        for locale in LANGUAGES:
            with i18n.use_locale(locale):
                await bot.set_my_commands(command_list(), scope=scope, language_code=locale)
        # Users whose Telegram language we don't speak get the default (English) menu.
        with i18n.use_locale(DEFAULT_LOCALE):
            await bot.set_my_commands(command_list(), scope=scope)
    await set_descriptions(bot, i18n)


async def set_descriptions(bot: Bot, i18n: I18n) -> None:
    """The description and short description per language, and English for everyone else.

    Cosmetic: a failure (an old Bot API server that lacks these methods, a flood limit) is logged as
    a warning and the bot starts anyway; the next start tries again."""
    with i18n.context():
        for locale in (*LANGUAGES, None):
            with i18n.use_locale(locale or DEFAULT_LOCALE):
                try:
                    await bot.set_my_description(description(), language_code=locale)
                    await bot.set_my_short_description(short_description(), language_code=locale)
                except TelegramAPIError as error:
                    log.warning(
                        "bot description not set language=%s error=%s",
                        locale or "default",
                        type(error).__name__,
                    )
                    return
