"""Texts and buttons of the messages the bot sends on its own (SMS, notices, warnings, reports).

Every function here renders in the current locale (the Notifier sets the user's one) and returns
one :class:`Push` — or, for an SMS longer than Telegram allows, several numbered ones. Screens'
texts live with their handlers; services take their words from here and import no keyboards.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiogram.types import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callbacks import (
    ArchiveAction,
    ArchiveCb,
    OrderAction,
    OrderCb,
    RentAction,
    RentCb,
    SettingsAction,
    SettingsCb,
    from_notification,
)
from bot.db.orders import UserOrder
from bot.formatting import (
    code_html,
    country_name,
    escape,
    extract_code,
    flag,
    isolate,
    local_datetime,
    money,
    number,
    period_label,
    phone_html,
    rtl_line,
    short_time,
    strip_bidi,
)
from bot.keyboards.common import mirrored
from bot.periods import Period
from bot.smspva import Order, Service, Sms

PROLONG_WINDOW_SECONDS = 7 * 86400
# Telegram's limit is 4,096 characters after entity parsing (UTF-16 code units); a margin keeps the
# part numbers and any counting difference on the safe side.
MAX_PUSH_CHARS = 4096
_PART_MARGIN = 96
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class Push:
    """One message for the outbox: HTML text and an optional inline keyboard (as JSON)."""

    text: str
    markup: dict[str, Any] | None = None


def _push(text: str, rows: list[list[InlineKeyboardButton]] | None = None) -> Push:
    """A notice: lines that open with an emoji run right to left in Arabic, keyboard as _markup()."""
    return Push(rtl_line(text), _markup(rows) if rows else None)


def _markup(rows: list[list[InlineKeyboardButton]]) -> dict[str, Any]:
    """A notification's keyboard: every callback button marked FROM_NOTIFICATION (so pressing it
    opens a new message and leaves the notification as it is), rows mirrored right to left."""
    marked = [
        [
            button.model_copy(update={"callback_data": from_notification(button.callback_data)})
            if button.callback_data
            else button
            for button in row
        ]
        for row in rows
    ]
    return mirrored(InlineKeyboardMarkup(inline_keyboard=marked)).model_dump(exclude_none=True)


def _order_button(order_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text="📱 " + _("Open order"), callback_data=OrderCb(action=OrderAction.CARD, order_id=order_id).pack()
    )


def _prolong_button(order_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text="⏳ " + _("Prolong"),
        callback_data=OrderCb(action=OrderAction.PROLONG, order_id=order_id).pack(),
    )


def visible_length(text_html: str) -> int:
    """Characters Telegram counts for an HTML text: tags dropped, entities as one, UTF-16 units."""
    plain = html.unescape(_TAG.sub("", text_html))
    return len(plain.encode("utf-16-le")) // 2


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, budget: int) -> list[str]:
    """Cut `text` into pieces of at most `budget` UTF-16 units, before a line break or space when one
    is in the last quarter of a piece; never inside a surrogate pair. Joined, they are `text`."""
    pieces: list[str] = []
    rest = text
    while _units(rest) > budget:
        cut, used = 0, 0
        for index, char in enumerate(rest):
            width = _units(char)
            if used + width > budget:
                break
            used += width
            cut = index + 1
        soft = max(rest.rfind("\n", 0, cut), rest.rfind(" ", 0, cut))
        if soft >= cut * 3 // 4 and soft > 0:
            cut = soft  # the space opens the next piece: Telegram trims a message's trailing blanks
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


# --- SMS ------------------------------------------------------------------------------------------


def _name(text: str) -> str:
    """A name SMSPVA or a sender gave (any script), escaped and kept whole inside Arabic lines."""
    return isolate(escape(text), ltr=False)


def sms_pushes(order: Order, sms: Sms, tz: str, *, other_service: bool, read_at: float) -> list[Push]:
    """An SMS, code first: the code in tap-to-copy form (with a Copy button), then the number, the
    service (for another service's SMS: that service, i.e. the sender), the sender and a short local
    time, then the text exactly as written. Longer than Telegram allows: numbered parts, the header,
    the code and the buttons in the first. `read_at` stands in for a missing SMS date."""
    date = sms.date if sms.date is not None else read_at  # assumption: undated = received when read
    sender = sms.sender or "?"
    number = phone_html(order.ccode, order.pnumber)
    if other_service:
        # The number's own service is not what this SMS is for: the sender names the other service.
        title = _("✉️ <b>SMS for another service</b> · {number} · {service}").format(
            number=number, service=_name(sender)
        )
    else:
        title = _("✉️ <b>SMS</b> · {number} · {service}").format(
            number=number, service=_name(order.sname or order.scode)
        )
    lines = []
    code = extract_code(sms.text)
    if code:
        lines.append("🔑 " + code_html(code))
    lines.append(title)
    lines.append(
        _("From {sender} · {time}").format(sender=_name(sender), time=short_time(date, tz, now=read_at))
    )
    header = rtl_line("\n".join(lines))
    rows: list[list[InlineKeyboardButton]] = []
    if code:
        rows.append(
            [
                InlineKeyboardButton(
                    text="📋 " + _("Copy code"), copy_text=CopyTextButton(text=strip_bidi(code))
                )
            ]
        )
    rows.append(
        [
            _order_button(order.id),
            InlineKeyboardButton(
                text="✉️ " + _("All SMS"),
                callback_data=OrderCb(action=OrderAction.SMS, order_id=order.id).pack(),
            ),
        ]
    )
    markup = _markup(rows)
    single = f"{header}\n\n{escape(sms.text)}"
    if visible_length(single) <= MAX_PUSH_CHARS:
        return [Push(single, markup)]
    budget = MAX_PUSH_CHARS - visible_length(header) - _PART_MARGIN
    pieces = split_text(sms.text, budget)
    total = len(pieces)
    pushes: list[Push] = []
    for index, piece in enumerate(pieces, start=1):
        label = _("Part {part} of {total}").format(part=index, total=total)
        if index == 1:
            pushes.append(Push(f"{header}\n<i>{label}</i>\n\n{escape(piece)}", markup))
        else:
            pushes.append(Push(rtl_line(f"{title} · <i>{label}</i>") + f"\n\n{escape(piece)}"))
    return pushes


# --- order state --------------------------------------------------------------------------------


def online_notice(order: Order) -> Push:
    text = _(
        "🟢 Your number {number} ({service}) is online now. Send the SMS — it stays online for 10–30 minutes."
    ).format(number=phone_html(order.ccode, order.pnumber), service=_name(order.sname or order.scode))
    return _push(text, [[_order_button(order.id)]])


def offline_notice(order: Order) -> Push:
    text = _(
        "⚪ Your number {number} ({service}) went offline. Activate it again before the next SMS."
    ).format(number=phone_html(order.ccode, order.pnumber), service=_name(order.sname or order.scode))
    activate = InlineKeyboardButton(
        text="⚡ " + _("Activate again"),
        callback_data=OrderCb(action=OrderAction.ACTIVATE, order_id=order.id).pack(),
    )
    return _push(text, [[activate, _order_button(order.id)]])


def gone_notice(order: Order, support_url: str) -> Push:
    text = _(
        "🔴 The number {number} ({service}) is no longer in the SMSPVA system. Please contact SMSPVA support."
    ).format(number=phone_html(order.ccode, order.pnumber), service=_name(order.sname or order.scode))
    return _push(text, [[InlineKeyboardButton(text="💬 " + _("Write to support"), url=support_url)]])


# --- the API key --------------------------------------------------------------------------------


def _key_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text="🔑 " + _("API key"), callback_data=SettingsCb(action=SettingsAction.KEY).pack()
    )


def key_rejected_notice() -> Push:
    text = _(
        "🔑 SMSPVA no longer accepts your API key, so I paused checking your numbers for SMS, expiry "
        "warnings and auto-prolong. I will re-check the key on my own for a while and tell you when it "
        "works again; or link a valid key now: <code>/key YOUR_KEY</code>"
    )
    return _push(text, [[_key_button()]])


def key_resumed_notice() -> Push:
    text = _(
        "✅ SMSPVA accepts your API key again: I resumed checking your numbers for SMS, expiry warnings "
        "and auto-prolong."
    )
    return _push(text)


def key_unreadable_notice() -> Push:
    text = _(
        "🔑 I can no longer read the API key you linked (the bot's encryption key was changed), so I paused "
        "checking your numbers for SMS. Link your key again to resume: <code>/key YOUR_KEY</code>"
    )
    return _push(text, [[_key_button()]])


def confirmation_not_sent_notice() -> Push:
    """A confirmed operation that stopped before anything went to SMSPVA (its token is spent)."""
    text = _(
        "⚠️ Something went wrong before your request reached SMSPVA, so nothing was sent and nothing was "
        "charged. Open the screen again to try once more."
    )
    return Push(text)


def key_moved_notice() -> Push:
    """To an account whose key was just linked from another Telegram account (the newer link wins)."""
    text = _(
        "🔑 Your SMSPVA API key was just linked from another Telegram account, so I unlinked it here: "
        "this chat no longer receives its SMS. If that was not you, change the key in your smspva.com "
        "profile. To use the key here again, link it: <code>/key YOUR_KEY</code> (that unlinks it from "
        "the other account)."
    )
    return _push(text, [[_key_button()]])


# --- expiry -------------------------------------------------------------------------------------


def time_left(seconds: float) -> str:
    """What remains, never understated by more than rounding: "6 days 23 hours", "2 hours 50
    minutes", "35 minutes" (nearest hour above two days, nearest minute below)."""
    minutes = round(seconds / 60)
    if minutes >= 48 * 60:
        hours = round(seconds / 3600)
        days, rest = divmod(hours, 24)
        larger = ngettext("{count} day", "{count} days", days).format(count=days)
        smaller = ngettext("{count} hour", "{count} hours", rest).format(count=rest) if rest else ""
    elif minutes >= 60:
        hours, rest = divmod(minutes, 60)
        larger = ngettext("{count} hour", "{count} hours", hours).format(count=hours)
        smaller = ngettext("{count} minute", "{count} minutes", rest).format(count=rest) if rest else ""
    else:
        minutes = max(1, minutes)
        return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)
    return _("{larger} and {smaller}").format(larger=larger, smaller=smaller) if smaller else larger


def expiry_warning(order: UserOrder, tz: str, now: float) -> Push:
    assert order.until is not None
    remaining = order.until - now
    lines = [
        _("⏰ Your number {number} ({service}) expires in {left} — {date}.").format(
            number=phone_html(order.ccode, order.pnumber),
            service=_name(order.sname or order.service),
            left=time_left(remaining),
            date=local_datetime(order.until, tz),
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    if remaining < PROLONG_WINDOW_SECONDS and order.canprolong is not False:
        lines.append(_("Prolong it now so you don't lose it."))
        rows.append([_prolong_button(order.id)])
    elif remaining >= PROLONG_WINDOW_SECONDS:
        lines.append(
            _("Prolonging opens on {date}, when less than 7 days remain.").format(
                date=local_datetime(order.until - PROLONG_WINDOW_SECONDS, tz)
            )
        )
    else:
        lines.append(_("SMSPVA does not allow prolonging this number (the 90-day maximum may be reached)."))
    rows.append([_order_button(order.id)])
    return _push("\n".join(lines), rows)


def expired_notice(order: UserOrder) -> Push:
    text = _(
        "⌛ The rental of {number} ({service}) has expired. You can restore it: the cost is the overdue days at "
        "full price (no discount) plus 30 days paid in advance. I show the exact price before anything is charged."
    ).format(number=phone_html(order.ccode, order.pnumber), service=_name(order.sname or order.service))
    button = InlineKeyboardButton(
        text="♻️ " + _("Restore"),
        callback_data=ArchiveCb(action=ArchiveAction.RESTORE, order_id=order.id).pack(),
    )
    return _push(text, [[button]])


def auto_prolong_done(
    order: UserOrder, period: Period, total: Decimal | None, new_until: int | None, tz: str
) -> Push:
    lines = [
        _("🔁 Auto-prolong: {number} ({service}) was prolonged by {period}.").format(
            number=phone_html(order.ccode, order.pnumber),
            service=_name(order.sname or order.service),
            period=period_label(period),
        ),
        # The catalog's price just before the call; SMSPVA's answer does not say what it charged.
        _("Price (as quoted): {total}").format(total=money(total))
        if total is not None
        else _("Charged: see SMSPVA"),
    ]
    if new_until:
        lines.append(_("New end date: {date}").format(date=local_datetime(new_until, tz)))
    return _push("\n".join(lines))


def auto_prolong_failed(order: UserOrder, reason: str | None) -> Push:
    text = _(
        "⚠️ Auto-prolong of {number} ({service}) did not go through. I will not retry it on my own: "
        "please prolong it yourself before it expires."
    ).format(number=phone_html(order.ccode, order.pnumber), service=_name(order.sname or order.service))
    if reason:
        text += "\n" + reason
    return _push(text, [[_prolong_button(order.id)]])


# --- watches ------------------------------------------------------------------------------------


def watch_hit(country: str, api_name: str, service_code: str, service: Service) -> Push:
    text = _("🔔 {service} numbers are available again in {country}: {count} now.").format(
        service=_name(service.name),
        country=f"{flag(country)} {_name(country_name(country, api_name))}",
        count=number(service.count),
    )
    button = InlineKeyboardButton(
        text="📱 " + _("Rent"),
        callback_data=RentCb(action=RentAction.SERVICE, country=country, service=service_code).pack(),
    )
    return _push(text, [[button]])


# --- confirmations interrupted (payments) ---------------------------------------------------------


def _confirmation_action(kind: str) -> str:
    """What a confirmation paid for, by its stored kind (bot.services.renting / order_actions)."""
    names = {
        "create": _("Rental"),
        "prolong": _("Prolongation"),
        "add_service": _("Additional service"),
        "delete": _("Deletion"),
        "restore": _("Restore"),
        "auto_prolong": _("Auto-prolong"),
    }
    return names.get(kind, kind)


def confirmation_outcome(kind: str, verdict: str, subject: str, order_id: int | None) -> Push:
    """The outcome of a confirmation whose result screen could not be shown (the bot was stopped or
    failed while it ran): `verdict` is done, failed, not_done, not_sent or unclear; `subject` is HTML."""
    action = _confirmation_action(kind)
    if verdict == "done":
        text = _(
            "✅ {action}: {subject} — it went through. I was interrupted while carrying it out, so I "
            "checked your orders; I did not retry."
        ).format(action=escape(action), subject=subject)
    elif verdict == "not_sent":
        text = _(
            "❌ {action}: {subject} — it did not go through: I was interrupted before the request left, so "
            "nothing was charged for it. You can try again."
        ).format(action=escape(action), subject=subject)
    elif verdict == "failed":
        text = _(
            "❌ {action}: {subject} — it did not go through (SMSPVA refused it, or the request never "
            "left), so nothing was charged for it. You can try again."
        ).format(action=escape(action), subject=subject)
    elif verdict == "not_done":
        text = _(
            "❌ {action}: {subject} — it did not go through: I was interrupted while carrying it out, "
            "checked your orders and it is not there. I did not retry; you can try again."
        ).format(action=escape(action), subject=subject)
    else:
        text = _(
            "⚠️ {action}: {subject} — I was interrupted while carrying it out and could not check your "
            "orders either, so I do not know whether it went through. I did not retry, so you are never "
            "charged twice. Look at My numbers in a minute."
        ).format(action=escape(action), subject=subject)
    my_numbers = InlineKeyboardButton(
        text="📱 " + _("My numbers"), callback_data=OrderCb(action=OrderAction.LIST).pack()
    )
    rows = [[_order_button(order_id)]] if order_id is not None and verdict == "done" else [[my_numbers]]
    return _push(text, rows)
