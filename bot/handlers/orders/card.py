"""The order card: the number, its state explained, expiry, prolonging, and the action buttons."""

from __future__ import annotations

import time

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import OrderAction, OrderCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import country_name, escape, flag, local_datetime, phone_html
from bot.handlers.screen import show
from bot.keyboards import orders as kb
from bot.smspva import Order, OrderState, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)

PROLONG_WINDOW_DAYS = 7  # the FAQ: prolonging is possible only when less than 7 days remain


def state_label(state: int) -> str:
    labels: dict[int, str] = {
        OrderState.NOT_ACTIVE: _("⚪ not active — activate before use"),
        OrderState.ACTIVE: _("🟢 active — can receive SMS"),
        OrderState.ACTIVATING: _("🟡 activating"),
        OrderState.NOT_IN_SYSTEM: _("🔴 not in the system"),
    }
    return labels.get(state, _("❔ unknown state ({state})").format(state=state))


def prolong_status(order: Order, tz: str) -> str:
    remaining = order.until - time.time()
    if remaining >= PROLONG_WINDOW_DAYS * 86400:
        opens = order.until - PROLONG_WINDOW_DAYS * 86400
        return _("Prolonging opens on {date} (when less than 7 days remain).").format(
            date=local_datetime(opens, tz)
        )
    if not order.canprolong:
        return _("SMSPVA does not allow prolonging this number now (the 90-day maximum may be reached).")
    if order.canprolonguntil:
        return _("Can be prolonged until {date}.").format(date=local_datetime(order.canprolonguntil, tz))
    return _("Can be prolonged now.")


async def card_text(order: Order, user: UserRow, deps: Deps) -> str:
    try:
        country = await deps.catalog.country(order.cname)
    except (SmspvaError, SmspvaUnavailable):
        country = None  # the card still shows the code
    country_text = (
        f"{flag(order.cname)} {escape(country_name(order.cname, country.name if country else order.cname))}"
    )
    lines = [
        _("📱 <b>Number</b> {number}").format(number=phone_html(order.ccode, order.pnumber)),
        _("Country: {country}").format(country=country_text),
        _("Services: {services}").format(services=escape(order.sname or order.scode)),
        _("State: {state}").format(state=state_label(order.state)),
        _("Expires: {date}").format(date=local_datetime(order.until, user.timezone)),
    ]
    if order.lastonline:
        lines.append(_("Last online: {date}").format(date=local_datetime(order.lastonline, user.timezone)))
    lines.append(prolong_status(order, user.timezone))
    if order.hasnewsms:
        lines.append(_("✉️ There are new SMS."))
    if order.state == OrderState.NOT_ACTIVE:
        lines += ["", _("Activate the number before sending an SMS to it.")]
    elif order.state == OrderState.NOT_IN_SYSTEM:
        lines += ["", _("This number left the SMSPVA system. Please contact SMSPVA support.")]
    return "\n".join(lines)


@router.callback_query(OrderCb.filter(F.action == OrderAction.CARD))
async def on_card(query: CallbackQuery, user: UserRow, order: Order, deps: Deps, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    enabled = await deps.expiry.is_enabled(order.id)
    await show(query, await card_text(order, user, deps), kb.card(order, auto_prolong=enabled))
