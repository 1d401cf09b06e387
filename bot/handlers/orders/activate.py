"""Activate an on-demand number (state 0): one `activate` at a time per order, never retried.

A second tap while the first is running (or just went through: SMSPVA may still list the number as
not active for a moment) answers "already activating" and calls nothing, so an error from a second
`activate` can never replace the first one's success."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import OrderAction, OrderCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import phone_html
from bot.handlers.screen import show
from bot.keyboards import orders as kb
from bot.services.money import Verdict, call_once, find_order
from bot.smspva import Order, OrderState

router = Router(name=__name__)


def _activated(orders: list[Order], order_id: int) -> bool:
    after = find_order(orders, order_id)
    return after is not None and after.state != OrderState.NOT_ACTIVE


@router.callback_query(OrderCb.filter(F.action == OrderAction.ACTIVATE))
async def on_activate(query: CallbackQuery, user: UserRow, order: Order, apikey: str, deps: Deps) -> None:
    if order.state == OrderState.NOT_ACTIVE and not deps.user_locks.begin_activation(order.id):
        await query.answer(_("Already activating this number — I will tell you when it is online."))
        return
    try:
        await _activate(query, user, order, apikey, deps)
    except BaseException:
        deps.user_locks.end_activation(order.id, succeeded=False)
        raise


async def _activate(query: CallbackQuery, user: UserRow, order: Order, apikey: str, deps: Deps) -> None:
    await query.answer(_("⏳ Working on it…"))
    back = kb.back_to_card(order.id)
    if order.state == OrderState.ACTIVE:
        await show(query, _("The number is already online: you can send the SMS now."), back)
        return
    if order.state == OrderState.ACTIVATING:
        await show(
            query, _("Activation is already in progress. I will tell you when the number is online."), back
        )
        return
    if order.state != OrderState.NOT_ACTIVE:
        await show(
            query, _("This number cannot be activated: it left the SMSPVA system. Contact support."), back
        )
        return
    settled = await call_once(
        deps.smspva,
        apikey,
        lambda: deps.smspva.activate(apikey, order.id),
        lambda orders: _activated(orders, order.id),
        what="activate",
        user_id=user.id,
    )
    deps.user_locks.end_activation(order.id, succeeded=settled.happened)
    if settled.verdict is Verdict.FAILED:
        assert settled.error is not None
        raise settled.error
    if not settled.happened:
        await show(query, _("SMSPVA did not confirm the activation. Please try again in a minute."), back)
        return
    await deps.orders.mark_activated(order.id)
    deps.poller.poke(user.id)
    await show(
        query,
        _(
            "⚡ Activation requested for {number}.\n\n"
            "The number joins SMSPVA's activation queue: on average it takes 10–15 minutes, sometimes longer. "
            "Once online, it stays online for 10–30 minutes. I will message you as soon as it is online."
        ).format(number=phone_html(order.ccode, order.pnumber)),
        back,
    )
