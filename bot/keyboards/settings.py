"""Keyboards of Settings: the overview, API key, time zones, expiry warnings, watches."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import (
    MenuAction,
    MenuCb,
    SettingsAction,
    SettingsCb,
    TzCb,
    TzRegionAction,
    TzRegionCb,
    WarnCb,
    WatchCb,
)
from bot.keyboards.common import back_button, home_button, mirrored


def overview(other_sms: bool) -> InlineKeyboardMarkup:
    """Short labels two a row; the long ones (in Russian above all) get a row of their own, so no
    label is cut off."""
    builder = InlineKeyboardBuilder()
    builder.button(text="🌐 " + _("Language"), callback_data=SettingsCb(action=SettingsAction.LANGUAGE))
    builder.button(text="🕒 " + _("Time zone"), callback_data=SettingsCb(action=SettingsAction.TIMEZONE))
    builder.button(text="🔑 " + _("API key"), callback_data=SettingsCb(action=SettingsAction.KEY))
    builder.button(text="🔔 " + _("Watches"), callback_data=SettingsCb(action=SettingsAction.WATCHES))
    builder.button(
        text=("✅ " if other_sms else "❌ ") + _("Other-service SMS"),
        callback_data=SettingsCb(action=SettingsAction.OTHER_SMS),
    )
    builder.button(
        text="⏰ " + _("Expiry warnings"), callback_data=SettingsCb(action=SettingsAction.WARNINGS)
    )
    builder.adjust(2, 2, 1, 1)
    builder.row(home_button())
    return mirrored(builder.as_markup())


def back_to_settings() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(back_button(MenuCb(action=MenuAction.SETTINGS).pack()), home_button())
    return mirrored(builder.as_markup())


def back_to_timezones() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(back_button(SettingsCb(action=SettingsAction.TIMEZONE).pack()), home_button())
    return mirrored(builder.as_markup())


def timezone_regions(regions: list[tuple[TzRegionAction, str]]) -> InlineKeyboardMarkup:
    """The time zone picker's first screen: UTC, then the regions."""
    builder = InlineKeyboardBuilder()
    builder.row(InlineKeyboardButton(text="UTC", callback_data=TzCb(zone="UTC").pack()))
    regions_grid = InlineKeyboardBuilder()
    for region, label in regions:
        regions_grid.button(text=label, callback_data=TzRegionCb(region=region))
    regions_grid.adjust(2)
    builder.attach(regions_grid)
    builder.row(back_button(MenuCb(action=MenuAction.SETTINGS).pack()), home_button())
    return mirrored(builder.as_markup())


def timezones(zones: list[tuple[str, str]], *, offsets: bool) -> InlineKeyboardMarkup:
    """A region's zones, (IANA name, label) each; `offsets`: the short UTC±N labels, 4 a row."""
    builder = InlineKeyboardBuilder()
    for name, label in zones:
        builder.button(text=label, callback_data=TzCb(zone=name))
    builder.adjust(4 if offsets else 2)
    builder.row(back_button(SettingsCb(action=SettingsAction.TIMEZONE).pack()), home_button())
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
