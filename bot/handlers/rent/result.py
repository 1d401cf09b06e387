"""Steps 5–6: Confirm → re-price → exactly one `create` → the result (or an honest account of what is known).

At the Confirm the price is read again (the catalog's answer may be up to 30 s old): when it or the
availability changed since the Summary, nothing is charged and the current Summary is shown to be
confirmed again. The result is delivered through the outbox when Telegram fails to show it."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb, ConfirmKind
from bot.db import UserRow
from bot.db.confirmations import Confirmation, ConfirmStatus
from bot.deps import Deps
from bot.formatting import escape, local_datetime, money, phone_html
from bot.handlers.confirm import deliver, progress
from bot.handlers.errors import forget_rejected_key
from bot.handlers.rent.summary import summary_screen
from bot.handlers.screen import show
from bot.handlers.upstream import catalog_key
from bot.keyboards import rent as kb
from bot.keyboards.common import only_home
from bot.messages import upstream_error
from bot.services.renting import RentOutcome, RentPlan, RentStatus
from bot.smspva import ErrorKind, SmspvaError

router = Router(name=__name__)


def result_screen(
    outcome: RentOutcome, plan: RentPlan, user: UserRow, top_up_url: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The result of the one `create` (`plan.total`: the price confirmed, when known)."""
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
        ]
        if plan.total is not None:
            # SMSPVA's answer does not say what it charged: the figure is the price confirmed.
            lines.append(_("Price (as quoted): {total}").format(total=money(plan.total)))
        lines += [
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


async def price_changed(plan: RentPlan, deps: Deps, user: UserRow) -> bool:
    """The Summary's total no longer holds: another price, no numbers left, or no longer offered.
    Priced with the same key as the Summary (prices may depend on the account)."""
    service = await deps.catalog.service(
        plan.country, plan.service, plan.period, apikey=await catalog_key(deps, user)
    )
    if service is None or service.count <= 0 or plan.total is None:
        return True
    return service.price_day * plan.period.days != plan.total


@router.callback_query(ConfirmCb.filter(F.kind == ConfirmKind.RENT))
async def confirm_rent(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, user: UserRow, deps: Deps
) -> None:
    plan = RentPlan.from_payload(confirmation.payload)
    if await price_changed(plan, deps, user):
        # Nothing was sent: this token ends here, and the current Summary (a new token) asks again.
        await deps.confirmations.finish(confirmation.token, ConfirmStatus.EXPIRED, {"msg": "price changed"})
        screen = await summary_screen(user, deps, plan.country, plan.service, plan.period)
        note = _("⚠️ The price or availability changed since the summary was shown. Nothing was charged.")
        if isinstance(screen, str):
            await show(query, note + "\n\n" + screen, only_home())
        else:
            await show(query, note + "\n\n" + screen[0], screen[1])
        return
    await progress(query, _("⏳ Renting your {service} number…").format(service=escape(plan.service_name)))
    outcome = await deps.renter.rent(confirmation, apikey)
    if outcome.number is not None:
        deps.poller.poke(user.id)  # a fresh rental: watch it closely from now on
    await forget_rejected_key(deps, user.id, outcome.error)
    await deliver(
        query, deps, user, confirmation, *result_screen(outcome, plan, user, deps.settings.top_up_url)
    )
