"""Step 1: the countries (recent, then popular, then A-Z, in the user's language), and up to
three one-tap "Rent again" buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuAction, MenuCb, RentAction, RentCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import country_name, escape, flag, period_label
from bot.handlers.screen import show
from bot.handlers.upstream import catalog_key
from bot.keyboards import rent as kb
from bot.periods import Period
from bot.popular import distinct_names, order_countries
from bot.smspva import Country, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)


def country_label(country: Country) -> str:
    """For HTML texts: the name may be SMSPVA's own, so it is escaped (buttons take plain text)."""
    return f"{flag(country.code)} {escape(country_name(country.code, country.name))}"


def country_entries(countries: list[Country], recent: list[str]) -> list[tuple[str, str]]:
    """(code, button label) in picker order: names in the user's language with their flags, look-alikes
    told apart, the user's recent countries first, then the popular ones, then A-Z."""
    named = distinct_names((c.code, country_name(c.code, c.name)) for c in countries)
    return [(code, f"{flag(code)} {name}") for code, name in order_countries(named, recent)]


async def _cached_service_name(deps: Deps, country: str, code: str, apikey: str | None) -> str:
    try:
        service = await deps.catalog.service(country, code, apikey=apikey)
    except (SmspvaError, SmspvaUnavailable):
        return code  # a label only: the code will do
    return service.name if service else code


async def _again_buttons(
    deps: Deps, user: UserRow, by_code: dict[str, Country], apikey: str | None
) -> list[tuple[str, RentCb]]:
    again: list[tuple[str, RentCb]] = []
    for choice in await deps.choices.recent(user.id):
        period = Period.parse(choice.dtype, choice.dcount)
        country = by_code.get(choice.country)
        if period is None or country is None:
            continue
        service = await _cached_service_name(deps, choice.country, choice.service, apikey)
        label = f"{service} · {country_name(country.code, country.name)} · {period_label(period)}"
        callback = RentCb(
            action=RentAction.AGAIN,
            country=choice.country,
            service=choice.service,
            dtype=choice.dtype,
            dcount=choice.dcount,
        )
        again.append((label, callback))
    return again


async def render_countries(
    event: Message | CallbackQuery, user: UserRow, deps: Deps, state: FSMContext, page: int
) -> None:
    all_countries = await deps.catalog.countries()
    recent = await deps.choices.recent_countries(user.id)
    labelled = country_entries(all_countries, recent)
    again = await _again_buttons(
        deps, user, {c.code: c for c in all_countries}, await catalog_key(deps, user)
    )
    text = _("📱 <b>Rent a number</b>\n\nChoose a country.")
    if again:
        text += "\n" + _("🔁 Or repeat one of your recent rentals.")
    await show(event, text, kb.countries(labelled, page, again))
    await state.update_data(countries_page=page)  # the services' Back returns to this page


@router.message(Command("rent"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.RENT))
async def open_rent(event: Message | CallbackQuery, user: UserRow, deps: Deps, state: FSMContext) -> None:
    await state.clear()
    if isinstance(event, CallbackQuery):
        await event.answer()
    await render_countries(event, user, deps, state, 0)


@router.callback_query(RentCb.filter(F.action == RentAction.COUNTRIES))
async def on_countries_page(
    query: CallbackQuery, callback_data: RentCb, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    await state.clear()
    await query.answer()
    await render_countries(query, user, deps, state, callback_data.page)
