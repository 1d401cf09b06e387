"""The archive (`get_rent_history`) and restoring an expired rental with a cost preview."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ArchiveAction, ArchiveCb, ConfirmCb, MenuAction, MenuCb, OrderAction, OrderCb
from bot.db import UserRow, UsersRepo
from bot.db.confirmations import Confirmation, ConfirmationsRepo
from bot.formatting import escape, local_date, local_datetime, ltr_code, money, number
from bot.handlers.confirm import executor
from bot.handlers.screen import show
from bot.keyboards.common import back_button, home_button, only_home
from bot.messages import need_key, outcome_text, upstream_error
from bot.services.catalog import Catalog
from bot.services.order_actions import RESTORE, ActionStatus, OrderActions
from bot.services.poller import SmsPoller
from bot.smspva import HistoryItem, SmspvaClient, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)

PAGE_SIZE = 5


async def service_name(catalog: Catalog, country: str, code: str) -> str:
    """The page resolves the service code via the catalog; so do we (the code if unknown)."""
    try:
        service = await catalog.service(country, code) if country else None
    except (SmspvaError, SmspvaUnavailable):
        service = None
    return service.name if service else code


def _restorable(item: HistoryItem) -> bool:
    # Without the (undocumented) flag we offer Restore and let restore_user_precalc decide.
    return item.is_avail_for_restore is not False


async def render_archive(
    event: Message | CallbackQuery,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    catalog: Catalog,
    page: int,
) -> None:
    apikey = await users.api_key(user.id)
    if apikey is None:
        await show(event, need_key(), only_home())
        return
    page = max(page, 0)
    try:
        # One extra row tells whether a next page exists (the API gives no total).
        items = await smspva.rent_history(apikey, skip=page * PAGE_SIZE, take=PAGE_SIZE + 1)
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(event, upstream_error(error), only_home())
        return
    has_next = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    lines = [_("🗄 <b>Archive</b> — page {page}").format(page=page + 1), ""]
    builder = InlineKeyboardBuilder()
    if not items:
        lines.append(_("No matching records found"))
    for item in items:
        name = await service_name(catalog, item.country, item.resource_code)
        begin = local_date(item.begin, user.timezone) if item.begin else "—"
        closed = local_date(item.closed, user.timezone) if item.closed else "—"
        lines.append(
            _("{begin} → {closed} · {service} · {number}").format(
                begin=begin, closed=closed, service=escape(name), number=ltr_code("+" + item.number)
            )
        )
        if _restorable(item):
            builder.row(
                InlineKeyboardButton(
                    text="♻️ " + _("Restore +{number}").format(number=item.number),
                    callback_data=ArchiveCb(action=ArchiveAction.RESTORE, order_id=item.order_id).pack(),
                )
            )
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                text="◀️ " + _("Page {page}").format(page=page),
                callback_data=ArchiveCb(action=ArchiveAction.PAGE, page=page - 1).pack(),
            )
        )
    if has_next:
        nav.append(
            InlineKeyboardButton(
                text=_("Page {page}").format(page=page + 2) + " ▶️",
                callback_data=ArchiveCb(action=ArchiveAction.PAGE, page=page + 1).pack(),
            )
        )
    if nav:
        builder.row(*nav)
    builder.row(home_button())
    await show(event, "\n".join(lines), builder.as_markup())


@router.message(Command("archive"))
async def cmd_archive(
    message: Message,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    catalog: Catalog,
    state: FSMContext,
) -> None:
    await state.clear()
    await render_archive(message, user, users, smspva, catalog, 0)


@router.callback_query(MenuCb.filter(F.action == MenuAction.ARCHIVE))
async def on_menu_archive(
    query: CallbackQuery,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    catalog: Catalog,
    state: FSMContext,
) -> None:
    await state.clear()
    await query.answer()
    await render_archive(query, user, users, smspva, catalog, 0)


@router.callback_query(ArchiveCb.filter(F.action == ArchiveAction.PAGE))
async def on_archive_page(
    query: CallbackQuery,
    callback_data: ArchiveCb,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    catalog: Catalog,
) -> None:
    await query.answer()
    await render_archive(query, user, users, smspva, catalog, callback_data.page)


# --- restore -------------------------------------------------------------------------------------


@router.callback_query(ArchiveCb.filter(F.action == ArchiveAction.RESTORE))
async def on_restore(
    query: CallbackQuery,
    callback_data: ArchiveCb,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    confirmations: ConfirmationsRepo,
) -> None:
    await query.answer()
    apikey = await users.api_key(user.id)
    if apikey is None:
        await show(query, need_key(), only_home())
        return
    back = InlineKeyboardMarkup(
        inline_keyboard=[[back_button(ArchiveCb(action=ArchiveAction.PAGE).pack()), home_button()]]
    )
    try:
        # restore_user_precalc checks ownership upstream (NOTOWNER) with the user's own key: a
        # forged order id costs nothing and gets the documented explanation.
        quote = await smspva.restore_precalc(apikey, callback_data.order_id)
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(query, "❌ " + upstream_error(error), back)
        return
    full_number = (
        "+" + quote.pnumber if quote.pnumber and not quote.pnumber.startswith("+") else quote.pnumber
    )
    token = await confirmations.issue(
        user.id,
        RESTORE,
        {
            "order_id": quote.orderid or callback_data.order_id,
            "price": str(quote.price),
            "number": quote.pnumber,
            "service_name": quote.sname or quote.scode,
        },
    )
    lines = [
        _("♻️ <b>Restore</b> {number}").format(number=ltr_code(full_number)),
        _("Service: {service}").format(service=escape(quote.sname or quote.scode)),
        _("Overdue days: {days}").format(days=number(quote.outdays)),
        _("Paid in advance: {days} days").format(days=number(quote.prolong_to)),
        _("<b>Price: {price}</b>").format(price=money(Decimal(quote.price))),
        "",
        _(
            "Restore cost = the overdue days at full price (no discount) + 30 days of rent paid in advance. "
            "Restoring is possible only when it is technically feasible."
        ),
    ]
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text="✅ " + _("Restore and pay"), callback_data=ConfirmCb(token=token).pack()
                )
            ],
            [back_button(ArchiveCb(action=ArchiveAction.PAGE).pack()), home_button()],
        ]
    )
    await show(query, "\n".join(lines), markup)


@executor(RESTORE)
async def execute_restore(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, data: dict[str, Any]
) -> None:
    actions: OrderActions = data["order_actions"]
    user: UserRow = data["user"]
    poller: SmsPoller = data["poller"]
    await show(query, _("⏳ Restoring…"))
    outcome = await actions.restore(confirmation, apikey)
    success = _("✅ Restored {number}. Charged: {price}.").format(
        number=ltr_code("+" + str(confirmation.payload.get("number", ""))),
        price=money(Decimal(str(confirmation.payload.get("price", "0")))),
    )
    if outcome.order is not None:
        success += "\n" + _("New end date: {date}").format(
            date=local_datetime(outcome.order.until, user.timezone)
        )
    rows = [[home_button()]]
    if outcome.status in (ActionStatus.DONE, ActionStatus.DONE_AFTER_CHECK):
        poller.poke(user.id)
        rows.insert(
            0,
            [
                InlineKeyboardButton(
                    text="📋 " + _("My numbers"), callback_data=OrderCb(action=OrderAction.LIST).pack()
                )
            ],
        )
    await show(query, outcome_text(outcome, success), InlineKeyboardMarkup(inline_keyboard=rows))
