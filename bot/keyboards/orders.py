"""Keyboards of My numbers: the list, the order card and its action screens."""

from __future__ import annotations

from decimal import Decimal

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ConfirmCb, ConfirmKind, MenuAction, MenuCb, OrderAction, OrderCb
from bot.formatting import isolate, money, period_label, phone, rtl_line
from bot.keyboards.common import back_button, home_button, mirrored, nav_row, page_slice
from bot.periods import Period
from bot.smspva import Order, OrderState, Service

ORDERS_PER_PAGE = 6
SERVICES_PER_PAGE = 8


def _cb(action: OrderAction, order_id: int = 0, page: int = 0) -> str:
    return OrderCb(action=action, order_id=order_id, page=page).pack()


def order_list(orders: list[Order], page: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    page, pages, first = page_slice(len(orders), page, ORDERS_PER_PAGE)
    for order in orders[first : first + ORDERS_PER_PAGE]:
        mark = "✉️ " if order.hasnewsms else ""
        builder.row(
            InlineKeyboardButton(
                text=rtl_line(
                    f"{mark}{phone(order.ccode, order.pnumber)} · {isolate(order.sname or order.scode, ltr=False)}"
                ),
                callback_data=_cb(OrderAction.CARD, order.id),
            )
        )
    nav = nav_row(page, pages, lambda p: _cb(OrderAction.LIST, page=p))
    if nav:
        builder.row(*nav)
    builder.row(
        InlineKeyboardButton(text="🔄 " + _("Refresh"), callback_data=_cb(OrderAction.REFRESH, page=page)),
        home_button(),
    )
    return mirrored(builder.as_markup())


def empty_list() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="📱 " + _("Rent a number"), callback_data=MenuCb(action=MenuAction.RENT))
    builder.row(home_button())
    return mirrored(builder.as_markup())


def card(order: Order, *, auto_prolong: bool | None = None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if order.state == OrderState.NOT_ACTIVE:
        builder.button(text="⚡ " + _("Activate"), callback_data=_cb(OrderAction.ACTIVATE, order.id))
    builder.button(text="✉️ " + _("SMS"), callback_data=_cb(OrderAction.SMS, order.id))
    builder.button(text="⏳ " + _("Prolong"), callback_data=_cb(OrderAction.PROLONG, order.id))
    builder.button(text="➕ " + _("Add service"), callback_data=_cb(OrderAction.ADD_SERVICE, order.id))
    builder.button(text="🗑 " + _("Delete"), callback_data=_cb(OrderAction.DELETE, order.id))
    if auto_prolong is not None:
        builder.button(
            text=("✅ " if auto_prolong else "☑️ ") + _("Auto-prolong"),
            callback_data=_cb(OrderAction.AUTO_PROLONG, order.id),
        )
    builder.adjust(2)
    builder.row(
        InlineKeyboardButton(text="🔄 " + _("Refresh"), callback_data=_cb(OrderAction.CARD, order.id))
    )
    builder.row(back_button(_cb(OrderAction.LIST)), home_button())
    return mirrored(builder.as_markup())


def back_to_list() -> InlineKeyboardMarkup:
    return mirrored(
        InlineKeyboardMarkup(inline_keyboard=[[back_button(_cb(OrderAction.LIST)), home_button()]])
    )


def back_to_card(order_id: int) -> InlineKeyboardMarkup:
    return mirrored(
        InlineKeyboardMarkup(inline_keyboard=[[back_button(_cb(OrderAction.CARD, order_id)), home_button()]])
    )


def sms_pages(order_id: int, page: int, pages: int) -> InlineKeyboardMarkup:
    """The SMS of a number, page by page (◀️ 2/3 ▶️), then Back to the card and Menu."""
    rows = []
    nav = nav_row(page, pages, lambda p: _cb(OrderAction.SMS, order_id, page=p))
    if nav:
        rows.append(nav)
    rows.append([back_button(_cb(OrderAction.CARD, order_id)), home_button()])
    return mirrored(InlineKeyboardMarkup(inline_keyboard=rows))


def prolong_periods(order_id: int, totals: list[tuple[Period, Decimal | None]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for period, total in totals:
        label = period_label(period) + (f" · {money(total)}" if total is not None else "")
        builder.button(
            text=label,
            callback_data=OrderCb(
                action=OrderAction.PROLONG_PERIOD, order_id=order_id, dtype=period.dtype, dcount=period.dcount
            ),
        )
    builder.adjust(2)
    builder.row(back_button(_cb(OrderAction.CARD, order_id)), home_button())
    return mirrored(builder.as_markup())


def confirm(
    kind: ConfirmKind, token: str, back: str, amount: Decimal | None = None, label: str | None = None
) -> InlineKeyboardMarkup:
    """Confirm, Back, Menu. The button states the amount when there is one ("Pay $17.50"); `label`
    says what it does ("🗑 Delete") when "✅ Confirm" would say too little."""
    if label is None:
        label = "✅ " + (
            _("Pay {amount}").format(amount=money(amount)) if amount is not None else _("Confirm")
        )
    return mirrored(
        InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=label,
                        callback_data=ConfirmCb(kind=kind, token=token).pack(),
                    )
                ],
                [back_button(back), home_button()],
            ]
        )
    )


def confirm_again(back: str, order_id: int) -> InlineKeyboardMarkup:
    """After a Confirm refused for a changed price: back to the priced step, or to the number."""
    return mirrored(
        InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="🔄 " + _("See the current price"), callback_data=back)],
                *back_to_card(order_id).inline_keyboard,
            ]
        )
    )


def add_service_list(
    order_id: int, services: list[Service], page: int, *, searching: bool
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    page, pages, first = page_slice(len(services), page, SERVICES_PER_PAGE)
    for service in services[first : first + SERVICES_PER_PAGE]:
        label = rtl_line(
            _("{name} · {price}/day").format(
                name=isolate(service.name, ltr=False), price=money(service.price_day)
            )
        )
        builder.row(
            InlineKeyboardButton(
                text=label,
                callback_data=OrderCb(
                    action=OrderAction.ADD_SERVICE_PICK, order_id=order_id, service=service.code
                ).pack(),
            )
        )
    nav = nav_row(page, pages, lambda p: _cb(OrderAction.ADD_SERVICE, order_id, page=p))
    if nav:
        builder.row(*nav)
    if searching:
        builder.row(
            InlineKeyboardButton(
                text="✖️ " + _("Clear search"), callback_data=_cb(OrderAction.ADD_SERVICE_CLEAR, order_id)
            )
        )
    builder.row(back_button(_cb(OrderAction.CARD, order_id)), home_button())
    return mirrored(builder.as_markup())


def add_service_days(order_id: int, service: Service, choices: tuple[int, ...]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for days in choices:
        label = ngettext("{count} day", "{count} days", days).format(count=days)
        builder.button(
            text=f"{label} · {money(service.price_day * days)}",
            callback_data=OrderCb(
                action=OrderAction.ADD_SERVICE_DAYS, order_id=order_id, service=service.code, dcount=days
            ),
        )
    builder.adjust(2)
    builder.row(back_button(_cb(OrderAction.ADD_SERVICE, order_id)), home_button())
    return mirrored(builder.as_markup())


def auto_prolong_on(order_id: int) -> InlineKeyboardMarkup:
    return mirrored(
        InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text="⏹ " + _("Turn off"), callback_data=_cb(OrderAction.AUTO_PROLONG_OFF, order_id)
                    )
                ],
                *back_to_card(order_id).inline_keyboard,
            ]
        )
    )


def auto_prolong_periods(order_id: int, totals: list[tuple[Period, Decimal | None]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for period, total in totals:
        builder.button(
            text=period_label(period) + (f" · {money(total)}" if total is not None else ""),
            callback_data=OrderCb(
                action=OrderAction.AUTO_PROLONG_SET,
                order_id=order_id,
                dtype=period.dtype,
                dcount=period.dcount,
            ),
        )
    builder.adjust(2)
    builder.attach(InlineKeyboardBuilder(markup=back_to_card(order_id).inline_keyboard))
    return mirrored(builder.as_markup())
