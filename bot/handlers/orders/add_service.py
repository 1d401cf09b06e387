"""Add a service to a number: the country's other services (searchable), 7 or 1 days, one
`add_service_to_order`."""

from __future__ import annotations

from decimal import Decimal

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callbacks import ConfirmCb, ConfirmKind, OrderAction, OrderCb
from bot.db import UserRow
from bot.db.confirmations import Confirmation
from bot.deps import Deps
from bot.formatting import escape, money, phone_html
from bot.handlers.confirm import outcome_text
from bot.handlers.errors import forget_rejected_key
from bot.handlers.orders.ownership import not_owned_text
from bot.handlers.screen import show, show_progress
from bot.handlers.upstream import fetch_orders, require_key
from bot.keyboards import orders as kb
from bot.services.money import find_order
from bot.services.order_actions import ADD_SERVICE
from bot.smspva import Order

router = Router(name=__name__)

ADD_SERVICE_DAYS = (7, 1)  # the page's "rent an additional service" dialog offers 7 or 1 days


class OrderForm(StatesGroup):
    add_service = State()  # the add-service list is open: typed text searches it


async def render_add_service(
    event: CallbackQuery | Message, order: Order, deps: Deps, state: FSMContext, page: int
) -> None:
    data = await state.get_data()
    search = str(data.get("query", "")) if data.get("order_id") == order.id else ""
    await state.set_state(OrderForm.add_service)
    await state.update_data(order_id=order.id, query=search)
    listing = await deps.catalog.services(order.cname)
    present = set(order.scode.split(","))
    needle = search.casefold()
    services = sorted(
        (s for s in listing.services if s.code not in present and needle in s.name.casefold()),
        key=lambda s: s.name.casefold(),
    )
    lines = [
        _("➕ <b>Rent an additional service</b> for {number}").format(
            number=phone_html(order.ccode, order.pnumber)
        ),
        _("Choose the service. Type a name to search."),
    ]
    if search:
        lines.append(
            _("🔎 Search: «{query}» — {count} found.").format(query=escape(search), count=len(services))
        )
    await show(event, "\n".join(lines), kb.add_service_list(order.id, services, page, searching=bool(search)))


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.ADD_SERVICE, OrderAction.ADD_SERVICE_CLEAR})))
async def on_add_service(
    query: CallbackQuery, callback_data: OrderCb, order: Order, deps: Deps, state: FSMContext
) -> None:
    await query.answer()
    if callback_data.action == OrderAction.ADD_SERVICE_CLEAR:
        await state.update_data(query="")
    await render_add_service(query, order, deps, state, callback_data.page)


@router.message(OrderForm.add_service, F.text, ~F.text.startswith("/"))
async def on_add_service_search(message: Message, user: UserRow, deps: Deps, state: FSMContext) -> None:
    data = await state.get_data()
    apikey = await require_key(deps, user)
    order = find_order(await fetch_orders(deps, user, apikey), int(data.get("order_id") or 0))
    if order is None:
        await state.clear()
        await message.answer(not_owned_text())
        return
    await state.update_data(query=(message.text or "")[:64])
    await render_add_service(message, order, deps, state, 0)


@router.callback_query(OrderCb.filter(F.action == OrderAction.ADD_SERVICE_PICK))
async def on_add_service_pick(
    query: CallbackQuery, callback_data: OrderCb, order: Order, deps: Deps, state: FSMContext
) -> None:
    await query.answer()
    await state.set_state(None)
    service = await deps.catalog.service(order.cname, callback_data.service)
    if service is None:
        await show(query, _("This service is no longer offered here."), kb.back_to_card(order.id))
        return
    text = _("➕ <b>{service}</b> on {number}\nPrice per day: {price}\n\nChoose the rental period.").format(
        service=escape(service.name),
        number=phone_html(order.ccode, order.pnumber),
        price=money(service.price_day),
    )
    await show(query, text, kb.add_service_days(order.id, service, ADD_SERVICE_DAYS))


@router.callback_query(OrderCb.filter(F.action == OrderAction.ADD_SERVICE_DAYS))
async def on_add_service_days(
    query: CallbackQuery, callback_data: OrderCb, user: UserRow, order: Order, deps: Deps
) -> None:
    days = callback_data.dcount
    if days not in ADD_SERVICE_DAYS:
        await query.answer(_("This period is not offered."), show_alert=True)
        return
    await query.answer()
    service = await deps.catalog.service(order.cname, callback_data.service)
    if service is None:
        await show(query, _("This service is no longer offered here."), kb.back_to_card(order.id))
        return
    total = service.price_day * days
    token = await deps.confirmations.issue(
        user.id,
        ADD_SERVICE,
        {
            "order_id": order.id,
            "service": service.code,
            "service_name": service.name,
            "pnumber": order.pnumber_with_code,
            "days": days,
            "total": str(total),
        },
    )
    text = "\n".join(
        [
            _("➕ <b>Rent an additional service</b>"),
            _("Number: {number}").format(number=phone_html(order.ccode, order.pnumber)),
            _("Service: {service}").format(service=escape(service.name)),
            _("Rental period: {days}").format(
                days=ngettext("{count} day", "{count} days", days).format(count=days)
            ),
            _("<b>Total: {total}</b>").format(total=money(total)),
        ]
    )
    back = OrderCb(action=OrderAction.ADD_SERVICE_PICK, order_id=order.id, service=service.code).pack()
    await show(query, text, kb.confirm(ConfirmKind.ADD_SERVICE, token, back))


@router.callback_query(ConfirmCb.filter(F.kind == ConfirmKind.ADD_SERVICE))
async def confirm_add_service(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, user: UserRow, deps: Deps
) -> None:
    order_id = int(confirmation.payload["order_id"])
    await show_progress(query, _("⏳ Adding the service…"))
    outcome = await deps.order_actions.add_service(confirmation, apikey)
    await forget_rejected_key(deps, user.id, outcome.error)
    success = _("✅ {service} added. Charged: {total}. Its SMS will come here too.").format(
        service=escape(str(confirmation.payload.get("service_name", ""))),
        total=money(Decimal(str(confirmation.payload.get("total", "0")))),
    )
    holder = outcome.order.id if outcome.order is not None else order_id  # SMSPVA may answer a new id
    await show(query, outcome_text(outcome, success, deps.settings.top_up_url), kb.back_to_card(holder))
