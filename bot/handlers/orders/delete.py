"""Delete a number: the refund policy from the page, then one `delete`."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb, ConfirmKind, OrderAction, OrderCb
from bot.db import UserRow
from bot.db.confirmations import Confirmation
from bot.deps import Deps
from bot.formatting import escape, ltr_code, phone, phone_html
from bot.handlers.confirm import outcome_text
from bot.handlers.errors import forget_rejected_key
from bot.handlers.screen import show, show_progress
from bot.keyboards import orders as kb
from bot.services.order_actions import DELETE
from bot.smspva import Order

router = Router(name=__name__)


@router.callback_query(OrderCb.filter(F.action == OrderAction.DELETE))
async def on_delete(query: CallbackQuery, user: UserRow, order: Order, deps: Deps) -> None:
    await query.answer()
    token = await deps.confirmations.issue(
        user.id, DELETE, {"order_id": order.id, "number": phone(order.ccode, order.pnumber)}
    )
    text = "\n".join(
        [
            _("🗑 <b>Delete</b> {number} ({service})?").format(
                number=phone_html(order.ccode, order.pnumber),
                service=escape(order.sname or order.scode),
            ),
            "",
            _(
                "There is no refund if you used the number, i.e. received an SMS without problems. Refunds are "
                "made only for unsolvable problems with the number, usually decided case by case."
            ),
            _("The number will stop receiving SMS for you."),
        ]
    )
    back = OrderCb(action=OrderAction.CARD, order_id=order.id).pack()
    await show(query, text, kb.confirm(ConfirmKind.DELETE, token, back))


@router.callback_query(ConfirmCb.filter(F.kind == ConfirmKind.DELETE))
async def confirm_delete(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, user: UserRow, deps: Deps
) -> None:
    await show_progress(query, _("⏳ Deleting…"))
    outcome = await deps.order_actions.delete(confirmation, apikey)
    await forget_rejected_key(deps, user.id, outcome.error)
    success = _("🗑 The number {number} was deleted.").format(
        number=ltr_code(str(confirmation.payload.get("number", "")))
    )
    order_id = int(confirmation.payload["order_id"])
    markup = kb.back_to_list() if outcome.succeeded else kb.back_to_card(order_id)
    await show(query, outcome_text(outcome, success, deps.settings.top_up_url), markup)
