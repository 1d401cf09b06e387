"""The bot's command menu, set once per language so Telegram shows it in the user's language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import DEFAULT_LOCALE, LANGUAGES


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


async def set_commands(bot: Bot, i18n: I18n) -> None:
    scope = BotCommandScopeAllPrivateChats()
    with i18n.context():
        for locale in LANGUAGES:
            with i18n.use_locale(locale):
                await bot.set_my_commands(command_list(), scope=scope, language_code=locale)
        # Users whose Telegram language we don't speak get the default (English) menu.
        with i18n.use_locale(DEFAULT_LOCALE):
            await bot.set_my_commands(command_list(), scope=scope)
