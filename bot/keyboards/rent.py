"""Keyboards of the rent flow: countries, services, periods, summary."""

from __future__ import annotations

from decimal import Decimal

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ConfirmCb, ConfirmKind, OrderAction, OrderCb, RentAction, RentCb
from bot.formatting import isolate, money, number, period_label, rtl_line
from bot.keyboards.common import back_button, home_button, link_key_button, mirrored, nav_row, page_slice
from bot.periods import Period
from bot.popular import PeriodOption
from bot.smspva import Service

COUNTRIES_PER_PAGE = 10
SERVICES_PER_PAGE = 8


def countries(
    entries: list[tuple[str, str]], page: int, again: list[tuple[str, RentCb]]
) -> InlineKeyboardMarkup:
    """entries: (code, label) in display order; again: ("Rent again" label, callback) pairs."""
    builder = InlineKeyboardBuilder()
    for label, callback in again:
        builder.row(InlineKeyboardButton(text=rtl_line("🔁 " + label), callback_data=callback.pack()))
    page, pages, first = page_slice(len(entries), page, COUNTRIES_PER_PAGE)
    grid = InlineKeyboardBuilder()
    for code, label in entries[first : first + COUNTRIES_PER_PAGE]:
        grid.button(text=label, callback_data=RentCb(action=RentAction.COUNTRY, country=code))
    grid.adjust(2)
    builder.attach(grid)
    nav = nav_row(page, pages, lambda p: RentCb(action=RentAction.COUNTRIES, page=p).pack())
    if nav:
        builder.row(*nav)
    builder.row(home_button())
    return mirrored(builder.as_markup())


def service_button_text(service: Service) -> str:
    """The name, the price per day and the count, each isolated in right-to-left locales (the
    count would otherwise glue to the price) and the label itself running right to left there."""
    name = isolate(service.name, ltr=False)
    if service.count <= 0:
        return rtl_line("⛔ " + _("{name} · none left").format(name=name))
    return rtl_line(
        _("{name} · {price}/day · {count}").format(
            name=name, price=money(service.price_day), count=number(service.count)
        )
    )


def services(
    country: str,
    items: list[Service],
    page: int,
    *,
    searching: bool,
    support_url: str,
    countries_page: int = 0,
) -> InlineKeyboardMarkup:
    """Back returns to the page of countries the user came from."""
    builder = InlineKeyboardBuilder()
    page, pages, first = page_slice(len(items), page, SERVICES_PER_PAGE)
    for service in items[first : first + SERVICES_PER_PAGE]:
        builder.row(
            InlineKeyboardButton(
                text=service_button_text(service),
                callback_data=RentCb(action=RentAction.SERVICE, country=country, service=service.code).pack(),
            )
        )
    nav = nav_row(page, pages, lambda p: RentCb(action=RentAction.SERVICES, country=country, page=p).pack())
    if nav:
        builder.row(*nav)
    if searching:
        builder.row(
            InlineKeyboardButton(
                text="✖️ " + _("Clear search"),
                callback_data=RentCb(action=RentAction.SEARCH_CLEAR, country=country).pack(),
            )
        )
    builder.row(InlineKeyboardButton(text="💬 " + _("Write to support"), url=support_url))
    builder.row(back_button(RentCb(action=RentAction.COUNTRIES, page=countries_page).pack()), home_button())
    return mirrored(builder.as_markup())


def period_button_text(option: PeriodOption) -> str:
    """ "1 month · $150.00 · $5.00/day", the best value starred."""
    label = period_label(option.period)
    if option.total is None or option.per_day is None:
        return f"{label} · ?"
    text = _("{period} · {total} · {price}/day").format(
        period=label, total=money(option.total), price=money(option.per_day)
    )
    return rtl_line("⭐ " + text if option.best else text)


def periods(
    country: str, service: str, options: list[PeriodOption], *, more: bool, back: str
) -> InlineKeyboardMarkup:
    """One period a row (total and price per day); `more`: a "More periods" button below."""
    builder = InlineKeyboardBuilder()
    for option in options:
        builder.row(
            InlineKeyboardButton(
                text=period_button_text(option),
                callback_data=RentCb(
                    action=RentAction.PERIOD,
                    country=country,
                    service=service,
                    dtype=option.period.dtype,
                    dcount=option.period.dcount,
                ).pack(),
            )
        )
    if more:
        builder.row(
            InlineKeyboardButton(
                text="⋯ " + _("More periods"),
                callback_data=RentCb(action=RentAction.MORE_PERIODS, country=country, service=service).pack(),
            )
        )
    builder.row(back_button(back), home_button())
    return mirrored(builder.as_markup())


def pricing(back: str) -> InlineKeyboardMarkup:
    """While the periods are being priced: only Back and Menu."""
    builder = InlineKeyboardBuilder()
    builder.row(back_button(back), home_button())
    return mirrored(builder.as_markup())


def unavailable(country: str, service: str, *, watching: bool, back: str) -> InlineKeyboardMarkup:
    """No free numbers: switch "Notify me" on, or (when on) off."""
    builder = InlineKeyboardBuilder()
    if watching:
        builder.row(
            InlineKeyboardButton(
                text="🔕 " + _("Stop notifying"),
                callback_data=RentCb(action=RentAction.UNWATCH, country=country, service=service).pack(),
            )
        )
    else:
        builder.row(
            InlineKeyboardButton(
                text="🔔 " + _("Notify me when available"),
                callback_data=RentCb(action=RentAction.WATCH, country=country, service=service).pack(),
            )
        )
    builder.row(back_button(back), home_button())
    return mirrored(builder.as_markup())


def summary(
    country: str,
    service: str,
    token: str | None,
    *,
    can_watch: bool,
    needs_key: bool,
    amount: Decimal | None = None,
    top_up_url: str | None = None,
) -> InlineKeyboardMarkup:
    """The Summary's buttons: the pay button states the amount ("Pay $17.50"); `top_up_url` (a
    shortfall) puts a top-up link above it."""
    builder = InlineKeyboardBuilder()
    if top_up_url is not None:
        builder.row(InlineKeyboardButton(text="💳 " + _("Top up on smspva.com"), url=top_up_url))
    if token is not None:
        builder.row(
            InlineKeyboardButton(
                text="✅ "
                + (
                    _("Pay {amount}").format(amount=money(amount))
                    if amount is not None
                    else _("Confirm and pay")
                ),
                callback_data=ConfirmCb(kind=ConfirmKind.RENT, token=token).pack(),
            )
        )
    if needs_key:
        builder.row(link_key_button())  # the prompt at once; this summary reappears after linking
    if can_watch:
        builder.row(
            InlineKeyboardButton(
                text="🔔 " + _("Notify me when available"),
                callback_data=RentCb(action=RentAction.WATCH, country=country, service=service).pack(),
            )
        )
    builder.row(
        back_button(RentCb(action=RentAction.SERVICE, country=country, service=service).pack()), home_button()
    )
    return mirrored(builder.as_markup())


def order_actions(order_id: int) -> InlineKeyboardMarkup:
    """The actions of a rented number (their screens live in the orders handlers)."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text="⚡ " + _("Activate"), callback_data=OrderCb(action=OrderAction.ACTIVATE, order_id=order_id)
    )
    builder.button(text="✉️ " + _("SMS"), callback_data=OrderCb(action=OrderAction.SMS, order_id=order_id))
    builder.button(
        text="⏳ " + _("Prolong"), callback_data=OrderCb(action=OrderAction.PROLONG, order_id=order_id)
    )
    builder.button(
        text="➕ " + _("Add service"),
        callback_data=OrderCb(action=OrderAction.ADD_SERVICE, order_id=order_id),
    )
    builder.button(
        text="🗑 " + _("Delete"), callback_data=OrderCb(action=OrderAction.DELETE, order_id=order_id)
    )
    builder.button(text="📋 " + _("My numbers"), callback_data=OrderCb(action=OrderAction.LIST))
    builder.adjust(2, 2, 1, 1)
    builder.row(home_button())
    return mirrored(builder.as_markup())


def after_failure(country: str, service: str, period: Period, *, watch: bool) -> InlineKeyboardMarkup:
    """A rental that did not go through: the summary again (fresh price), a watch, My numbers."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text="🔁 " + _("See the summary again"),
        callback_data=RentCb(
            action=RentAction.AGAIN,
            country=country,
            service=service,
            dtype=period.dtype,
            dcount=period.dcount,
        ),
    )
    if watch:
        builder.button(
            text="🔔 " + _("Notify me when available"),
            callback_data=RentCb(action=RentAction.WATCH, country=country, service=service),
        )
    builder.button(text="📋 " + _("My numbers"), callback_data=OrderCb(action=OrderAction.LIST))
    builder.adjust(1)
    builder.row(home_button())
    return mirrored(builder.as_markup())
