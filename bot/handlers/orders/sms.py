"""The SMS of one number, newest first; other services' SMS listed separately.

Entries are separated by a blank line. The screen is paged so that no page passes Telegram's
4,096 characters, and an SMS too long for one page is shown in numbered parts on consecutive pages:
every SMS can be read in full, however long.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import OrderAction, OrderCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import code_html, escape, extract_code, isolate, local_datetime, phone_html, rtl_line
from bot.handlers.screen import show
from bot.keyboards import orders as kb
from bot.pushes import MAX_PUSH_CHARS, split_text, visible_length
from bot.smspva import Order, Sms

router = Router(name=__name__)

# Room left on a page for the screen's header, separators and a part label: pages stay well under
# Telegram's limit whatever the count's rounding.
_PAGE_MARGIN = 200
_ENTRY_MARGIN = 120


def _entries(sms_list: list[Sms], tz: str, budget: int) -> list[str]:
    """One block per SMS (newest first), or several numbered ones for an SMS longer than `budget`."""
    blocks: list[str] = []
    for sms in sorted(sms_list, key=lambda s: s.date or 0, reverse=True):
        head = _("🕒 {time} · {sender}").format(
            time=local_datetime(sms.date, tz) if sms.date is not None else "?",
            sender=isolate(escape(sms.sender or "?"), ltr=False),
        )
        code = extract_code(sms.text)
        code_line = "\n" + _("Code: {code}").format(code=code_html(code)) if code else ""
        room = budget - visible_length(head + code_line) - _ENTRY_MARGIN
        pieces = split_text(sms.text, room)
        for index, piece in enumerate(pieces, start=1):
            label = ""
            if len(pieces) > 1:
                label = " · <i>" + _("Part {part} of {total}").format(part=index, total=len(pieces)) + "</i>"
            top = rtl_line(head + label + (code_line if index == 1 else ""))
            blocks.append(f"{top}\n{escape(piece)}")
    return blocks


def _pages(header: str, blocks: list[str], budget: int) -> list[str]:
    """Blocks packed into pages of at most `budget` visible characters, a blank line between them."""
    pages: list[list[str]] = [[]]
    used = 0
    for block in blocks:
        size = visible_length(block) + 2
        if pages[-1] and used + size > budget:
            pages.append([])
            used = 0
        pages[-1].append(block)
        used += size
    return [header + "\n\n" + "\n\n".join(page) for page in pages]


def sms_screen(order: Order, own: list[Sms], other: list[Sms], tz: str) -> list[str]:
    """The pages of the SMS screen (at least one)."""
    header = _("✉️ <b>SMS</b> for {number}").format(number=phone_html(order.ccode, order.pnumber))
    if not own and not other:
        return [
            header + "\n\n" + _("No SMS yet. Activate the number before the SMS is sent, then wait a little.")
        ]
    budget = MAX_PUSH_CHARS - visible_length(header) - _PAGE_MARGIN
    blocks = _entries(own, tz, budget) or [_("No SMS for this number's own services yet.")]
    if other:
        others = _entries(other, tz, budget - 60)  # the section's title goes with its first entry
        others[0] = _("<b>SMS for other services</b>") + "\n\n" + others[0]
        blocks += others
    return _pages(header, blocks, budget)


@router.callback_query(OrderCb.filter(F.action == OrderAction.SMS))
async def on_sms(
    query: CallbackQuery, callback_data: OrderCb, user: UserRow, order: Order, apikey: str, deps: Deps
) -> None:
    await query.answer()
    batch = await deps.smspva.sms(apikey, order.id)
    pages = sms_screen(order, batch.sms, batch.other, user.timezone)
    page = min(max(callback_data.page, 0), len(pages) - 1)
    await show(query, pages[page], kb.sms_pages(order.id, page, len(pages)))
