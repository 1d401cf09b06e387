"""Keyboards of the archive: Restore buttons and paging, the restore preview and its result."""

from __future__ import annotations

from decimal import Decimal

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ArchiveAction, ArchiveCb, ConfirmCb, ConfirmKind
from bot.formatting import back_arrow, forward_arrow, money
from bot.keyboards.common import back_button, home_button, mirrored, my_numbers_button


def archive_page(restorable: list[tuple[int, str]], page: int, has_next: bool) -> InlineKeyboardMarkup:
    """restorable: (order id, the number as a label) of the rows that can be restored."""
    builder = InlineKeyboardBuilder()
    for order_id, number in restorable:
        builder.row(
            InlineKeyboardButton(
                text="♻️ " + _("Restore {number}").format(number=number),
                callback_data=ArchiveCb(action=ArchiveAction.RESTORE, order_id=order_id).pack(),
            )
        )
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text=back_arrow() + " " + _("Page {page}").format(page=page),
                callback_data=ArchiveCb(action=ArchiveAction.PAGE, page=page - 1).pack(),
            )
        )
    if has_next:
        nav.append(
            InlineKeyboardButton(
                text=_("Page {page}").format(page=page + 2) + " " + forward_arrow(),
                callback_data=ArchiveCb(action=ArchiveAction.PAGE, page=page + 1).pack(),
            )
        )
    if nav:
        builder.row(*nav)
    builder.row(home_button())
    return mirrored(builder.as_markup())


def _back_row() -> list[InlineKeyboardButton]:
    return [back_button(ArchiveCb(action=ArchiveAction.PAGE).pack()), home_button()]


def restore_preview(token: str, amount: Decimal | None = None) -> InlineKeyboardMarkup:
    confirm = ConfirmCb(kind=ConfirmKind.RESTORE, token=token).pack()
    label = (
        _("Restore and pay {amount}").format(amount=money(amount))
        if amount is not None
        else _("Restore and pay")
    )
    return mirrored(
        InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="✅ " + label, callback_data=confirm)],
                _back_row(),
            ]
        )
    )


def restore_again(order_id: int) -> InlineKeyboardMarkup:
    """After a Confirm refused for a changed price: the restore preview again, with today's price."""
    again = ArchiveCb(action=ArchiveAction.RESTORE, order_id=order_id).pack()
    return mirrored(
        InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="🔄 " + _("See the current price"), callback_data=again)],
                _back_row(),
            ]
        )
    )


def restore_result(succeeded: bool) -> InlineKeyboardMarkup:
    rows = [[my_numbers_button()]] if succeeded else []
    return mirrored(InlineKeyboardMarkup(inline_keyboard=[*rows, [home_button()]]))
