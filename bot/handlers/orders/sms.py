"""The SMS of one number, newest first; other services' SMS listed separately."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import OrderAction, OrderCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import code_html, escape, extract_code, local_datetime, phone_html
from bot.handlers.screen import show
from bot.keyboards import orders as kb
from bot.smspva import Order, Sms

router = Router(name=__name__)

SMS_SHOWN = 20


def _sms_block(sms_list: list[Sms], tz: str, budget: int) -> tuple[list[str], int]:
    lines: list[str] = []
    shown = 0
    for sms in sorted(sms_list, key=lambda s: s.date or 0, reverse=True)[:SMS_SHOWN]:
        code = extract_code(sms.text)
        entry = _("🕒 {time} · {sender}").format(
            time=local_datetime(sms.date, tz) if sms.date is not None else "?",
            sender=escape(sms.sender or "?"),
        )
        if code:
            entry += "\n" + _("Code: {code}").format(code=code_html(code))
        entry += "\n" + escape(sms.text)
        if budget - len(entry) < 0:
            break
        budget -= len(entry) + 2
        lines.append(entry)
        shown += 1
    return lines, shown


@router.callback_query(OrderCb.filter(F.action == OrderAction.SMS))
async def on_sms(query: CallbackQuery, user: UserRow, order: Order, apikey: str, deps: Deps) -> None:
    await query.answer()
    back = kb.back_to_card(order.id)
    batch = await deps.smspva.sms(apikey, order.id)
    header = _("✉️ <b>SMS</b> for {number}").format(number=phone_html(order.ccode, order.pnumber))
    parts = [header, ""]
    if not batch.sms and not batch.other:
        parts.append(_("No SMS yet. Activate the number before the SMS is sent, then wait a little."))
        await show(query, "\n".join(parts), back)
        return
    own, shown = _sms_block(batch.sms, user.timezone, 3000)
    parts += own or [_("No SMS for this number's own services yet.")]
    if len(batch.sms) > shown:
        parts.append(_("…and {count} older.").format(count=len(batch.sms) - shown))
    if batch.other:
        other, other_shown = _sms_block(batch.other, user.timezone, 3600 - len("\n\n".join(parts)))
        parts += ["", _("<b>SMS for other services</b>"), *other]
        if len(batch.other) > other_shown:
            parts.append(_("…and {count} older.").format(count=len(batch.other) - other_shown))
    await show(query, "\n".join(parts), back)
