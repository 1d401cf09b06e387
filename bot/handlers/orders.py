"""My numbers: the order list, the order card and every order action.

Callback data is never trusted: every action first re-reads the user's orders from SMSPVA with
their own key, and an order id that is not among them is refused before anything else happens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiogram import BaseMiddleware, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import MenuAction, MenuCb, OrderAction, OrderCb
from bot.db import UserRow, UsersRepo
from bot.db.confirmations import Confirmation, ConfirmationsRepo
from bot.db.expiry import ExpiryRepo
from bot.db.orders import OrdersRepo
from bot.formatting import (
    code_html,
    country_name,
    escape,
    extract_code,
    flag,
    local_datetime,
    ltr_code,
    money,
    phone,
    phone_html,
)
from bot.handlers.confirm import executor
from bot.handlers.screen import show
from bot.keyboards import orders as kb
from bot.keyboards.common import only_home, page_slice
from bot.keyboards.rent import period_label
from bot.messages import need_key, outcome_text, upstream_error
from bot.periods import ALL_PERIODS, MAX_RENT_DAYS, Period
from bot.services.catalog import Catalog
from bot.services.order_actions import ADD_SERVICE, DELETE, PROLONG, OrderActions
from bot.services.poller import SmsPoller
from bot.smspva import ErrorKind, Order, OrderState, SmspvaClient, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)
log = logging.getLogger(__name__)

PROLONG_WINDOW_DAYS = 7  # the FAQ: prolonging is possible only when less than 7 days remain
ADD_SERVICE_DAYS = (7, 1)  # the page's "rent an additional service" dialog offers 7 or 1 days
SMS_SHOWN = 20


class OrderForm(StatesGroup):
    add_service = State()  # the add-service list is open: typed text searches it


def state_label(state: int) -> str:
    labels: dict[int, str] = {
        OrderState.NOT_ACTIVE: _("⚪ not active — activate before use"),
        OrderState.ACTIVE: _("🟢 active — can receive SMS"),
        OrderState.ACTIVATING: _("🟡 activating"),
        OrderState.NOT_IN_SYSTEM: _("🔴 not in the system"),
    }
    return labels.get(state, _("❔ unknown state ({state})").format(state=state))


# --- loading, with ownership ---------------------------------------------------------------------


async def _key_or_tell(event: Message | CallbackQuery, user: UserRow, users: UsersRepo) -> str | None:
    apikey = await users.api_key(user.id)
    if apikey is None:
        await show(event, need_key(), only_home())
    return apikey


async def _fetch_orders(
    event: Message | CallbackQuery,
    user: UserRow,
    apikey: str,
    smspva: SmspvaClient,
    orders_repo: OrdersRepo,
    users: UsersRepo,
) -> list[Order] | None:
    try:
        orders = await smspva.orders(apikey)
    except (SmspvaError, SmspvaUnavailable) as error:
        if isinstance(error, SmspvaError) and error.kind is ErrorKind.AUTH:
            await users.mark_key_invalid(user.id)
        await show(event, upstream_error(error), only_home())
        return None
    for order in orders:
        await orders_repo.upsert_seen(user.id, order)
    return orders


async def _owned_order(
    query: CallbackQuery,
    order_id: int,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    orders_repo: OrdersRepo,
) -> tuple[str, Order] | None:
    """The order, if it is among this user's orders right now; otherwise the user is told why not."""
    apikey = await _key_or_tell(query, user, users)
    if apikey is None:
        return None
    orders = await _fetch_orders(query, user, apikey, smspva, orders_repo, users)
    if orders is None:
        return None
    order = next((o for o in orders if o.id == order_id), None)
    if order is None:
        log.warning("order not owned or gone user_id=%s order_id=%s", user.id, order_id)
        await show(
            query,
            _("This number is not among your current orders (it may have expired or been deleted)."),
            kb.back_to_list(),
        )
        return None
    return apikey, order


class OwnedOrderMiddleware(BaseMiddleware):
    """For every order button (but the list): re-read the user's orders with their own key and
    hand the handler `order` and `apikey` only if the id is among them. Callback data is never
    trusted; a forged or stale id is refused here, before any handler can act on it."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        callback_data = data.get("callback_data")
        if not isinstance(callback_data, OrderCb) or callback_data.action in LIST_ACTIONS:
            return await handler(event, data)
        assert isinstance(event, CallbackQuery)
        owned = await _owned_order(
            event, callback_data.order_id, data["user"], data["users"], data["smspva"], data["orders_repo"]
        )
        if owned is None:
            await event.answer()
            return None
        data["apikey"], data["order"] = owned
        return await handler(event, data)


LIST_ACTIONS = frozenset({OrderAction.LIST, OrderAction.REFRESH})
router.callback_query.middleware(OwnedOrderMiddleware())


# --- the list ------------------------------------------------------------------------------------


def order_line(order: Order, tz: str) -> str:
    new = " ✉️" if order.hasnewsms else ""
    return _("{state}\n{number} · {service} · until {date}{new}").format(
        state=state_label(order.state),
        number=phone_html(order.ccode, order.pnumber),
        service=escape(order.sname or order.scode),
        date=local_datetime(order.until, tz),
        new=new,
    )


async def render_list(
    event: Message | CallbackQuery,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    orders_repo: OrdersRepo,
    page: int,
) -> None:
    apikey = await _key_or_tell(event, user, users)
    if apikey is None:
        return
    orders = await _fetch_orders(event, user, apikey, smspva, orders_repo, users)
    if orders is None:
        return
    if not orders:
        await show(
            event,
            _("📋 <b>My numbers</b>\n\nYou have no rented numbers right now. Rent one in a few taps."),
            kb.empty_list(),
        )
        return
    orders.sort(key=lambda o: o.until)
    page, _pages, first = page_slice(len(orders), page, kb.ORDERS_PER_PAGE)
    lines = [_("📋 <b>My numbers</b> ({count})").format(count=len(orders)), ""]
    for order in orders[first : first + kb.ORDERS_PER_PAGE]:
        lines.append(order_line(order, user.timezone))
        lines.append("")
    lines.append(_("Tap a number to open it. ✉️ marks new SMS."))
    await show(event, "\n".join(lines), kb.order_list(orders, page))


@router.message(Command("orders"))
async def cmd_orders(
    message: Message,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    orders_repo: OrdersRepo,
    state: FSMContext,
) -> None:
    await state.clear()
    await render_list(message, user, users, smspva, orders_repo, 0)


@router.callback_query(MenuCb.filter(F.action == MenuAction.ORDERS))
async def on_menu_orders(
    query: CallbackQuery,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    orders_repo: OrdersRepo,
    state: FSMContext,
) -> None:
    await state.clear()
    await query.answer()
    await render_list(query, user, users, smspva, orders_repo, 0)


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.LIST, OrderAction.REFRESH})))
async def on_list(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    orders_repo: OrdersRepo,
    state: FSMContext,
) -> None:
    await state.clear()
    await query.answer(_("Updated.") if callback_data.action == OrderAction.REFRESH else None)
    await render_list(query, user, users, smspva, orders_repo, callback_data.page)


# --- the card ------------------------------------------------------------------------------------


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


async def card_text(order: Order, user: UserRow, catalog: Catalog) -> str:
    country = None
    try:
        country = await catalog.country(order.cname)
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


async def show_card(
    query: CallbackQuery, order: Order, user: UserRow, catalog: Catalog, data: dict[str, Any]
) -> None:
    auto = data.get("auto_prolong_repo")
    enabled: bool | None = None
    if auto is not None:
        enabled = await auto.is_enabled(order.id)
    await show(query, await card_text(order, user, catalog), kb.card(order, auto_prolong=enabled))


@router.callback_query(OrderCb.filter(F.action == OrderAction.CARD))
async def on_card(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    catalog: Catalog,
    state: FSMContext,
    **data: Any,
) -> None:
    await state.clear()
    await query.answer()
    await show_card(query, order, user, catalog, data)


# --- activate ------------------------------------------------------------------------------------


@router.callback_query(OrderCb.filter(F.action == OrderAction.ACTIVATE))
async def on_activate(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    apikey: str,
    smspva: SmspvaClient,
    orders_repo: OrdersRepo,
    poller: SmsPoller,
) -> None:
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
    try:
        await smspva.activate(apikey, order.id)  # never retried automatically
    except SmspvaError as error:
        await show(query, upstream_error(error), back)
        return
    except SmspvaUnavailable as error:
        if not error.request_sent:
            await show(query, upstream_error(error), back)
            return
        # Unclear: look whether the activation went through instead of asking twice.
        try:
            after = next((o for o in await smspva.orders(apikey) if o.id == order.id), None)
        except (SmspvaError, SmspvaUnavailable):
            after = None
        if after is None or after.state == OrderState.NOT_ACTIVE:
            await show(query, _("SMSPVA did not confirm the activation. Please try again in a minute."), back)
            return
    await orders_repo.mark_activated(order.id)
    poller.poke(user.id)
    await show(
        query,
        _(
            "⚡ Activation requested for {number}.\n\n"
            "The number joins SMSPVA's activation queue: on average it takes 10–15 minutes, sometimes longer. "
            "Once online, it stays online for 10–30 minutes. I will message you as soon as it is online."
        ).format(number=phone_html(order.ccode, order.pnumber)),
        back,
    )


# --- SMS -----------------------------------------------------------------------------------------


def _sms_block(sms_list: list[Any], tz: str, budget: int) -> tuple[list[str], int]:
    lines: list[str] = []
    shown = 0
    for sms in sorted(sms_list, key=lambda s: s.date, reverse=True)[:SMS_SHOWN]:
        code = extract_code(sms.text)
        entry = _("🕒 {time} · {sender}").format(
            time=local_datetime(sms.date, tz), sender=escape(sms.sender or "?")
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
async def on_sms(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    apikey: str,
    smspva: SmspvaClient,
) -> None:
    await query.answer()
    back = kb.back_to_card(order.id)
    try:
        batch = await smspva.sms(apikey, order.id)
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(query, upstream_error(error), back)
        return
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


# --- prolong -------------------------------------------------------------------------------------


def allowed_prolong_periods(order: Order, now: float) -> list[Period]:
    """Periods within canprolongmax / canprolonguntil and the 90-day rule (counted from now)."""
    allowed = []
    for period in ALL_PERIODS:
        new_until = order.until + period.days * 86400
        if order.canprolongmax is not None and period.days > order.canprolongmax:
            continue
        if order.canprolonguntil and new_until > order.canprolonguntil:
            continue
        if new_until - now > MAX_RENT_DAYS * 86400:
            continue
        allowed.append(period)
    return allowed


@router.callback_query(OrderCb.filter(F.action == OrderAction.PROLONG))
async def on_prolong(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    catalog: Catalog,
) -> None:
    await query.answer()
    back = kb.back_to_card(order.id)
    now = time.time()
    if order.until - now >= PROLONG_WINDOW_DAYS * 86400 or not order.canprolong:
        await show(query, "⏳ " + prolong_status(order, user.timezone), back)
        return
    periods = allowed_prolong_periods(order, now)
    if not periods:
        await show(
            query, _("This number already reaches the 90-day maximum: it cannot be prolonged further."), back
        )
        return
    totals = await catalog.order_totals(order.cname, order.scode, periods)
    text = _(
        "⏳ <b>Prolong</b> {number}\nExpires: {date}\n\nChoose how long to add (the rental may not exceed 90 days)."
    ).format(number=phone_html(order.ccode, order.pnumber), date=local_datetime(order.until, user.timezone))
    await show(query, text, kb.prolong_periods(order.id, totals))


async def prolong_preview(
    user: UserRow, order: Order, period: Period, catalog: Catalog, confirmations: ConfirmationsRepo
) -> tuple[str, InlineKeyboardMarkup] | str:
    """The priced preview with a single-use token, or an explanation why it cannot be prolonged."""
    if order.until - time.time() >= PROLONG_WINDOW_DAYS * 86400 or not order.canprolong:
        return "⏳ " + prolong_status(order, user.timezone)
    if period not in allowed_prolong_periods(order, time.time()):
        return _("This period would take the rental past the 90-day maximum. Choose a shorter one.")
    try:
        price_day = await catalog.order_price_day(order.cname, order.scode, period)
    except (SmspvaError, SmspvaUnavailable) as error:
        return upstream_error(error)
    if price_day is None:
        return _("SMSPVA does not list a price for this service now, so it cannot be prolonged from here.")
    total = price_day * period.days
    new_until = order.until + period.days * 86400
    token = await confirmations.issue(
        user.id,
        PROLONG,
        {
            "order_id": order.id,
            "dtype": period.dtype.value,
            "dcount": period.dcount,
            "until": order.until,
            "total": str(total),
            "number": phone(order.ccode, order.pnumber),
        },
    )
    text = "\n".join(
        [
            _("⏳ <b>Prolong</b> {number}").format(number=phone_html(order.ccode, order.pnumber)),
            _("Service: {service}").format(service=escape(order.sname or order.scode)),
            _("Add: {period}").format(period=period_label(period)),
            _("Price per day: {price}").format(price=money(price_day)),
            _("<b>Total: {total}</b>").format(total=money(total)),
            _("New end date: {date}").format(date=local_datetime(new_until, user.timezone)),
        ]
    )
    return text, kb.confirm(token, OrderCb(action=OrderAction.PROLONG, order_id=order.id).pack())


@router.callback_query(OrderCb.filter(F.action == OrderAction.PROLONG_PERIOD))
async def on_prolong_period(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    catalog: Catalog,
    confirmations: ConfirmationsRepo,
) -> None:
    period = Period.parse(callback_data.dtype, callback_data.dcount)
    if period is None:
        await query.answer(_("This period is not offered (at most 90 days)."), show_alert=True)
        return
    await query.answer()
    screen = await prolong_preview(user, order, period, catalog, confirmations)
    if isinstance(screen, str):
        await show(query, screen, kb.back_to_card(order.id))
    else:
        await show(query, *screen)


# --- add a service -------------------------------------------------------------------------------


async def render_add_service(
    query: CallbackQuery | Message, order: Order, catalog: Catalog, state: FSMContext, page: int
) -> None:
    data = await state.get_data()
    search = str(data.get("query", "")) if data.get("order_id") == order.id else ""
    await state.set_state(OrderForm.add_service)
    await state.update_data(order_id=order.id, query=search)
    try:
        listing = await catalog.services(order.cname)
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(query, upstream_error(error), kb.back_to_card(order.id))
        return
    present = set(order.scode.split(","))
    needle = search.casefold()
    services = sorted(
        (s for s in listing.services if s.code not in present and needle in s.name.casefold()),
        key=lambda s: s.name.casefold(),
    )
    lines = [
        _("➕ <b>Rent an additional service</b> for {number}").format(
            number=phone_html(order.ccode, order.pnumber)
        ),
        _("Choose the service. Type a name to search."),
    ]
    if search:
        lines.append(
            _("🔎 Search: «{query}» — {count} found.").format(query=escape(search), count=len(services))
        )
    await show(query, "\n".join(lines), kb.add_service_list(order.id, services, page, searching=bool(search)))


@router.callback_query(OrderCb.filter(F.action.in_({OrderAction.ADD_SERVICE, OrderAction.ADD_SERVICE_CLEAR})))
async def on_add_service(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    catalog: Catalog,
    state: FSMContext,
) -> None:
    await query.answer()
    if callback_data.action == OrderAction.ADD_SERVICE_CLEAR:
        await state.update_data(query="")
    await render_add_service(query, order, catalog, state, callback_data.page)


@router.message(OrderForm.add_service, F.text, ~F.text.startswith("/"))
async def on_add_service_search(
    message: Message,
    user: UserRow,
    users: UsersRepo,
    smspva: SmspvaClient,
    orders_repo: OrdersRepo,
    catalog: Catalog,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    apikey = await _key_or_tell(message, user, users)
    if apikey is None:
        return
    orders = await _fetch_orders(message, user, apikey, smspva, orders_repo, users)
    order = next((o for o in orders or [] if o.id == data.get("order_id")), None)
    if order is None:
        await state.clear()
        await message.answer(
            _("This number is not among your current orders (it may have expired or been deleted).")
        )
        return
    await state.update_data(query=(message.text or "")[:64])
    await render_add_service(message, order, catalog, state, 0)


@router.callback_query(OrderCb.filter(F.action == OrderAction.ADD_SERVICE_PICK))
async def on_add_service_pick(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    catalog: Catalog,
    state: FSMContext,
) -> None:
    await query.answer()
    await state.set_state(None)
    try:
        service = await catalog.service(order.cname, callback_data.service)
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(query, upstream_error(error), kb.back_to_card(order.id))
        return
    if service is None:
        await show(query, _("This service is no longer offered here."), kb.back_to_card(order.id))
        return
    text = _("➕ <b>{service}</b> on {number}\nPrice per day: {price}\n\nChoose the rental period.").format(
        service=escape(service.name),
        number=phone_html(order.ccode, order.pnumber),
        price=money(service.price_day),
    )
    await show(query, text, kb.add_service_days(order.id, service, ADD_SERVICE_DAYS))


@router.callback_query(OrderCb.filter(F.action == OrderAction.ADD_SERVICE_DAYS))
async def on_add_service_days(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    catalog: Catalog,
    confirmations: ConfirmationsRepo,
) -> None:
    days = callback_data.dcount
    if days not in ADD_SERVICE_DAYS:
        await query.answer(_("This period is not offered."), show_alert=True)
        return
    await query.answer()
    try:
        service = await catalog.service(order.cname, callback_data.service)
    except (SmspvaError, SmspvaUnavailable) as error:
        await show(query, upstream_error(error), kb.back_to_card(order.id))
        return
    if service is None:
        await show(query, _("This service is no longer offered here."), kb.back_to_card(order.id))
        return
    total = service.price_day * days
    token = await confirmations.issue(
        user.id,
        ADD_SERVICE,
        {
            "order_id": order.id,
            "service": service.code,
            "service_name": service.name,
            "pnumber": order.pnumber_with_code,
            "days": days,
            "total": str(total),
        },
    )
    text = "\n".join(
        [
            _("➕ <b>Rent an additional service</b>"),
            _("Number: {number}").format(number=phone_html(order.ccode, order.pnumber)),
            _("Service: {service}").format(service=escape(service.name)),
            _("Rental period: {days}").format(
                days=ngettext("{count} day", "{count} days", days).format(count=days)
            ),
            _("<b>Total: {total}</b>").format(total=money(total)),
        ]
    )
    back = OrderCb(action=OrderAction.ADD_SERVICE_PICK, order_id=order.id, service=service.code).pack()
    await show(query, text, kb.confirm(token, back))


# --- delete --------------------------------------------------------------------------------------


@router.callback_query(OrderCb.filter(F.action == OrderAction.DELETE))
async def on_delete(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    confirmations: ConfirmationsRepo,
) -> None:
    await query.answer()
    token = await confirmations.issue(
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
    await show(query, text, kb.confirm(token, OrderCb(action=OrderAction.CARD, order_id=order.id).pack()))


# --- auto-prolong ----------------------------------------------------------------------------------

AUTO_PERIODS = tuple(p for p in ALL_PERIODS if p.days <= 30)


async def _auto_screen(
    user: UserRow, order: Order, catalog: Catalog, expiry: ExpiryRepo
) -> tuple[str, InlineKeyboardMarkup]:
    entry = await expiry.auto(order.id)
    number_html = phone_html(order.ccode, order.pnumber)
    if entry is not None and entry.enabled:
        period = Period.parse(entry.dtype, entry.dcount) or AUTO_PERIODS[0]
        try:
            price = await catalog.order_price_day(order.cname, order.scode, period)
        except (SmspvaError, SmspvaUnavailable):
            price = None
        text = _(
            "🔁 <b>Auto-prolong is on</b> for {number}: when prolonging opens (7 days before the end), I prolong "
            "it by {period} once and tell you the price charged."
        ).format(number=number_html, period=period_label(period))
        if price is not None:
            text += "\n" + _("Current price for that period: {total}").format(
                total=money(price * period.days)
            )
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text="⏹ " + _("Turn off"),
                        callback_data=OrderCb(action=OrderAction.AUTO_PROLONG_OFF, order_id=order.id).pack(),
                    )
                ],
                *kb.back_to_card(order.id).inline_keyboard,
            ]
        )
        return text, markup
    totals = await catalog.order_totals(order.cname, order.scode, AUTO_PERIODS)
    text = _(
        "🔁 <b>Auto-prolong</b> {number}\nChoose the period I should add automatically when prolonging opens "
        "(7 days before the end). Prices shown are today's; the price charged is reported to you."
    ).format(number=number_html)
    builder = InlineKeyboardBuilder()
    for period, total in totals:
        builder.button(
            text=period_label(period) + (f" · {money(total)}" if total is not None else ""),
            callback_data=OrderCb(
                action=OrderAction.AUTO_PROLONG_SET,
                order_id=order.id,
                dtype=period.dtype,
                dcount=period.dcount,
            ),
        )
    builder.adjust(2)
    builder.attach(InlineKeyboardBuilder(markup=kb.back_to_card(order.id).inline_keyboard))
    return text, builder.as_markup()


@router.callback_query(
    OrderCb.filter(
        F.action.in_({OrderAction.AUTO_PROLONG, OrderAction.AUTO_PROLONG_SET, OrderAction.AUTO_PROLONG_OFF})
    )
)
async def on_auto_prolong(
    query: CallbackQuery,
    callback_data: OrderCb,
    user: UserRow,
    order: Order,
    catalog: Catalog,
    auto_prolong_repo: ExpiryRepo,
) -> None:
    period = None
    if callback_data.action == OrderAction.AUTO_PROLONG_SET:
        period = Period.parse(callback_data.dtype, callback_data.dcount)
        if period is None or period not in AUTO_PERIODS:
            await query.answer(_("This period is not offered."), show_alert=True)
            return
    await query.answer()
    if period is not None:
        await auto_prolong_repo.set_auto(order.id, user.id, period.dtype.value, period.dcount)
    elif callback_data.action == OrderAction.AUTO_PROLONG_OFF:
        await auto_prolong_repo.disable_auto(order.id, user.id)
    await show(query, *(await _auto_screen(user, order, catalog, auto_prolong_repo)))


# --- confirmations -------------------------------------------------------------------------------


@executor(PROLONG)
async def execute_prolong(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, data: dict[str, Any]
) -> None:
    actions: OrderActions = data["order_actions"]
    user: UserRow = data["user"]
    order_id = int(confirmation.payload["order_id"])
    await show(query, _("⏳ Prolonging…"))
    outcome = await actions.prolong(confirmation, apikey)
    success = _("✅ Prolonged {number}. Charged: {total}.").format(
        number=ltr_code(str(confirmation.payload.get("number", ""))),
        total=money(Decimal(str(confirmation.payload.get("total", "0")))),
    )
    if outcome.order is not None:
        success += "\n" + _("New end date: {date}").format(
            date=local_datetime(outcome.order.until, user.timezone)
        )
    await show(query, outcome_text(outcome, success), kb.back_to_card(order_id))


@executor(ADD_SERVICE)
async def execute_add_service(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, data: dict[str, Any]
) -> None:
    actions: OrderActions = data["order_actions"]
    order_id = int(confirmation.payload["order_id"])
    await show(query, _("⏳ Adding the service…"))
    outcome = await actions.add_service(confirmation, apikey)
    success = _("✅ {service} added. Charged: {total}. Its SMS will come here too.").format(
        service=escape(str(confirmation.payload.get("service_name", ""))),
        total=money(Decimal(str(confirmation.payload.get("total", "0")))),
    )
    await show(query, outcome_text(outcome, success), kb.back_to_card(order_id))


@executor(DELETE)
async def execute_delete(
    query: CallbackQuery, confirmation: Confirmation, apikey: str, data: dict[str, Any]
) -> None:
    actions: OrderActions = data["order_actions"]
    await show(query, _("⏳ Deleting…"))
    outcome = await actions.delete(confirmation, apikey)
    success = _("🗑 The number {number} was deleted.").format(
        number=ltr_code(str(confirmation.payload.get("number", "")))
    )
    order_id = int(confirmation.payload["order_id"])
    markup = kb.back_to_list() if outcome.succeeded else kb.back_to_card(order_id)
    await show(query, outcome_text(outcome, success), markup)
