"""The order list: /orders, the My numbers button, paging and Refresh."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuAction, MenuCb, OrderAction, OrderCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import escape, local_datetime, phone_html
from bot.handlers.orders.card import state_label
from bot.handlers.screen import show
from bot.handlers.upstream import fetch_orders, require_key
from bot.keyboards import orders as kb
from bot.keyboards.common import page_slice
from bot.smspva import Order

router = Router(name=__name__)


def order_line(order: Order, tz: str) -> str:
    new = " ✉️" if order.hasnewsms else ""
    return _("{state}\n{number} · {service} · until {date}{new}").format(
        state=state_label(order.state),
        number=phone_html(order.ccode, order.pnumber),
        service=escape(order.sname or order.scode),
        date=local_datetime(order.until, tz),
        new=new,
    )


async def render_list(event: Message | CallbackQuery, user: UserRow, deps: Deps, page: int) -> None:
    apikey = await require_key(deps, user)
    orders = await fetch_orders(deps, user, apikey)
    if not orders:
        await show(
            event,
            _("📋 <b>My numbers</b>\n\nYou have no rented numbers right now. Rent one in a few taps."),
            kb.empty_list(),
        )
        return
    orders.sort(key=lambda o: o.until)
    page, _pages, first = page_slice(len(orders), page, kb.ORDERS_PER_PAGE)
    lines = [_("📋 <b>My numbers</b> ({count})").format(count=len(orders)), ""]
    for order in orders[first : first + kb.ORDERS_PER_PAGE]:
        lines.append(order_line(order, user.timezone))
        lines.append("")
    lines.append(_("Tap a number to open it. ✉️ marks new SMS."))
    await show(event, "\n".join(lines), kb.order_list(orders, page))


@router.message(Command("orders"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.ORDERS))
async def open_orders(event: Message | CallbackQuery, user: UserRow, deps: Deps, state: FSMContext) -> None:
    await state.clear()
    if isinstance(event, CallbackQuery):
        await event.answer()
    await render_list(event, user, deps, 0)


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.LIST, OrderAction.REFRESH})))
async def on_list(
    query: CallbackQuery, callback_data: OrderCb, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    await state.clear()
    await query.answer(_("Updated.") if callback_data.action == OrderAction.REFRESH else None)
    await render_list(query, user, deps, callback_data.page)
