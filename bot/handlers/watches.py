"""Settings -> Notify me: the watches a user set on sold-out services, listed and cancelled."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import SettingsAction, SettingsCb, WatchCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import country_name, escape, flag, local_date
from bot.handlers.screen import show
from bot.keyboards import settings as kb
from bot.smspva import SmspvaError, SmspvaUnavailable

router = Router(name=__name__)


async def _api_country_name(deps: Deps, code: str) -> str:
    """SMSPVA's own name for a code Babel does not know (the code itself if the list is unreachable)."""
    try:
        country = await deps.catalog.country(code)
    except (SmspvaError, SmspvaUnavailable):
        return code
    return country.name if country and country.name else code


async def watches_screen(user: UserRow, deps: Deps) -> tuple[str, InlineKeyboardMarkup]:
    watches = await deps.choices.watches_for_user(user.id)
    stoppable: list[tuple[int, str]] = []
    if not watches:
        text = _(
            "🔔 <b>Watches</b>\n\nYou are not waiting for any service. When a service has no free numbers, "
            "tap “Notify me when available” and I will message you when numbers appear."
        )
    else:
        lines = [_("🔔 <b>Watches</b>"), "", _("I will message you when these get free numbers:")]
        for watch in watches:
            # By name in the user's language, not SMSPVA's codes.
            country = country_name(watch.country, await _api_country_name(deps, watch.country))
            lines.append(
                _("• {service} — {country}, until {date}").format(
                    service=escape(watch.service_name),
                    country=f"{flag(watch.country)} {escape(country)}",
                    date=local_date(watch.expires_at, user.timezone),
                )
            )
            label = _("Stop: {service} ({country})").format(service=watch.service_name, country=country)
            stoppable.append((watch.id, label))
        text = "\n".join(lines)
    return text, kb.watches(stoppable)


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.WATCHES))
async def on_watches(query: CallbackQuery, user: UserRow, deps: Deps) -> None:
    await query.answer()
    await show(query, *(await watches_screen(user, deps)))


@router.callback_query(WatchCb.filter())
async def on_watch_cancel(query: CallbackQuery, callback_data: WatchCb, user: UserRow, deps: Deps) -> None:
    # The id comes from the client: deleting is scoped to this user's own watches.
    removed = await deps.choices.delete_watch(callback_data.watch_id, user.id)
    await query.answer(_("Stopped.") if removed else _("This watch was already gone."))
    await show(query, *(await watches_screen(user, deps)))
