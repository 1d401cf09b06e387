"""What nobody else handled: unknown commands, stray text, buttons from old messages."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards.common import main_menu

router = Router(name=__name__)


@router.message()
async def on_unknown_message(message: Message) -> None:
    await message.answer(
        _("I didn't understand that. Use the buttons below or /help."), reply_markup=main_menu()
    )


@router.callback_query()
async def on_unknown_callback(query: CallbackQuery, bot: Bot) -> None:
    # Buttons of an older bot version (other prefix) or forged data land here: nothing is acted upon.
    await query.answer(_("This button is outdated. Here is the menu."), show_alert=False)
    await bot.send_message(query.from_user.id, _("What would you like to do?"), reply_markup=main_menu())
