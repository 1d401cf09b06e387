"""Auto-prolong, opt-in per order: pick a period, see what it will charge and when, confirm; or turn it off.

Enabling is a payment: inside the prolong window the expiry loop charges within a minute. So the
period button only shows a preview — the period, today's price for it and when the first charge
happens (now, when the window is already open) — with a single-use Confirm (kind AUTO_PROLONG,
claimed like every other confirmation). Turning it off needs no confirmation.
"""

from __future__ import annotations

import time
from decimal import Decimal

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb, ConfirmKind, OrderAction, OrderCb
from bot.db import UserRow
from bot.db.confirmations import Confirmation, ConfirmStatus
from bot.deps import Deps
from bot.formatting import local_datetime, money, period_label, phone_html
from bot.handlers.confirm import deliver
from bot.handlers.screen import show
from bot.handlers.upstream import balance_note, fetch_orders
from bot.keyboards import orders as kb
from bot.periods import ALL_PERIODS, Period
from bot.pushes import PROLONG_WINDOW_SECONDS
from bot.services.money import find_order
from bot.services.order_actions import AUTO_PROLONG
from bot.smspva import Order, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)

AUTO_PERIODS = tuple(p for p in ALL_PERIODS if p.days <= 30)
AUTO_ACTIONS = frozenset(
    {OrderAction.AUTO_PROLONG, OrderAction.AUTO_PROLONG_SET, OrderAction.AUTO_PROLONG_OFF}
)


def first_charge_text(order: Order, user: UserRow, now: float) -> str:
    """When the first automatic prolong (a charge) happens: now if the window is already open."""
    if order.until - now < PROLONG_WINDOW_SECONDS:
        return _("First charge: now — prolonging is already open, so it happens within a minute.")
    return _("First charge: on {date}, when prolonging opens (7 days before the end).").format(
        date=local_datetime(order.until - PROLONG_WINDOW_SECONDS, user.timezone)
    )


async def _auto_screen(order: Order, deps: Deps) -> tuple[str, InlineKeyboardMarkup]:
    entry = await deps.expiry.auto(order.id)
    number_html = phone_html(order.ccode, order.pnumber)
    if entry is not None and entry.enabled:
        period = Period.parse(entry.dtype, entry.dcount) or AUTO_PERIODS[0]
        try:
            price = await deps.catalog.order_price_day(order.cname, order.scode, period)
        except (SmspvaError, SmspvaUnavailable):
            price = None  # the screen still says what is on; today's price is a nicety
        text = _(
            "🔁 <b>Auto-prolong is on</b> for {number}: when prolonging opens (7 days before the end), I prolong "
            "it by {period} once and tell you the price charged."
        ).format(number=number_html, period=period_label(period))
        if price is not None:
            text += "\n" + _("Current price for that period: {total}").format(
                total=money(price * period.days)
            )
        return text, kb.auto_prolong_on(order.id)
    totals = await deps.catalog.order_totals(order.cname, order.scode, AUTO_PERIODS)
    text = _(
        "🔁 <b>Auto-prolong</b> {number}\nChoose the period I should add automatically when prolonging opens "
        "(7 days before the end). Prices shown are today's; the price charged is reported to you."
    ).format(number=number_html)
    return text, kb.auto_prolong_periods(order.id, totals)


async def auto_preview(
    user: UserRow, order: Order, period: Period, deps: Deps
) -> tuple[str, InlineKeyboardMarkup]:
    """What turning auto-prolong on will charge and when, with a single-use Confirm."""
    price_day = await deps.catalog.order_price_day(order.cname, order.scode, period)
    total = price_day * period.days if price_day is not None else None
    token = await deps.confirmations.issue(
        user.id,
        AUTO_PROLONG,
        {
            "order_id": order.id,
            "dtype": period.dtype.value,
            "dcount": period.dcount,
            "total": str(total) if total is not None else None,
            "number": order.pnumber_with_code,
        },
    )
    lines = [
        _("🔁 <b>Turn on auto-prolong</b> for {number}").format(
            number=phone_html(order.ccode, order.pnumber)
        ),
        _("Each time: add {period}").format(period=period_label(period)),
        _("<b>Price today: {total}</b>").format(total=money(total))
        if total is not None
        else _("SMSPVA does not list a price for this period now; the price charged will be reported."),
        first_charge_text(order, user, time.time()),
        _("The price charged is SMSPVA's at that moment; I report it each time."),
        *await balance_note(deps, user, total),
    ]
    back = OrderCb(action=OrderAction.AUTO_PROLONG, order_id=order.id).pack()
    return "\n".join(lines), kb.confirm(ConfirmKind.AUTO_PROLONG, token, back, total)


@router.callback_query(OrderCb.filter(F.action.in_(AUTO_ACTIONS)))
async def on_auto_prolong(
    query: CallbackQuery, callback_data: OrderCb, user: UserRow, order: Order, deps: Deps
) -> None:
    if callback_data.action == OrderAction.AUTO_PROLONG_SET:
        period = Period.parse(callback_data.dtype, callback_data.dcount)
        if period is None or period not in AUTO_PERIODS:
            await query.answer(_("This period is not offered."), show_alert=True)
            return
        await query.answer()
        await show(query, *(await auto_preview(user, order, period, deps)))
        return
    await query.answer()
    if callback_data.action == OrderAction.AUTO_PROLONG_OFF:
        await deps.expiry.disable_auto(order.id, user.id)
    await show(query, *(await _auto_screen(order, deps)))


@router.callback_query(ConfirmCb.filter(F.kind == ConfirmKind.AUTO_PROLONG))
async def confirm_auto_prolong(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, user: UserRow, deps: Deps
) -> None:
    payload = confirmation.payload
    order_id = int(payload["order_id"])
    period = Period.parse(str(payload["dtype"]), int(payload["dcount"]))
    order = find_order(await fetch_orders(deps, user, apikey), order_id)
    if order is None or period is None:
        await deps.confirmations.finish(confirmation.token, ConfirmStatus.EXPIRED, {"msg": "order gone"})
        await show(
            query, _("This number is no longer among your orders. Nothing was turned on."), kb.back_to_list()
        )
        return
    price_day = await deps.catalog.order_price_day(order.cname, order.scode, period)
    total = price_day * period.days if price_day is not None else None
    if payload.get("total") is not None and total != Decimal(str(payload["total"])):
        await deps.confirmations.finish(confirmation.token, ConfirmStatus.EXPIRED, {"msg": "price changed"})
        text, markup = await auto_preview(user, order, period, deps)
        await show(
            query,
            _("⚠️ The price changed since the preview was shown. Nothing was charged.") + "\n\n" + text,
            markup,
        )
        return
    await deps.expiry.set_auto(order.id, user.id, period.dtype.value, period.dcount)
    await deps.confirmations.finish(confirmation.token, ConfirmStatus.DONE, {"order_id": order.id})
    await deliver(query, deps, user, confirmation, *(await _auto_screen(order, deps)))
