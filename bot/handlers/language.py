"""/language: switch the bot's language (saved per user)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LangCb, SettingsAction, SettingsCb
from bot.db import UserRow
from bot.deps import Deps
from bot.handlers.screen import show
from bot.i18n import LANGUAGES
from bot.keyboards.common import languages, main_menu

router = Router(name=__name__)


def language_text() -> str:
    return _("🌐 Choose your language:")


@router.message(Command("language"))
@router.callback_query(SettingsCb.filter(F.action == SettingsAction.LANGUAGE))
async def open_language(event: Message | CallbackQuery, deps: Deps) -> None:
    if isinstance(event, CallbackQuery):
        await event.answer()
    await show(event, language_text(), languages(deps.i18n.current_locale))


@router.callback_query(LangCb.filter())
async def on_language_chosen(query: CallbackQuery, callback_data: LangCb, user: UserRow, deps: Deps) -> None:
    if callback_data.code not in LANGUAGES:
        await query.answer(_("This language is not available."), show_alert=True)
        return
    await deps.users.set_language(user.id, callback_data.code)
    with deps.i18n.use_locale(callback_data.code):
        await query.answer(_("Language: English"))
        await show(query, _("Done! I will speak English from now on."), main_menu())
