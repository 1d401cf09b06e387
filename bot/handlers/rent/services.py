"""Step 2: the services of a country, recent and popular ones pinned first; typed text searches the list."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RentAction, RentCb
from bot.db import UserRow
from bot.db.choices import RECENT_ROWS
from bot.deps import Deps
from bot.formatting import escape, number
from bot.handlers.rent.countries import country_label
from bot.handlers.rent.periods import PRICING
from bot.handlers.screen import show
from bot.handlers.upstream import catalog_key
from bot.keyboards import rent as kb
from bot.keyboards.common import only_home
from bot.popular import order_services
from bot.smspva import Service

router = Router(name=__name__)


class RentForm(StatesGroup):
    services = State()  # a service list is open: typed text searches it


def picker_services(items: list[Service], query: str, recent: list[str]) -> list[Service]:
    """The services to list: those matching the typed search (case-insensitive, any script), the
    user's recent ones and the popular ones pinned first, then rentable ones first, then by name."""
    needle = query.casefold().strip()
    chosen = [s for s in items if needle in s.name.casefold()] if needle else list(items)
    return order_services(chosen, recent)


async def recent_services(deps: Deps, user: UserRow, country_code: str) -> list[str]:
    """The user's recent services in this country, most recent first."""
    choices = await deps.choices.recent(user.id, limit=RECENT_ROWS)
    return [choice.service for choice in choices if choice.country == country_code]


async def render_services(
    event: Message | CallbackQuery,
    user: UserRow,
    deps: Deps,
    state: FSMContext,
    country_code: str,
    page: int,
) -> None:
    data = await state.get_data()
    query = str(data.get("query", "")) if data.get("country") == country_code else ""
    await state.set_state(RentForm.services)
    # The page is remembered so the period screen's Back returns to it; a period screen still
    # being priced is dropped (it must not replace this list when its prices arrive).
    await state.update_data(country=country_code, query=query, services_page=page, **{PRICING: None})
    country = await deps.catalog.country(country_code)
    listing = await deps.catalog.services(country_code, apikey=await catalog_key(deps, user))
    if country is None:
        await show(event, _("This country is no longer offered. Please choose another one."), only_home())
        return
    items = picker_services(listing.services, query, await recent_services(deps, user, country_code))
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
    markup = kb.services(
        country_code,
        items,
        page,
        searching=bool(query),
        support_url=deps.settings.support_url,
        countries_page=int(data.get("countries_page", 0) or 0),
    )
    await show(event, "\n".join(lines), markup)


@router.callback_query(RentCb.filter(F.action.in_({RentAction.COUNTRY, RentAction.SERVICES})))
async def on_services_page(
    query: CallbackQuery, callback_data: RentCb, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    await query.answer()
    await render_services(query, user, deps, state, callback_data.country, callback_data.page)


@router.callback_query(RentCb.filter(F.action == RentAction.SEARCH_CLEAR))
async def on_search_clear(
    query: CallbackQuery, callback_data: RentCb, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    await state.update_data(query="")
    await query.answer()
    await render_services(query, user, deps, state, callback_data.country, 0)


@router.message(RentForm.services, F.text, ~F.text.startswith("/"))
async def on_search_typed(message: Message, user: UserRow, deps: Deps, state: FSMContext) -> None:
    data = await state.get_data()
    country = str(data.get("country", ""))
    await state.update_data(query=(message.text or "")[:64])
    await render_services(message, user, deps, state, country, 0)
