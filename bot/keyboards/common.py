"""Keyboards shared by many screens: the main menu, language choice, a lone Back button."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LangCb, MenuAction, MenuCb
from bot.formatting import back_arrow, forward_arrow, is_rtl, number
from bot.i18n import LANGUAGES


def main_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="📱 " + _("Rent a number"), callback_data=MenuCb(action=MenuAction.RENT))
    builder.button(text="📋 " + _("My numbers"), callback_data=MenuCb(action=MenuAction.ORDERS))
    builder.button(text="🗄 " + _("Archive"), callback_data=MenuCb(action=MenuAction.ARCHIVE))
    builder.button(text="⚙️ " + _("Settings"), callback_data=MenuCb(action=MenuAction.SETTINGS))
    builder.button(text="❓ " + _("Help"), callback_data=MenuCb(action=MenuAction.HELP))
    builder.adjust(1, 2, 2)
    return builder.as_markup()


def home_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text="🏠 " + _("Menu"), callback_data=MenuCb(action=MenuAction.HOME).pack())


def back_button(callback_data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=back_arrow() + " " + _("Back"), callback_data=callback_data)


def only_home() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[home_button()]])


def languages(current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGES.items():
        mark = "✅ " if code == current else ""
        builder.button(text=mark + name, callback_data=LangCb(code=code))
    builder.adjust(3)
    builder.row(home_button())
    return builder.as_markup()


def page_slice(count: int, page: int, size: int) -> tuple[int, int, int]:
    """Clamp a page number; return (page, pages, first index)."""
    pages = max(1, -(-count // size))
    page = min(max(page, 0), pages - 1)
    return page, pages, page * size


def nav_row(page: int, pages: int, callback_for: Callable[[int], str]) -> list[InlineKeyboardButton]:
    """◀️ 2/5 ▶️ — arrows only where there is somewhere to go. Mirrored in right-to-left locales
    (▶️ previous on the right, ◀️ next on the left): Telegram lays a row out left to right in every
    language (assumption: no client mirrors inline keyboards), so the row itself is reversed."""
    if pages <= 1:
        return []
    row: list[InlineKeyboardButton] = []
    if page > 0:
        row.append(InlineKeyboardButton(text=back_arrow(), callback_data=callback_for(page - 1)))
    counter = f"{number(page + 1)}/{number(pages)}"
    row.append(InlineKeyboardButton(text=counter, callback_data=callback_for(page)))
    if page < pages - 1:
        row.append(InlineKeyboardButton(text=forward_arrow(), callback_data=callback_for(page + 1)))
    return row[::-1] if is_rtl() else row
