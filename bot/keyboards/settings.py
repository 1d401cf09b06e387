"""Keyboards of Settings: the overview, API key, time zones, expiry warnings, watches."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuAction, MenuCb, SettingsAction, SettingsCb, TzCb, WarnCb, WatchCb
from bot.keyboards.common import back_button, home_button, mirrored


def overview(other_sms: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="🌐 " + _("Language"), callback_data=SettingsCb(action=SettingsAction.LANGUAGE))
    builder.button(text="🕒 " + _("Time zone"), callback_data=SettingsCb(action=SettingsAction.TIMEZONE))
    builder.button(text="🔑 " + _("API key"), callback_data=SettingsCb(action=SettingsAction.KEY))
    builder.button(
        text=("✅ " if other_sms else "❌ ") + _("Other-service SMS"),
        callback_data=SettingsCb(action=SettingsAction.OTHER_SMS),
    )
    builder.button(
        text="⏰ " + _("Expiry warnings"), callback_data=SettingsCb(action=SettingsAction.WARNINGS)
    )
    builder.button(text="🔔 " + _("Watches"), callback_data=SettingsCb(action=SettingsAction.WATCHES))
    builder.adjust(2)
    builder.row(home_button())
    return mirrored(builder.as_markup())


def back_to_settings() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(back_button(MenuCb(action=MenuAction.SETTINGS).pack()))
    return mirrored(builder.as_markup())


def timezones(common: tuple[str, ...], offsets: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for name in common:
        builder.button(text=name, callback_data=TzCb(zone=name))
    for name, label in offsets:
        builder.button(text=label, callback_data=TzCb(zone=name))
    builder.adjust(*([2] * (len(common) // 2)), *([4] * 6))
    builder.row(back_button(MenuCb(action=MenuAction.SETTINGS).pack()))
    return mirrored(builder.as_markup())


def watches(entries: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    """entries: (watch id, button label) of each watch that can be stopped."""
    builder = InlineKeyboardBuilder()
    for watch_id, label in entries:
        builder.button(text="✖️ " + label, callback_data=WatchCb(watch_id=watch_id))
    builder.adjust(1)
    builder.row(back_button(MenuCb(action=MenuAction.SETTINGS).pack()))
    return mirrored(builder.as_markup())


def warnings(entries: list[tuple[int, str, bool]]) -> InlineKeyboardMarkup:
    """entries: (hours, label, switched on) per threshold."""
    builder = InlineKeyboardBuilder()
    for hours, label, on in entries:
        builder.button(text=("✅ " if on else "❌ ") + label, callback_data=WarnCb(hours=hours))
    builder.adjust(1)
    builder.row(back_button(MenuCb(action=MenuAction.SETTINGS).pack()))
    return mirrored(builder.as_markup())


def api_key(linked: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if linked:
        builder.button(text=_("Replace"), callback_data=SettingsCb(action=SettingsAction.KEY_REPLACE))
        builder.button(text=_("Unlink"), callback_data=SettingsCb(action=SettingsAction.KEY_UNLINK))
    else:
        builder.button(text=_("Link a key"), callback_data=SettingsCb(action=SettingsAction.KEY_REPLACE))
    builder.adjust(2)
    builder.row(back_button(MenuCb(action=MenuAction.SETTINGS).pack()))
    return mirrored(builder.as_markup())


def key_prompt(api_key_url: str) -> InlineKeyboardMarkup:
    """Under the paste prompt and its error replies: where the key is found, Cancel, Menu."""
    builder = InlineKeyboardBuilder()
    builder.row(InlineKeyboardButton(text="🔗 " + _("Where to find the key"), url=api_key_url))
    builder.row(
        InlineKeyboardButton(
            text="✖️ " + _("Cancel"), callback_data=SettingsCb(action=SettingsAction.KEY_CANCEL).pack()
        ),
        home_button(),
    )
    return mirrored(builder.as_markup())


def back_to_key() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(back_button(SettingsCb(action=SettingsAction.KEY).pack()))
    return mirrored(builder.as_markup())


def unlink_confirm() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, unlink"), callback_data=SettingsCb(action=SettingsAction.KEY_UNLINK_CONFIRM))
    builder.row(back_button(SettingsCb(action=SettingsAction.KEY).pack()))
    return mirrored(builder.as_markup())


def key_linked() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="📱 " + _("Rent a number"), callback_data=MenuCb(action=MenuAction.RENT))
    builder.button(text="📋 " + _("My numbers"), callback_data=MenuCb(action=MenuAction.ORDERS))
    builder.row(home_button())
    return mirrored(builder.as_markup())
