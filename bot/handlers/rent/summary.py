"""Step 4: the Summary — everything the user pays for, and a Confirm with a single-use token."""

from __future__ import annotations

import time
from decimal import Decimal

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RentAction, RentCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import escape, local_datetime, money, number, period_label
from bot.handlers import pending
from bot.handlers.rent.countries import country_label
from bot.handlers.screen import show
from bot.handlers.upstream import balance_note, balance_short, catalog_key
from bot.keyboards import rent as kb
from bot.keyboards.common import only_home
from bot.periods import Period
from bot.services.renting import CONFIRM_KIND, RentPlan

router = Router(name=__name__)


async def summary_screen(
    user: UserRow, deps: Deps, country_code: str, service_code: str, period: Period
) -> tuple[str, InlineKeyboardMarkup] | str:
    """The Summary with a fresh single-use token, or why there is none. The token stores the total
    shown, so the Confirm can tell when the price or availability changed meanwhile."""
    country = await deps.catalog.country(country_code)
    # Priced with the user's key (as the period picker was): prices may depend on the account.
    service = await deps.catalog.service(
        country_code, service_code, period, apikey=await catalog_key(deps, user)
    )
    if country is None or service is None:
        return _("This service is no longer offered here. Please choose another one.")
    available = max(service.count, 0)
    total = service.price_day * period.days if available > 0 else Decimal(0)
    ends = local_datetime(time.time() + period.days * 86400, user.timezone)
    lines = [
        _("🧾 <b>Summary</b>"),
        "",
        _("Country: {country}").format(country=country_label(country)),
        _("Service: {service}").format(service=escape(service.name)),
        _("Period: {period} ({days} days)").format(period=period_label(period), days=number(period.days)),
        _("Ends about: {date} ({zone})").format(date=ends, zone=escape(user.timezone)),
        _("Available numbers: {count}").format(count=number(available)),
        _("Price per day: {price}").format(price=money(service.price_day)),
    ]
    if service.procent:
        lines.append(_("Discount for this period: {percent}%").format(percent=number(service.procent)))
    lines.append(_("<b>Total: {total}</b>").format(total=money(total)))
    # The balance (and a shortfall, with a top-up link) before the pay button, not after a refusal.
    lines += await balance_note(deps, user, total if available > 0 else None)
    lines.append("")
    lines.append(
        _(
            "SMSPVA assigns an always-active number when it has one, otherwise an on-demand number "
            "that you activate when needed (from about 10 minutes). Activate the number before "
            "sending an SMS to it."
        )
    )
    token: str | None = None
    if available > 0 and user.has_key:
        plan = RentPlan(country_code, service_code, service.name, period.dtype, period.dcount)
        token = await deps.confirmations.issue(
            user.id, CONFIRM_KIND, {**plan.to_payload(), "total": str(total)}
        )
    if available == 0:
        lines.append(_("No numbers are available right now, so it cannot be rented."))
    elif not user.has_key:
        lines.append(_("Link your SMSPVA API key to rent: <code>/key YOUR_KEY</code>"))
    short = token is not None and await balance_short(deps, user, total)
    markup = kb.summary(
        country_code,
        service_code,
        token,
        can_watch=available == 0,
        needs_key=available > 0 and not user.has_key,
        amount=total,
        top_up_url=deps.settings.top_up_url if short else None,
    )
    return "\n".join(lines), markup


@router.callback_query(RentCb.filter(F.action.in_({RentAction.PERIOD, RentAction.AGAIN})))
async def on_period(
    query: CallbackQuery, callback_data: RentCb, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    period = Period.parse(callback_data.dtype, callback_data.dcount)
    if period is None:
        await query.answer(_("This period is not offered (at most 90 days)."), show_alert=True)
        return
    await state.set_state(None)
    await query.answer()
    if not user.has_key:
        await pending.remember(state, query.data)  # linking the key brings this summary back
    screen = await summary_screen(user, deps, callback_data.country, callback_data.service, period)
    if isinstance(screen, str):
        await show(query, screen, only_home())
    else:
        await show(query, *screen)
