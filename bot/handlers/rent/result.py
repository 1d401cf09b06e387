"""Steps 5–6: Confirm → exactly one `create` → the result (or an honest account of what is known)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb, ConfirmKind
from bot.db import UserRow
from bot.db.confirmations import Confirmation
from bot.deps import Deps
from bot.formatting import escape, local_datetime, phone_html
from bot.handlers.errors import forget_rejected_key
from bot.handlers.screen import show, show_progress
from bot.keyboards import rent as kb
from bot.messages import upstream_error
from bot.services.renting import RentOutcome, RentPlan, RentStatus
from bot.smspva import ErrorKind, SmspvaError

router = Router(name=__name__)


def result_screen(
    outcome: RentOutcome, plan: RentPlan, user: UserRow, top_up_url: str
) -> tuple[str, InlineKeyboardMarkup]:
    if outcome.number is not None:
        rented = outcome.number
        lines = []
        if outcome.status is RentStatus.DONE_AFTER_CHECK:
            lines.append(
                _(
                    "SMSPVA answered too slowly, so I checked your orders: the number is yours. I did not retry."
                )
            )
        lines += [
            _("✅ <b>Number rented</b>"),
            "",
            _("Number: {number}").format(number=phone_html(rented.ccode, rented.pnumber)),
            _("Service: {service}").format(service=escape(plan.service_name)),
            _("Ends: {date}").format(date=local_datetime(rented.until, user.timezone)),
            "",
            _(
                "Activate the number before sending an SMS to it. Every SMS it receives will be sent "
                "to you here."
            ),
        ]
        return "\n".join(lines), kb.order_actions(rented.order_id)
    again = kb.after_failure(plan.country, plan.service, plan.period, watch=False)
    if outcome.status is RentStatus.NOT_THERE:
        text = _(
            "SMSPVA did not give a clear answer. I checked your orders and no new number is there, so the "
            "rental did not go through. I did not retry; you can try again."
        )
        return text, again
    if outcome.status is RentStatus.UNCLEAR:
        text = _(
            "SMSPVA did not give a clear answer and I could not check your orders either. I did not retry, "
            "so you are never charged twice. Look at My numbers in a minute to see whether the number is there."
        )
        return text, again
    assert outcome.error is not None
    no_numbers = isinstance(outcome.error, SmspvaError) and outcome.error.kind is ErrorKind.NO_NUMBERS
    markup = kb.after_failure(plan.country, plan.service, plan.period, watch=no_numbers)
    return "❌ " + upstream_error(outcome.error, top_up_url), markup


@router.callback_query(ConfirmCb.filter(F.kind == ConfirmKind.RENT))
async def confirm_rent(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, user: UserRow, deps: Deps
) -> None:
    plan = RentPlan.from_payload(confirmation.payload)
    await show_progress(query, _("⏳ Renting a {service} number…").format(service=escape(plan.service_name)))
    outcome = await deps.renter.rent(confirmation, apikey)
    if outcome.number is not None:
        deps.poller.poke(user.id)  # a fresh rental: watch it closely from now on
    await forget_rejected_key(deps, user.id, outcome.error)
    await show(query, *result_screen(outcome, plan, user, deps.settings.top_up_url))
