"""Keyboards shared by many screens: the main menu, language choice, a lone Back button."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LangCb, MenuAction, MenuCb, OrderAction, OrderCb, SettingsAction, SettingsCb
from bot.formatting import back_arrow, forward_arrow, is_rtl, number
from bot.i18n import LANGUAGES


def mirrored(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """Rows that read right to left in right-to-left locales (the first button on the right).
    Telegram has no right-to-left layout for keyboards: every client lays a row out left to right
    in every language, so bots for right-to-left languages reverse their rows themselves. Every
    keyboard in bot/keyboards goes through here; unchanged in left-to-right locales."""
    if not is_rtl():
        return markup
    return InlineKeyboardMarkup(inline_keyboard=[list(reversed(row)) for row in markup.inline_keyboard])


def link_key_button() -> InlineKeyboardButton:
    """Opens the paste prompt directly (the action the user was on resumes after linking)."""
    return InlineKeyboardButton(
        text="🔑 " + _("Link my SMSPVA key"), callback_data=SettingsCb(action=SettingsAction.KEY_LINK).pack()
    )


def need_key() -> InlineKeyboardMarkup:
    """Under "this needs your key": link it now, or go home."""
    return mirrored(InlineKeyboardMarkup(inline_keyboard=[[link_key_button()], [home_button()]]))


def main_menu(link_key: bool = False) -> InlineKeyboardMarkup:
    """`link_key`: a user without a key gets "Link my SMSPVA key" on top."""
    builder = InlineKeyboardBuilder()
    if link_key:
        builder.add(link_key_button())
    builder.button(text="📱 " + _("Rent a number"), callback_data=MenuCb(action=MenuAction.RENT))
    builder.button(text="📋 " + _("My numbers"), callback_data=MenuCb(action=MenuAction.ORDERS))
    builder.button(text="🗄 " + _("Archive"), callback_data=MenuCb(action=MenuAction.ARCHIVE))
    builder.button(text="⚙️ " + _("Settings"), callback_data=MenuCb(action=MenuAction.SETTINGS))
    builder.button(text="❓ " + _("Help"), callback_data=MenuCb(action=MenuAction.HELP))
    builder.adjust(*((1,) if link_key else ()), 1, 2, 2)
    return mirrored(builder.as_markup())


def home_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text="🏠 " + _("Menu"), callback_data=MenuCb(action=MenuAction.HOME).pack())


def back_button(callback_data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=back_arrow() + " " + _("Back"), callback_data=callback_data)


def only_home() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[home_button()]])


def my_numbers_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text="📋 " + _("My numbers"), callback_data=OrderCb(action=OrderAction.LIST).pack()
    )


def retry(callback_data: str) -> InlineKeyboardMarkup:
    """After an upstream failure: press the same button again, or go home."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="🔁 " + _("Try again"), callback_data=callback_data)],
            [home_button()],
        ]
    )


def after_unknown_failure(confirming: bool) -> InlineKeyboardMarkup:
    """After an unexpected error; a confirmation that may have gone through points at My numbers."""
    rows = [[my_numbers_button()]] if confirming else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [home_button()]])


def languages(current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGES.items():
        mark = "✅ " if code == current else ""
        builder.button(text=mark + name, callback_data=LangCb(code=code))
    builder.adjust(3)
    builder.row(home_button())
    return mirrored(builder.as_markup())


def page_slice(count: int, page: int, size: int) -> tuple[int, int, int]:
    """Clamp a page number; return (page, pages, first index)."""
    pages = max(1, -(-count // size))
    page = min(max(page, 0), pages - 1)
    return page, pages, page * size


def nav_row(page: int, pages: int, callback_for: Callable[[int], str]) -> list[InlineKeyboardButton]:
    """◀️ 2/5 ▶️ — arrows only where there is somewhere to go, in reading order (previous first).
    In right-to-left locales the arrows are mirrored, and the keyboard's mirrored() puts the row
    right to left: ◀️ next on the left, 3/5, ▶️ previous on the right."""
    if pages <= 1:
        return []
    row: list[InlineKeyboardButton] = []
    if page > 0:
        row.append(InlineKeyboardButton(text=back_arrow(), callback_data=callback_for(page - 1)))
    counter = f"{number(page + 1)}/{number(pages)}"
    row.append(InlineKeyboardButton(text=counter, callback_data=callback_for(page)))
    if page < pages - 1:
        row.append(InlineKeyboardButton(text=forward_arrow(), callback_data=callback_for(page + 1)))
    return row
