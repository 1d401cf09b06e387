"""Step 2: the services of a country, rentable first; typed text searches the list."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RentAction, RentCb
from bot.deps import Deps
from bot.formatting import escape, number
from bot.handlers.rent.countries import country_label
from bot.handlers.screen import show
from bot.keyboards import rent as kb
from bot.keyboards.common import only_home
from bot.smspva import Service

router = Router(name=__name__)


class RentForm(StatesGroup):
    services = State()  # a service list is open: typed text searches it


def _sorted_services(items: list[Service], query: str) -> list[Service]:
    needle = query.casefold().strip()
    chosen = [s for s in items if needle in s.name.casefold()] if needle else list(items)
    # Rentable first, then by name, as a person scanning the list expects.
    chosen.sort(key=lambda s: (s.count <= 0, s.name.casefold()))
    return chosen


async def render_services(
    event: Message | CallbackQuery, deps: Deps, state: FSMContext, country_code: str, page: int
) -> None:
    data = await state.get_data()
    query = str(data.get("query", "")) if data.get("country") == country_code else ""
    await state.set_state(RentForm.services)
    await state.update_data(country=country_code, query=query)
    country = await deps.catalog.country(country_code)
    listing = await deps.catalog.services(country_code)
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
    markup = kb.services(
        country_code, items, page, searching=bool(query), support_url=deps.settings.support_url
    )
    await show(event, "\n".join(lines), markup)


@router.callback_query(RentCb.filter(F.action.in_({RentAction.COUNTRY, RentAction.SERVICES})))
async def on_services_page(
    query: CallbackQuery, callback_data: RentCb, deps: Deps, state: FSMContext
) -> None:
    await query.answer()
    await render_services(query, deps, state, callback_data.country, callback_data.page)


@router.callback_query(RentCb.filter(F.action == RentAction.SEARCH_CLEAR))
async def on_search_clear(query: CallbackQuery, callback_data: RentCb, deps: Deps, state: FSMContext) -> None:
    await state.update_data(query="")
    await query.answer()
    await render_services(query, deps, state, callback_data.country, 0)


@router.message(RentForm.services, F.text, ~F.text.startswith("/"))
async def on_search_typed(message: Message, deps: Deps, state: FSMContext) -> None:
    data = await state.get_data()
    country = str(data.get("country", ""))
    await state.update_data(query=(message.text or "")[:64])
    await render_services(message, deps, state, country, 0)
