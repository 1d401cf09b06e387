"""Texts of the messages the bot sends on its own (rendered in the user's language, then queued)."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import OrderAction, OrderCb, SettingsAction, SettingsCb
from bot.formatting import code_html, escape, extract_code, local_datetime, phone_html
from bot.messages import SUPPORT_URL
from bot.smspva import Order, Sms


def _markup(rows: list[list[InlineKeyboardButton]]) -> dict[str, Any]:
    return InlineKeyboardMarkup(inline_keyboard=rows).model_dump(exclude_none=True)


def sms_message(order: Order, sms: Sms, tz: str, *, other_service: bool) -> tuple[str, dict[str, Any]]:
    title = _("✉️ <b>SMS for another service</b>") if other_service else _("✉️ <b>New SMS</b>")
    lines = [
        f"{title} · {escape(order.sname or order.scode)}",
        _("Number: {number}").format(number=phone_html(order.ccode, order.pnumber)),
        _("From: {sender}").format(sender=escape(sms.sender or "?")),
        _("Received: {time}").format(time=local_datetime(sms.date, tz) if sms.date is not None else "?"),
    ]
    code = extract_code(sms.text)
    if code:
        lines.append(_("Code: {code}").format(code=code_html(code)))
    lines += ["", escape(sms.text)]
    markup = _markup(
        [
            [
                InlineKeyboardButton(
                    text="📱 " + _("Open order"),
                    callback_data=OrderCb(action=OrderAction.CARD, order_id=order.id).pack(),
                ),
                InlineKeyboardButton(
                    text="✉️ " + _("All SMS"),
                    callback_data=OrderCb(action=OrderAction.SMS, order_id=order.id).pack(),
                ),
            ]
        ]
    )
    return "\n".join(lines), markup


def _open_order(order: Order) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text="📱 " + _("Open order"), callback_data=OrderCb(action=OrderAction.CARD, order_id=order.id).pack()
    )


def online_notice(order: Order) -> tuple[str, dict[str, Any]]:
    text = _(
        "🟢 Your number {number} ({service}) is online now. Send the SMS — it stays online for 10–30 minutes."
    ).format(number=phone_html(order.ccode, order.pnumber), service=escape(order.sname or order.scode))
    return text, _markup([[_open_order(order)]])


def offline_notice(order: Order) -> tuple[str, dict[str, Any]]:
    text = _(
        "⚪ Your number {number} ({service}) went offline. Activate it again before the next SMS."
    ).format(number=phone_html(order.ccode, order.pnumber), service=escape(order.sname or order.scode))
    activate = InlineKeyboardButton(
        text="⚡ " + _("Activate again"),
        callback_data=OrderCb(action=OrderAction.ACTIVATE, order_id=order.id).pack(),
    )
    return text, _markup([[activate, _open_order(order)]])


def gone_notice(order: Order) -> tuple[str, dict[str, Any]]:
    text = _(
        "🔴 The number {number} ({service}) is no longer in the SMSPVA system. Please contact SMSPVA support."
    ).format(number=phone_html(order.ccode, order.pnumber), service=escape(order.sname or order.scode))
    return text, _markup([[InlineKeyboardButton(text="💬 " + _("Write to support"), url=SUPPORT_URL)]])


def key_rejected_notice() -> tuple[str, dict[str, Any]]:
    text = _(
        "🔑 SMSPVA no longer accepts your API key, so I paused checking your numbers for SMS. "
        "Link a valid key to resume: <code>/key YOUR_KEY</code>"
    )
    return text, _markup(
        [
            [
                InlineKeyboardButton(
                    text="🔑 " + _("API key"), callback_data=SettingsCb(action=SettingsAction.KEY).pack()
                )
            ]
        ]
    )


def key_unreadable_notice() -> tuple[str, dict[str, Any]]:
    text = _(
        "🔑 I can no longer read the API key you linked (the bot's encryption key was changed), so I paused "
        "checking your numbers for SMS. Link your key again to resume: <code>/key YOUR_KEY</code>"
    )
    return text, _markup(
        [
            [
                InlineKeyboardButton(
                    text="🔑 " + _("API key"), callback_data=SettingsCb(action=SettingsAction.KEY).pack()
                )
            ]
        ]
    )


def key_moved_notice() -> tuple[str, dict[str, Any]]:
    """To an account whose key was just linked from another Telegram account (the newer link wins)."""
    text = _(
        "🔑 Your SMSPVA API key was just linked from another Telegram account, so I unlinked it here: "
        "this chat no longer receives its SMS. If that was not you, change the key in your smspva.com "
        "profile. To use the key here again, link it: <code>/key YOUR_KEY</code> (that unlinks it from "
        "the other account)."
    )
    return text, _markup(
        [
            [
                InlineKeyboardButton(
                    text="🔑 " + _("API key"), callback_data=SettingsCb(action=SettingsAction.KEY).pack()
                )
            ]
        ]
    )
