"""Step 3: the rental periods, each with its total; a service with no free numbers offers a watch."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RentAction, RentCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import escape, number
from bot.handlers.rent.countries import country_label
from bot.handlers.screen import show
from bot.keyboards import rent as kb
from bot.keyboards.common import only_home

router = Router(name=__name__)


async def render_periods(event: CallbackQuery, deps: Deps, country_code: str, service_code: str) -> None:
    country = await deps.catalog.country(country_code)
    service = await deps.catalog.service(country_code, service_code)
    if country is None or service is None:
        await show(
            event, _("This service is no longer offered here. Please choose another one."), only_home()
        )
        return
    if service.count <= 0:
        text = _(
            "😔 <b>{service}</b> has no free numbers in {country} right now.\n\n"
            "I can tell you as soon as numbers appear (I check every minute for 7 days)."
        ).format(service=escape(service.name), country=country_label(country))
        await show(event, text, kb.unavailable(country_code, service_code))
        return
    prices = await deps.catalog.period_prices(country_code, service_code)
    totals = [
        (period, entry.price_day * period.days if entry is not None else None)
        for period, entry in prices.items()
    ]
    text = _(
        "{country} · <b>{service}</b>\n{count} numbers available.\n\n"
        "Choose the rental period (at most 90 days). Longer periods may cost less per day."
    ).format(country=country_label(country), service=escape(service.name), count=number(service.count))
    await show(event, text, kb.periods(country_code, service_code, totals))


@router.callback_query(RentCb.filter(F.action == RentAction.SERVICE))
async def on_service(query: CallbackQuery, callback_data: RentCb, deps: Deps, state: FSMContext) -> None:
    await state.set_state(None)  # search applies to the service list only
    await query.answer()
    await render_periods(query, deps, callback_data.country, callback_data.service)


@router.callback_query(RentCb.filter(F.action == RentAction.WATCH))
async def on_watch(query: CallbackQuery, callback_data: RentCb, user: UserRow, deps: Deps) -> None:
    service = await deps.catalog.service(callback_data.country, callback_data.service)
    if service is None:
        await query.answer(_("This service is no longer offered here."), show_alert=True)
        return
    await deps.choices.add_watch(user.id, callback_data.country, service.code, service.name)
    await query.answer(
        _("🔔 I'll message you when {service} numbers appear (for 7 days). Manage it in Settings.").format(
            service=service.name
        ),
        show_alert=True,
    )
