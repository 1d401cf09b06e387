"""Settings: language, time zone, API key, other-services SMS."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callbacks import (
    MenuAction,
    MenuCb,
    SettingsAction,
    SettingsCb,
    TzCb,
    TzRegionAction,
    TzRegionCb,
    WarnCb,
)
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import (
    current_locale,
    escape,
    local_datetime,
    masked_key,
)
from bot.handlers.screen import show
from bot.i18n import LANGUAGES
from bot.keyboards import settings as kb

router = Router(name=__name__)

# The time zone picker: regions first, then a region's common zones (or whole-hour UTC offsets);
# any other IANA name can be typed.
REGION_ZONES: dict[TzRegionAction, tuple[str, ...]] = {
    TzRegionAction.EUROPE: (
        "Europe/London",
        "Europe/Paris",
        "Europe/Berlin",
        "Europe/Madrid",
        "Europe/Warsaw",
        "Europe/Kyiv",
        "Europe/Istanbul",
        "Europe/Moscow",
    ),
    TzRegionAction.ASIA: (
        "Asia/Dubai",
        "Asia/Riyadh",
        "Asia/Tehran",
        "Asia/Karachi",
        "Asia/Tashkent",
        "Asia/Almaty",
        "Asia/Kolkata",
        "Asia/Jakarta",
        "Asia/Shanghai",
        "Asia/Tokyo",
    ),
    TzRegionAction.AFRICA: (
        "Africa/Casablanca",
        "Africa/Lagos",
        "Africa/Cairo",
        "Africa/Johannesburg",
        "Africa/Nairobi",
    ),
    TzRegionAction.AMERICAS: (
        "America/Los_Angeles",
        "America/Denver",
        "America/Chicago",
        "America/Mexico_City",
        "America/New_York",
        "America/Bogota",
        "America/Sao_Paulo",
        "America/Argentina/Buenos_Aires",
    ),
    TzRegionAction.OCEANIA: ("Australia/Perth", "Australia/Sydney", "Pacific/Auckland"),
}
# "Etc/GMT-3" is UTC+3: the POSIX sign is inverted. Whole-hour offsets cover everyone else.
OFFSET_ZONES: tuple[tuple[str, str], ...] = tuple(
    (f"Etc/GMT{-hours:+d}" if hours else "Etc/UTC", f"UTC{hours:+d}") for hours in range(-11, 13)
)


class TzForm(StatesGroup):
    waiting = State()


def zone_label(name: str) -> str:
    for zone_name, label in OFFSET_ZONES:
        if zone_name == name:
            return label
    return name


def settings_screen(user: UserRow) -> tuple[str, InlineKeyboardMarkup]:
    key_line = masked_key(user.api_key_last4) if user.has_key and user.api_key_last4 else _("not linked")
    lines = [
        _("⚙️ <b>Settings</b>"),
        "",
        _("Language: {language}").format(language=LANGUAGES.get(current_locale(), current_locale())),
        _("Time zone: {zone} (now {now})").format(
            zone=zone_label(user.timezone), now=local_datetime(time.time(), user.timezone)
        ),
        _("API key: {key}").format(key=key_line),
        _("SMS for other services: {state}").format(state=_("on") if user.other_sms else _("off")),
    ]
    return "\n".join(lines), kb.overview(user.other_sms)


@router.message(Command("settings"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.SETTINGS))
async def open_settings(event: Message | CallbackQuery, user: UserRow, state: FSMContext) -> None:
    await state.clear()
    if isinstance(event, CallbackQuery):
        await event.answer()
    await show(event, *settings_screen(user))


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.OTHER_SMS))
async def on_other_sms(query: CallbackQuery, user: UserRow, deps: Deps) -> None:
    await deps.users.set_other_sms(user.id, not user.other_sms)
    refreshed = await deps.users.get(user.id) or user
    await query.answer(_("Saved."))
    text, markup = settings_screen(refreshed)
    await show(query, text, markup)


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.TIMEZONE))
async def on_timezone_menu(query: CallbackQuery, user: UserRow, state: FSMContext) -> None:
    await state.set_state(TzForm.waiting)
    await query.answer()
    text = _(
        "🕒 Your time zone is <b>{zone}</b>. Pick one below, or type its IANA name "
        "(for example <code>Europe/Istanbul</code> or <code>Asia/Tashkent</code>)."
    ).format(zone=zone_label(user.timezone))
    await show(query, text, kb.timezone_regions(region_labels()))


def region_labels() -> list[tuple[TzRegionAction, str]]:
    return [
        (TzRegionAction.EUROPE, "🌍 " + _("Europe")),
        (TzRegionAction.ASIA, "🌏 " + _("Asia")),
        (TzRegionAction.AFRICA, "🌍 " + _("Africa")),
        (TzRegionAction.AMERICAS, "🌎 " + _("Americas")),
        (TzRegionAction.OCEANIA, "🌏 " + _("Oceania")),
        (TzRegionAction.OFFSETS, "🕒 " + _("UTC offsets")),
    ]


def zone_button(name: str) -> str:
    """ "Berlin (UTC+1)": the city, and its offset today."""
    city = name.rsplit("/", 1)[-1].replace("_", " ")
    offset = datetime.now(ZoneInfo(name)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    shown = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    return f"{city} ({shown})"


@router.callback_query(TzRegionCb.filter())
async def on_timezone_region(query: CallbackQuery, callback_data: TzRegionCb, user: UserRow) -> None:
    await query.answer()
    if callback_data.region == TzRegionAction.OFFSETS:
        zones = list(OFFSET_ZONES)
    else:
        zones = [(name, zone_button(name)) for name in REGION_ZONES.get(callback_data.region, ())]
    text = _("🕒 Your time zone is <b>{zone}</b>. Pick one below, or type its IANA name.").format(
        zone=zone_label(user.timezone)
    )
    await show(query, text, kb.timezones(zones, offsets=callback_data.region == TzRegionAction.OFFSETS))


async def _save_zone(user: UserRow, deps: Deps, name: str) -> str:
    await deps.users.set_timezone(user.id, name)
    return _("Time zone set to {zone}. Local time now: {now}.").format(
        zone=zone_label(name), now=local_datetime(time.time(), name)
    )


@router.callback_query(TzCb.filter())
async def on_timezone_chosen(
    query: CallbackQuery, callback_data: TzCb, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    if callback_data.zone not in available_timezones():
        await query.answer(_("Unknown time zone."), show_alert=True)
        return
    await state.clear()
    await query.answer(await _save_zone(user, deps, callback_data.zone))
    refreshed = await deps.users.get(user.id) or user
    text, markup = settings_screen(refreshed)
    await show(query, text, markup)


def _resolve_zone(typed: str) -> str | None:
    """Case-insensitive IANA lookup: "europe/istanbul" -> "Europe/Istanbul"."""
    cleaned = typed.strip().replace(" ", "_")
    by_lower = {name.lower(): name for name in available_timezones()}
    name = by_lower.get(cleaned.lower())
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return None
    return name


@router.message(TzForm.waiting, F.text, ~F.text.startswith("/"))
async def on_timezone_typed(message: Message, user: UserRow, deps: Deps, state: FSMContext) -> None:
    name = _resolve_zone(message.text or "")
    if name is None:
        await message.answer(
            _("I don't know the time zone «{typed}». Try a name like <code>Europe/Paris</code>.").format(
                typed=escape((message.text or "")[:64])
            ),
            reply_markup=kb.back_to_timezones(),
        )
        return
    await state.clear()
    await message.answer(await _save_zone(user, deps, name), reply_markup=kb.back_to_settings())


def threshold_label(hours: int) -> str:
    if hours % 24 == 0:
        days = hours // 24
        return ngettext("{count} day before", "{count} days before", days).format(count=days)
    return ngettext("{count} hour before", "{count} hours before", hours).format(count=hours)


def warnings_screen(user: UserRow, thresholds: tuple[int, ...]) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "⏰ <b>Expiry warnings</b>\n\nI warn you before a rental ends, with a Prolong button, and once after it "
        "ends, with Restore. Tap a threshold to switch it on or off."
    )
    entries = [(hours, threshold_label(hours), hours not in user.warn_off) for hours in thresholds]
    return text, kb.warnings(entries)


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.WARNINGS))
async def on_warnings(query: CallbackQuery, user: UserRow, deps: Deps) -> None:
    await query.answer()
    await show(query, *warnings_screen(user, deps.settings.expiry_warn_hours))


@router.callback_query(WarnCb.filter())
async def on_warning_toggle(query: CallbackQuery, callback_data: WarnCb, user: UserRow, deps: Deps) -> None:
    if callback_data.hours not in deps.settings.expiry_warn_hours:
        await query.answer(_("This button is outdated."), show_alert=True)
        return
    off = set(user.warn_off) ^ {callback_data.hours}
    await deps.users.set_warn_off(user.id, frozenset(off))
    await query.answer(_("Saved."))
    refreshed = await deps.users.get(user.id) or user
    await show(query, *warnings_screen(refreshed, deps.settings.expiry_warn_hours))
