"""The archive (`get_rent_history`) and restoring an expired rental with a cost preview."""

from __future__ import annotations

from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ArchiveAction, ArchiveCb, ConfirmCb, ConfirmKind, MenuAction, MenuCb
from bot.db import UserRow
from bot.db.confirmations import Confirmation, ConfirmStatus
from bot.deps import Deps
from bot.formatting import (
    escape,
    local_date,
    local_datetime,
    ltr_code,
    money,
    number,
    phone,
    phone_html,
    split_full_number,
)
from bot.handlers.confirm import deliver, outcome_text, progress
from bot.handlers.errors import forget_rejected_key
from bot.handlers.screen import show
from bot.handlers.upstream import balance_note, catalog_key, require_key
from bot.keyboards import archive as kb
from bot.services.order_actions import RESTORE
from bot.smspva import HistoryItem, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)

PAGE_SIZE = 5


async def service_name(deps: Deps, country: str, code: str, apikey: str | None = None) -> str:
    """The page resolves the service code via the catalog; so do we (the code if unknown)."""
    try:
        service = await deps.catalog.service(country, code, apikey=apikey) if country else None
    except (SmspvaError, SmspvaUnavailable):
        service = None
    return service.name if service else code


def _restorable(item: HistoryItem) -> bool:
    # Without the (undocumented) flag we offer Restore and let restore_user_precalc decide.
    return item.is_avail_for_restore is not False


async def render_archive(event: Message | CallbackQuery, user: UserRow, deps: Deps, page: int) -> None:
    apikey = await require_key(deps, user)
    page = max(page, 0)
    # One extra row tells whether a next page exists (the API gives no total).
    items = await deps.smspva.rent_history(apikey, skip=page * PAGE_SIZE, take=PAGE_SIZE + 1)
    has_next = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    lines = [_("🗄 <b>Archive</b> — page {page}").format(page=page + 1), ""]
    if not items:
        lines.append(_("No matching records found"))
    apikey_for_names = await catalog_key(deps, user)
    for item in items:
        name = await service_name(deps, item.country, item.resource_code, apikey_for_names)
        begin = local_date(item.begin, user.timezone) if item.begin else "—"
        closed = local_date(item.closed, user.timezone) if item.closed else "—"
        ccode, pnumber = split_full_number(item.country, item.number)
        lines.append(
            _("{begin} → {closed} · {service} · {number}").format(
                begin=begin, closed=closed, service=escape(name), number=phone_html(ccode, pnumber)
            )
        )
        if not _restorable(item):
            # Said on the row itself: otherwise a row without a Restore button looks forgotten.
            lines.append("   " + _("↳ cannot be restored: SMSPVA marks this number as unavailable."))
    restorable = [
        (item.order_id, phone(*split_full_number(item.country, item.number)))
        for item in items
        if _restorable(item)
    ]
    await show(event, "\n".join(lines), kb.archive_page(restorable, page, has_next))


@router.message(Command("archive"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.ARCHIVE))
async def open_archive(event: Message | CallbackQuery, user: UserRow, deps: Deps, state: FSMContext) -> None:
    await state.clear()
    if isinstance(event, CallbackQuery):
        await event.answer()
    await render_archive(event, user, deps, 0)


@router.callback_query(ArchiveCb.filter(F.action == ArchiveAction.PAGE))
async def on_archive_page(query: CallbackQuery, callback_data: ArchiveCb, user: UserRow, deps: Deps) -> None:
    await query.answer()
    await render_archive(query, user, deps, callback_data.page)


# --- restore -------------------------------------------------------------------------------------


@router.callback_query(ArchiveCb.filter(F.action == ArchiveAction.RESTORE))
async def on_restore(query: CallbackQuery, callback_data: ArchiveCb, user: UserRow, deps: Deps) -> None:
    await query.answer()
    apikey = await require_key(deps, user)
    # restore_user_precalc checks ownership upstream (NOTOWNER) with the user's own key: a
    # forged order id costs nothing and gets the documented explanation.
    quote = await deps.smspva.restore_precalc(apikey, callback_data.order_id)
    full_number = (
        "+" + quote.pnumber if quote.pnumber and not quote.pnumber.startswith("+") else quote.pnumber
    )
    token = await deps.confirmations.issue(
        user.id,
        RESTORE,
        {
            "order_id": quote.orderid or callback_data.order_id,
            "price": str(quote.price),
            # Digits only (SMSPVA may send "+<code><number>"): shown as "+" + number, and compared
            # with `pnumber_with_code` when an unclear restore is reconciled.
            "number": "".join(ch for ch in quote.pnumber if ch.isdigit()),
            "service_name": quote.sname or quote.scode,
        },
    )
    lines = [
        _("♻️ <b>Restore</b> {number}").format(number=ltr_code(full_number)),
        _("Service: {service}").format(service=escape(quote.sname or quote.scode)),
        _("Overdue days: {days}").format(days=number(quote.outdays)),
        _("Paid in advance: {days} days").format(days=number(quote.prolong_to)),
        _("<b>Price: {price}</b>").format(price=money(Decimal(quote.price))),
        *await balance_note(deps, user, Decimal(quote.price)),
        "",
        _(
            "Restore cost = the overdue days at full price (no discount) + 30 days of rent paid in advance. "
            "Restoring is possible only when it is technically feasible."
        ),
    ]
    await show(query, "\n".join(lines), kb.restore_preview(token, Decimal(quote.price)))


@router.callback_query(ConfirmCb.filter(F.kind == ConfirmKind.RESTORE))
async def confirm_restore(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, user: UserRow, deps: Deps
) -> None:
    payload = confirmation.payload
    order_id = int(payload["order_id"])
    # Re-priced at the Confirm (restore_user_precalc is a read): a changed price asks again.
    quote = await deps.smspva.restore_precalc(apikey, order_id)
    if Decimal(quote.price) != Decimal(str(payload.get("price", "-1"))):
        await deps.confirmations.finish(confirmation.token, ConfirmStatus.EXPIRED, {"msg": "price changed"})
        text = _("⚠️ The price changed since the preview was shown. Nothing was charged.")
        await show(query, text, kb.restore_again(order_id))
        return
    await progress(query, _("⏳ Restoring…"))
    outcome = await deps.order_actions.restore(confirmation, apikey)
    await forget_rejected_key(deps, user.id, outcome.error)
    success = _("✅ Restored {number}. Price (as quoted): {price}.").format(
        number=ltr_code("+" + str(payload.get("number", ""))),
        price=money(Decimal(str(payload.get("price", "0")))),
    )
    if outcome.order is not None:
        success += "\n" + _("New end date: {date}").format(
            date=local_datetime(outcome.order.until, user.timezone)
        )
    if outcome.succeeded:
        deps.poller.poke(user.id)
    text = outcome_text(outcome, success, deps.settings.top_up_url)
    await deliver(query, deps, user, confirmation, text, kb.restore_result(outcome.succeeded))
