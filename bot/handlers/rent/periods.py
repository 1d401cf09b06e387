"""Step 3: the rental periods -- 1-4 weeks and 1-3 months first, each with its total and price per
day and the best value starred, the rest under "More"; a service with no free numbers offers a watch."""

from __future__ import annotations

import asyncio
import secrets

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RentAction, RentCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import escape, local_date, money, number, period_label
from bot.handlers.rent.countries import country_label
from bot.handlers.screen import show
from bot.handlers.upstream import catalog_key
from bot.keyboards import rent as kb
from bot.keyboards.common import only_home
from bot.periods import ALL_PERIODS
from bot.popular import FIRST_PERIODS, period_picker
from bot.smspva import Country, Service

router = Router(name=__name__)

MORE_PERIODS = tuple(period for period in ALL_PERIODS if period not in FIRST_PERIODS)
# FSM data: which period screen is being priced (Back, Menu and commands drop it, see below).
PRICING = "pricing"
PRICING_QUIET_SECONDS = 0.5  # prices in by then (the cache, a fast SMSPVA): no "one moment" screen


async def _services_back(state: FSMContext, country_code: str) -> str:
    """Back from the periods: the page of services the user came from."""
    data = await state.get_data()
    page = int(data.get("services_page", 0) or 0) if data.get("country") == country_code else 0
    return RentCb(action=RentAction.SERVICES, country=country_code, page=page).pack()


async def render_unavailable(
    event: CallbackQuery, user: UserRow, deps: Deps, country: Country, service: Service, back: str
) -> None:
    """No free numbers: "Notify me", and once it is on, says so and offers to switch it off."""
    watch = next(
        (
            w
            for w in await deps.choices.watches_for_user(user.id)
            if w.country == country.code and w.service == service.code
        ),
        None,
    )
    text = _(
        "😔 <b>{service}</b> has no free numbers in {country} right now.\n\n"
        "I can tell you as soon as numbers appear (I check every minute for 7 days)."
    ).format(service=escape(service.name), country=country_label(country))
    if watch is not None:
        text += "\n\n" + _("🔔 Notifications are on until {date}. You can switch them off below.").format(
            date=local_date(watch.expires_at, user.timezone)
        )
    await show(event, text, kb.unavailable(country.code, service.code, watching=watch is not None, back=back))


async def render_periods(
    event: CallbackQuery,
    user: UserRow,
    deps: Deps,
    state: FSMContext,
    country_code: str,
    service_code: str,
    *,
    more: bool = False,
) -> None:
    apikey = await catalog_key(deps, user)
    country = await deps.catalog.country(country_code)
    service = await deps.catalog.service(country_code, service_code, apikey=apikey)
    if country is None or service is None:
        await show(
            event, _("This service is no longer offered here. Please choose another one."), only_home()
        )
        return
    services_back = await _services_back(state, country_code)
    if service.count <= 0:
        await render_unavailable(event, user, deps, country, service, services_back)
        return
    # Only the periods on screen are priced (one getdata each, paced per key): 7 at first.
    periods = MORE_PERIODS if more else FIRST_PERIODS
    # "More" goes back to the first periods; the first periods to the page of services.
    first_periods = RentCb(action=RentAction.SERVICE, country=country_code, service=service_code).pack()
    back = first_periods if more else services_back
    pricing = asyncio.ensure_future(
        deps.catalog.period_prices(country_code, service_code, apikey=apikey, periods=periods)
    )
    try:
        prices = await asyncio.wait_for(asyncio.shield(pricing), PRICING_QUIET_SECONDS)
    except asyncio.CancelledError:
        pricing.cancel()  # shutting down: nobody waits for these prices
        raise
    except TimeoutError:
        # A cold cache: the paced calls take seconds (one per period per key interval), so say so,
        # with only Back and Menu to press meanwhile.
        nonce = secrets.token_hex(4)
        await state.update_data({PRICING: nonce})
        await show(event, _("⏳ Getting today's prices for each period from SMSPVA…"), kb.pricing(back))
        prices = await pricing
        if (await state.get_data()).get(PRICING) != nonce:
            return  # the user went Back or to the Menu meanwhile: that screen stays
    picker = period_picker(
        (period, entry.price_day * period.days if entry is not None else None)
        for period, entry in prices.items()
    )
    lines = [
        _("{country} · <b>{service}</b>\n{count} numbers available.").format(
            country=country_label(country), service=escape(service.name), count=number(service.count)
        ),
        "",
        _("Choose the rental period (at most 90 days): the total, and the price per day."),
    ]
    best = picker.best
    if best is not None and best.per_day is not None:
        lines.append(
            _("⭐ Best value: {period}, {price} per day.").format(
                period=period_label(best.period), price=money(best.per_day)
            )
        )
    options = picker.more if more else picker.first
    markup = kb.periods(country_code, service_code, options, more=not more, back=back)
    await show(event, "\n".join(lines), markup)


@router.callback_query(RentCb.filter(F.action.in_({RentAction.SERVICE, RentAction.MORE_PERIODS})))
async def on_service(
    query: CallbackQuery, callback_data: RentCb, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    await state.set_state(None)  # search applies to the service list only
    await query.answer()
    more = callback_data.action == RentAction.MORE_PERIODS
    await render_periods(query, user, deps, state, callback_data.country, callback_data.service, more=more)


@router.callback_query(RentCb.filter(F.action.in_({RentAction.WATCH, RentAction.UNWATCH})))
async def on_watch(
    query: CallbackQuery, callback_data: RentCb, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    country = await deps.catalog.country(callback_data.country)
    service = await deps.catalog.service(
        callback_data.country, callback_data.service, apikey=await catalog_key(deps, user)
    )
    if country is None or service is None:
        await query.answer(_("This service is no longer offered here."), show_alert=True)
        return
    if callback_data.action == RentAction.WATCH:
        await deps.choices.add_watch(user.id, country.code, service.code, service.name)
        await query.answer(
            _("🔔 I'll message you when {service} numbers appear.").format(service=service.name)
        )
    else:
        for watch in await deps.choices.watches_for_user(user.id):
            if watch.country == country.code and watch.service == service.code:
                await deps.choices.delete_watch(watch.id, user.id)
        await query.answer(_("🔕 Notifications switched off."))
    # The screen now says whether it is on, with the way to switch it (the summary's or a failed
    # rental's "Notify me" lands here too: with no free numbers there is nothing else to do there).
    await render_unavailable(query, user, deps, country, service, await _services_back(state, country.code))
