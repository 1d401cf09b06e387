"""/language: switch the bot's language (saved per user)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LangCb, SettingsAction, SettingsCb
from bot.db import UserRow, UsersRepo
from bot.handlers.screen import show
from bot.i18n import LANGUAGES
from bot.keyboards.common import languages, main_menu

router = Router(name=__name__)


def language_text() -> str:
    return _("🌐 Choose your language:")


@router.message(Command("language"))
async def cmd_language(message: Message, i18n: I18n) -> None:
    await message.answer(language_text(), reply_markup=languages(i18n.current_locale))


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.LANGUAGE))
async def on_language_menu(query: CallbackQuery, i18n: I18n) -> None:
    await query.answer()
    await show(query, language_text(), languages(i18n.current_locale))


@router.callback_query(LangCb.filter())
async def on_language_chosen(
    query: CallbackQuery, callback_data: LangCb, user: UserRow, users: UsersRepo, i18n: I18n
) -> None:
    if callback_data.code not in LANGUAGES:
        await query.answer(_("This language is not available."), show_alert=True)
        return
    await users.set_language(user.id, callback_data.code)
    with i18n.use_locale(callback_data.code):
        await query.answer(_("Language: English"))
        await show(query, _("Done! I will speak English from now on."), main_menu())
