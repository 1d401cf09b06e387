"""Prolong: the periods SMSPVA allows, a priced preview with a single-use token, one `prolong`."""

from __future__ import annotations

import time
from decimal import Decimal

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb, ConfirmKind, OrderAction, OrderCb
from bot.db import UserRow
from bot.db.confirmations import Confirmation
from bot.deps import Deps
from bot.formatting import escape, local_datetime, ltr_code, money, period_label, phone, phone_html
from bot.handlers.confirm import outcome_text
from bot.handlers.errors import forget_rejected_key
from bot.handlers.orders.card import PROLONG_WINDOW_DAYS, prolong_status
from bot.handlers.screen import show, show_progress
from bot.keyboards import orders as kb
from bot.periods import ALL_PERIODS, MAX_RENT_DAYS, Period
from bot.services.order_actions import PROLONG
from bot.smspva import Order

router = Router(name=__name__)


def allowed_prolong_periods(order: Order, now: float) -> list[Period]:
    """Periods within canprolongmax / canprolonguntil and the 90-day rule (counted from now)."""
    allowed = []
    for period in ALL_PERIODS:
        new_until = order.until + period.days * 86400
        if order.canprolongmax is not None and period.days > order.canprolongmax:
            continue
        if order.canprolonguntil and new_until > order.canprolonguntil:
            continue
        if new_until - now > MAX_RENT_DAYS * 86400:
            continue
        allowed.append(period)
    return allowed


def _not_open(order: Order, now: float) -> bool:
    return order.until - now >= PROLONG_WINDOW_DAYS * 86400 or not order.canprolong


@router.callback_query(OrderCb.filter(F.action == OrderAction.PROLONG))
async def on_prolong(query: CallbackQuery, user: UserRow, order: Order, deps: Deps) -> None:
    await query.answer()
    back = kb.back_to_card(order.id)
    now = time.time()
    if _not_open(order, now):
        await show(query, "⏳ " + prolong_status(order, user.timezone), back)
        return
    periods = allowed_prolong_periods(order, now)
    if not periods:
        await show(
            query, _("This number already reaches the 90-day maximum: it cannot be prolonged further."), back
        )
        return
    totals = await deps.catalog.order_totals(order.cname, order.scode, periods)
    text = _(
        "⏳ <b>Prolong</b> {number}\nExpires: {date}\n\nChoose how long to add (the rental may not exceed 90 days)."
    ).format(number=phone_html(order.ccode, order.pnumber), date=local_datetime(order.until, user.timezone))
    await show(query, text, kb.prolong_periods(order.id, totals))


async def prolong_preview(
    user: UserRow, order: Order, period: Period, deps: Deps
) -> tuple[str, InlineKeyboardMarkup] | str:
    """The priced preview with a single-use token, or an explanation why it cannot be prolonged."""
    if _not_open(order, time.time()):
        return "⏳ " + prolong_status(order, user.timezone)
    if period not in allowed_prolong_periods(order, time.time()):
        return _("This period would take the rental past the 90-day maximum. Choose a shorter one.")
    price_day = await deps.catalog.order_price_day(order.cname, order.scode, period)
    if price_day is None:
        return _("SMSPVA does not list a price for this service now, so it cannot be prolonged from here.")
    total = price_day * period.days
    new_until = order.until + period.days * 86400
    token = await deps.confirmations.issue(
        user.id,
        PROLONG,
        {
            "order_id": order.id,
            "dtype": period.dtype.value,
            "dcount": period.dcount,
            "until": order.until,
            "total": str(total),
            "number": phone(order.ccode, order.pnumber),
        },
    )
    text = "\n".join(
        [
            _("⏳ <b>Prolong</b> {number}").format(number=phone_html(order.ccode, order.pnumber)),
            _("Service: {service}").format(service=escape(order.sname or order.scode)),
            _("Add: {period}").format(period=period_label(period)),
            _("Price per day: {price}").format(price=money(price_day)),
            _("<b>Total: {total}</b>").format(total=money(total)),
            _("New end date: {date}").format(date=local_datetime(new_until, user.timezone)),
        ]
    )
    back = OrderCb(action=OrderAction.PROLONG, order_id=order.id).pack()
    return text, kb.confirm(ConfirmKind.PROLONG, token, back)


@router.callback_query(OrderCb.filter(F.action == OrderAction.PROLONG_PERIOD))
async def on_prolong_period(
    query: CallbackQuery, callback_data: OrderCb, user: UserRow, order: Order, deps: Deps
) -> None:
    period = Period.parse(callback_data.dtype, callback_data.dcount)
    if period is None:
        await query.answer(_("This period is not offered (at most 90 days)."), show_alert=True)
        return
    await query.answer()
    screen = await prolong_preview(user, order, period, deps)
    if isinstance(screen, str):
        await show(query, screen, kb.back_to_card(order.id))
    else:
        await show(query, *screen)


@router.callback_query(ConfirmCb.filter(F.kind == ConfirmKind.PROLONG))
async def confirm_prolong(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, user: UserRow, deps: Deps
) -> None:
    order_id = int(confirmation.payload["order_id"])
    await show_progress(query, _("⏳ Prolonging…"))
    outcome = await deps.order_actions.prolong(confirmation, apikey)
    await forget_rejected_key(deps, user.id, outcome.error)
    success = _("✅ Prolonged {number}. Charged: {total}.").format(
        number=ltr_code(str(confirmation.payload.get("number", ""))),
        total=money(Decimal(str(confirmation.payload.get("total", "0")))),
    )
    if outcome.order is not None:
        success += "\n" + _("New end date: {date}").format(
            date=local_datetime(outcome.order.until, user.timezone)
        )
    text = outcome_text(outcome, success, deps.settings.top_up_url)
    await show(query, text, kb.back_to_card(order_id))
