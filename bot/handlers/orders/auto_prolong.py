"""Auto-prolong, opt-in per order: pick a period (today's price shown), or turn it off."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import OrderAction, OrderCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import money, period_label, phone_html
from bot.handlers.screen import show
from bot.keyboards import orders as kb
from bot.periods import ALL_PERIODS, Period
from bot.smspva import Order, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)

AUTO_PERIODS = tuple(p for p in ALL_PERIODS if p.days <= 30)
AUTO_ACTIONS = frozenset(
    {OrderAction.AUTO_PROLONG, OrderAction.AUTO_PROLONG_SET, OrderAction.AUTO_PROLONG_OFF}
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


@router.callback_query(OrderCb.filter(F.action.in_(AUTO_ACTIONS)))
async def on_auto_prolong(
    query: CallbackQuery, callback_data: OrderCb, user: UserRow, order: Order, deps: Deps
) -> None:
    period = None
    if callback_data.action == OrderAction.AUTO_PROLONG_SET:
        period = Period.parse(callback_data.dtype, callback_data.dcount)
        if period is None or period not in AUTO_PERIODS:
            await query.answer(_("This period is not offered."), show_alert=True)
            return
    await query.answer()
    if period is not None:
        await deps.expiry.set_auto(order.id, user.id, period.dtype.value, period.dcount)
    elif callback_data.action == OrderAction.AUTO_PROLONG_OFF:
        await deps.expiry.disable_auto(order.id, user.id)
    await show(query, *(await _auto_screen(order, deps)))
