"""Renting a number: country → service (searchable) → period → summary → one `create`."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuAction, MenuCb, OrderAction, OrderCb, RentAction, RentCb
from bot.db import UserRow, UsersRepo
from bot.db.choices import ChoicesRepo
from bot.db.confirmations import Confirmation, ConfirmationsRepo
from bot.formatting import country_name, escape, flag, local_datetime, money, number, phone_html
from bot.handlers.confirm import executor
from bot.handlers.screen import show
from bot.keyboards import rent as kb
from bot.keyboards.common import home_button, only_home
from bot.messages import SUPPORT_URL, upstream_error
from bot.periods import Period
from bot.services.catalog import Catalog
from bot.services.poller import SmsPoller
from bot.services.renting import CONFIRM_KIND, Renter, RentOutcome, RentPlan, RentStatus
from bot.smspva import Country, ErrorKind, Service, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)


class RentForm(StatesGroup):
    services = State()  # a service list is open: typed text searches it


def country_label(country: Country) -> str:
    """For HTML texts: the name may be SMSPVA's own, so it is escaped (buttons take plain text)."""
    return f"{flag(country.code)} {escape(country_name(country.code, country.name))}"


# --- 1. countries ------------------------------------------------------------------------------


async def render_countries(
    event: Message | CallbackQuery, user: UserRow, catalog: Catalog, choices: ChoicesRepo, page: int
) -> None:
    try:
        all_countries = await catalog.countries()
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(event, upstream_error(error), only_home())
        return
    recent = await choices.recent_countries(user.id)
    order = {code: index for index, code in enumerate(recent)}
    labelled = [(c.code, f"{flag(c.code)} {country_name(c.code, c.name)}") for c in all_countries]  # buttons
    labelled.sort(key=lambda item: (order.get(item[0], len(order)), item[1].split(" ", 1)[-1].casefold()))
    again: list[tuple[str, RentCb]] = []
    by_code = {c.code: c for c in all_countries}
    for choice in await choices.recent(user.id):
        period = Period.parse(choice.dtype, choice.dcount)
        country = by_code.get(choice.country)
        if period is None or country is None:
            continue
        service = await _cached_service_name(catalog, choice.country, choice.service)
        label = f"{service} · {country_name(country.code, country.name)} · {kb.period_label(period)}"
        again.append(
            (
                label,
                RentCb(
                    action=RentAction.AGAIN,
                    country=choice.country,
                    service=choice.service,
                    dtype=choice.dtype,
                    dcount=choice.dcount,
                ),
            )
        )
    text = _("📱 <b>Rent a number</b>\n\nChoose a country.")
    if again:
        text += "\n" + _("🔁 Or repeat one of your recent rentals.")
    await show(event, text, kb.countries(labelled, page, again))


async def _cached_service_name(catalog: Catalog, country: str, code: str) -> str:
    try:
        service = await catalog.service(country, code)
    except (SmspvaError, SmspvaUnavailable):
        return code
    return service.name if service else code


@router.message(Command("rent"))
async def cmd_rent(
    message: Message, user: UserRow, catalog: Catalog, choices: ChoicesRepo, state: FSMContext
) -> None:
    await state.clear()
    await render_countries(message, user, catalog, choices, 0)


@router.callback_query(MenuCb.filter(F.action == MenuAction.RENT))
async def on_menu_rent(
    query: CallbackQuery, user: UserRow, catalog: Catalog, choices: ChoicesRepo, state: FSMContext
) -> None:
    await state.clear()
    await query.answer()
    await render_countries(query, user, catalog, choices, 0)


@router.callback_query(RentCb.filter(F.action == RentAction.COUNTRIES))
async def on_countries_page(
    query: CallbackQuery,
    callback_data: RentCb,
    user: UserRow,
    catalog: Catalog,
    choices: ChoicesRepo,
    state: FSMContext,
) -> None:
    await state.clear()
    await query.answer()
    await render_countries(query, user, catalog, choices, callback_data.page)


# --- 2. services (with search) -----------------------------------------------------------------


def _sorted_services(items: list[Service], query: str) -> list[Service]:
    needle = query.casefold().strip()
    chosen = [s for s in items if needle in s.name.casefold()] if needle else list(items)
    # Rentable first, then by name, as a person scanning the list expects.
    chosen.sort(key=lambda s: (s.count <= 0, s.name.casefold()))
    return chosen


async def render_services(
    event: Message | CallbackQuery, catalog: Catalog, state: FSMContext, country_code: str, page: int
) -> None:
    data = await state.get_data()
    query = str(data.get("query", "")) if data.get("country") == country_code else ""
    await state.set_state(RentForm.services)
    await state.update_data(country=country_code, query=query)
    try:
        country = await catalog.country(country_code)
        listing = await catalog.services(country_code)
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(event, upstream_error(error), only_home())
        return
    if country is None:
        await show(event, _("This country is no longer offered. Please choose another one."), only_home())
        return
    items = _sorted_services(listing.services, query)
    lines = [
        _("{country} — choose a service.").format(country=country_label(country)),
        _("Price per day for a 1-week rental, and numbers available. Type a name to search."),
    ]
    if query:
        lines.append(
            _("🔎 Search: «{query}» — {count} found.").format(query=escape(query), count=number(len(items)))
        )
    lines.append("")
    lines.append(_("Didn't find the service you need? Write to support and it will be added the same day."))
    markup = kb.services(country_code, items, page, searching=bool(query), support_url=SUPPORT_URL)
    await show(event, "\n".join(lines), markup)


@router.callback_query(RentCb.filter(F.action == RentAction.COUNTRY))
async def on_country(
    query: CallbackQuery, callback_data: RentCb, catalog: Catalog, state: FSMContext
) -> None:
    await query.answer()
    await render_services(query, catalog, state, callback_data.country, 0)


@router.callback_query(RentCb.filter(F.action == RentAction.SERVICES))
async def on_services_page(
    query: CallbackQuery, callback_data: RentCb, catalog: Catalog, state: FSMContext
) -> None:
    await query.answer()
    await render_services(query, catalog, state, callback_data.country, callback_data.page)


@router.callback_query(RentCb.filter(F.action == RentAction.SEARCH_CLEAR))
async def on_search_clear(
    query: CallbackQuery, callback_data: RentCb, catalog: Catalog, state: FSMContext
) -> None:
    await state.update_data(query="")
    await query.answer()
    await render_services(query, catalog, state, callback_data.country, 0)


@router.message(RentForm.services, F.text, ~F.text.startswith("/"))
async def on_search_typed(message: Message, catalog: Catalog, state: FSMContext) -> None:
    data = await state.get_data()
    country = str(data.get("country", ""))
    await state.update_data(query=(message.text or "")[:64])
    await render_services(message, catalog, state, country, 0)


# --- 3. periods --------------------------------------------------------------------------------


async def render_periods(
    event: CallbackQuery, catalog: Catalog, country_code: str, service_code: str
) -> None:
    try:
        country = await catalog.country(country_code)
        service = await catalog.service(country_code, service_code)
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(event, upstream_error(error), only_home())
        return
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
    try:
        prices = await catalog.period_prices(country_code, service_code)
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(event, upstream_error(error), only_home())
        return
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
async def on_service(
    query: CallbackQuery, callback_data: RentCb, catalog: Catalog, state: FSMContext
) -> None:
    await state.set_state(None)  # search applies to the service list only
    await query.answer()
    await render_periods(query, catalog, callback_data.country, callback_data.service)


# --- 4. summary --------------------------------------------------------------------------------


async def summary_screen(
    user: UserRow,
    catalog: Catalog,
    confirmations: ConfirmationsRepo,
    country_code: str,
    service_code: str,
    period: Period,
) -> tuple[str, InlineKeyboardMarkup] | str:
    """The Summary with a fresh single-use token, or an error text."""
    try:
        country = await catalog.country(country_code)
        service = await catalog.service(country_code, service_code, period)
    except (SmspvaError, SmspvaUnavailable) as error:
        return upstream_error(error)
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
        _("Period: {period} ({days} days)").format(period=kb.period_label(period), days=number(period.days)),
        _("Ends about: {date} ({zone})").format(date=ends, zone=escape(user.timezone)),
        _("Available numbers: {count}").format(count=number(available)),
        _("Price per day: {price}").format(price=money(service.price_day)),
    ]
    if service.procent:
        lines.append(_("Discount for this period: {percent}%").format(percent=number(service.procent)))
    lines.append(_("<b>Total: {total}</b>").format(total=money(total)))
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
        token = await confirmations.issue(user.id, CONFIRM_KIND, plan.to_payload())
    if available == 0:
        lines.append(_("No numbers are available right now, so it cannot be rented."))
    elif not user.has_key:
        lines.append(_("Link your SMSPVA API key to rent: <code>/key YOUR_KEY</code>"))
    markup = kb.summary(
        country_code,
        service_code,
        token,
        can_watch=available == 0,
        needs_key=available > 0 and not user.has_key,
    )
    return "\n".join(lines), markup


async def _show_summary(
    query: CallbackQuery,
    callback_data: RentCb,
    user: UserRow,
    catalog: Catalog,
    confirmations: ConfirmationsRepo,
    state: FSMContext,
) -> None:
    period = Period.parse(callback_data.dtype, callback_data.dcount)
    if period is None:
        await query.answer(_("This period is not offered (at most 90 days)."), show_alert=True)
        return
    await state.set_state(None)
    await query.answer()
    screen = await summary_screen(
        user, catalog, confirmations, callback_data.country, callback_data.service, period
    )
    if isinstance(screen, str):
        await show(query, screen, only_home())
    else:
        await show(query, *screen)


@router.callback_query(RentCb.filter(F.action.in_({RentAction.PERIOD, RentAction.AGAIN})))
async def on_period(
    query: CallbackQuery,
    callback_data: RentCb,
    user: UserRow,
    catalog: Catalog,
    confirmations: ConfirmationsRepo,
    state: FSMContext,
) -> None:
    await _show_summary(query, callback_data, user, catalog, confirmations, state)


# --- watches -----------------------------------------------------------------------------------


@router.callback_query(RentCb.filter(F.action == RentAction.WATCH))
async def on_watch(
    query: CallbackQuery, callback_data: RentCb, user: UserRow, catalog: Catalog, choices: ChoicesRepo
) -> None:
    try:
        service = await catalog.service(callback_data.country, callback_data.service)
    except (SmspvaError, SmspvaUnavailable) as error:
        await query.answer(upstream_error(error)[:190], show_alert=True)
        return
    if service is None:
        await query.answer(_("This service is no longer offered here."), show_alert=True)
        return
    await choices.add_watch(user.id, callback_data.country, service.code, service.name)
    await query.answer(
        _("🔔 I'll message you when {service} numbers appear (for 7 days). Manage it in Settings.").format(
            service=service.name
        ),
        show_alert=True,
    )


# --- 5. confirm → 6. result --------------------------------------------------------------------


def _retry_markup(plan: RentPlan, *, watch: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text="🔁 " + _("See the summary again"),
        callback_data=RentCb(
            action=RentAction.AGAIN,
            country=plan.country,
            service=plan.service,
            dtype=plan.dtype,
            dcount=plan.dcount,
        ),
    )
    if watch:
        builder.button(
            text="🔔 " + _("Notify me when available"),
            callback_data=RentCb(action=RentAction.WATCH, country=plan.country, service=plan.service),
        )
    builder.button(text="📋 " + _("My numbers"), callback_data=OrderCb(action=OrderAction.LIST))
    builder.adjust(1)
    builder.row(home_button())
    return builder.as_markup()


def result_screen(outcome: RentOutcome, plan: RentPlan, user: UserRow) -> tuple[str, InlineKeyboardMarkup]:
    if outcome.number is not None:
        rented = outcome.number
        lines = []
        if outcome.status is RentStatus.DONE_AFTER_CHECK:
            lines.append(
                _(
                    "SMSPVA answered too slowly, so I checked your orders: the number is yours. I did not retry."
                )
            )
        lines += [
            _("✅ <b>Number rented</b>"),
            "",
            _("Number: {number}").format(number=phone_html(rented.ccode, rented.pnumber)),
            _("Service: {service}").format(service=escape(plan.service_name)),
            _("Ends: {date}").format(date=local_datetime(rented.until, user.timezone)),
            "",
            _(
                "Activate the number before sending an SMS to it. Every SMS it receives will be sent "
                "to you here."
            ),
        ]
        return "\n".join(lines), kb.order_actions(rented.order_id)
    if outcome.status is RentStatus.NOT_THERE:
        text = _(
            "SMSPVA did not give a clear answer. I checked your orders and no new number is there, so the "
            "rental did not go through. I did not retry; you can try again."
        )
        return text, _retry_markup(plan, watch=False)
    if outcome.status is RentStatus.UNCLEAR:
        text = _(
            "SMSPVA did not give a clear answer and I could not check your orders either. I did not retry, "
            "so you are never charged twice. Look at My numbers in a minute to see whether the number is there."
        )
        return text, _retry_markup(plan, watch=False)
    assert outcome.error is not None
    no_numbers = isinstance(outcome.error, SmspvaError) and outcome.error.kind is ErrorKind.NO_NUMBERS
    return "❌ " + upstream_error(outcome.error), _retry_markup(plan, watch=no_numbers)


@executor(CONFIRM_KIND)
async def execute_rent(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, data: dict[str, Any]
) -> None:
    renter: Renter = data["renter"]
    user: UserRow = data["user"]
    users: UsersRepo = data["users"]
    plan = RentPlan.from_payload(confirmation.payload)
    await show(query, _("⏳ Renting a {service} number…").format(service=escape(plan.service_name)))
    outcome = await renter.rent(confirmation, apikey)
    if outcome.number is not None:
        poller: SmsPoller = data["poller"]
        poller.poke(user.id)  # a fresh rental: watch it closely from now on
    if isinstance(outcome.error, SmspvaError) and outcome.error.kind is ErrorKind.AUTH:
        await users.mark_key_invalid(user.id)
    await show(query, *result_screen(outcome, plan, user))
