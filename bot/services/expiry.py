"""Expiry: warnings before `until`, a restore notice after it, and opt-in auto-prolong.

The provider's `until` (kept fresh in user_orders by the poller) is the only truth; nothing is
computed from the rental date. Each warning is recorded per (order, threshold, until) before it is
queued, so restarts neither repeat nor skip it: a threshold passed while the bot was down is sent
once on the next round if the order is still live. When several thresholds have passed at once (a
number first seen with 2 hours left), only the nearest one is sent.

Auto-prolong writes its attempt (for this `until`) before calling SMSPVA, so a restart mid-way
never charges twice: a `running` attempt found at start is reconciled against `orders`, not resent.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ArchiveAction, ArchiveCb, OrderAction, OrderCb
from bot.db.expiry import EXPIRED, AutoProlong, ExpiryRepo
from bot.db.orders import OrdersRepo, UserOrder
from bot.db.outbox import NewMessage, OutboxRepo
from bot.db.users import UserRow, UsersRepo
from bot.formatting import escape, local_datetime, money, period_label, phone_html
from bot.i18n import user_locale
from bot.messages import upstream_error
from bot.periods import Period
from bot.services.catalog import Catalog
from bot.services.outbox import OutboxSender
from bot.smspva import Order, PeriodType, SmspvaClient, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

PROLONG_WINDOW_SECONDS = 7 * 86400
EXPIRED_LOOKBACK_SECONDS = 3 * 86400


def time_left(seconds: float) -> str:
    hours = int(seconds // 3600)
    if hours >= 48:
        days = hours // 24
        return ngettext("{count} day", "{count} days", days).format(count=days)
    if hours >= 1:
        return ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    minutes = max(1, int(seconds // 60))
    return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)


def _markup(rows: list[list[InlineKeyboardButton]]) -> dict[str, Any]:
    return InlineKeyboardMarkup(inline_keyboard=rows).model_dump(exclude_none=True)


def warning_message(order: UserOrder, user: UserRow, now: float) -> tuple[str, dict[str, Any] | None]:
    assert order.until is not None
    remaining = order.until - now
    lines = [
        _("⏰ Your number {number} ({service}) expires in {left} — {date}.").format(
            number=phone_html(order.ccode, order.pnumber),
            service=escape(order.sname or order.service),
            left=time_left(remaining),
            date=local_datetime(order.until, user.timezone),
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    if remaining < PROLONG_WINDOW_SECONDS and order.canprolong is not False:
        lines.append(_("Prolong it now so you don't lose it."))
        rows.append(
            [
                InlineKeyboardButton(
                    text="⏳ " + _("Prolong"),
                    callback_data=OrderCb(action=OrderAction.PROLONG, order_id=order.id).pack(),
                )
            ]
        )
    elif remaining >= PROLONG_WINDOW_SECONDS:
        lines.append(
            _("Prolonging opens on {date}, when less than 7 days remain.").format(
                date=local_datetime(order.until - PROLONG_WINDOW_SECONDS, user.timezone)
            )
        )
    else:
        lines.append(_("SMSPVA does not allow prolonging this number (the 90-day maximum may be reached)."))
    rows.append(
        [
            InlineKeyboardButton(
                text="📱 " + _("Open order"),
                callback_data=OrderCb(action=OrderAction.CARD, order_id=order.id).pack(),
            )
        ]
    )
    return "\n".join(lines), _markup(rows)


def expired_message(order: UserOrder) -> tuple[str, dict[str, Any]]:
    text = _(
        "⌛ The rental of {number} ({service}) has expired. You can restore it: the cost is the overdue days at "
        "full price (no discount) plus 30 days paid in advance. I show the exact price before anything is charged."
    ).format(number=phone_html(order.ccode, order.pnumber), service=escape(order.sname or order.service))
    button = InlineKeyboardButton(
        text="♻️ " + _("Restore"),
        callback_data=ArchiveCb(action=ArchiveAction.RESTORE, order_id=order.id).pack(),
    )
    return text, _markup([[button]])


class ExpiryService:
    def __init__(
        self,
        client: SmspvaClient,
        users: UsersRepo,
        orders: OrdersRepo,
        expiry: ExpiryRepo,
        outbox: OutboxRepo,
        sender: OutboxSender,
        catalog: Catalog,
        i18n: I18n,
        *,
        warn_hours: tuple[int, ...],
    ) -> None:
        self._client = client
        self._users = users
        self._orders = orders
        self._expiry = expiry
        self._outbox = outbox
        self._sender = sender
        self._catalog = catalog
        self._i18n = i18n
        self._warn_hours = warn_hours

    async def _queue(
        self, user: UserRow, kind: str, text: str, markup: dict[str, Any] | None, dedup_key: str | None = None
    ) -> None:
        await self._outbox.enqueue(
            NewMessage(user_id=user.id, kind=kind, text=text, markup=markup, dedup_key=dedup_key)
        )
        self._sender.wake()

    async def check_once(self) -> None:
        now = time.time()
        users: dict[int, UserRow | None] = {}
        for order in await self._orders.live_with_users():
            if order.until is None:
                continue
            if order.user_id not in users:
                users[order.user_id] = await self._users.get(order.user_id)
            user = users[order.user_id]
            if user is None or user.bot_blocked:
                continue
            if order.until <= now:
                await self._expired(order, user)
                continue
            await self._warn(order, user, now)
            if order.until - now < PROLONG_WINDOW_SECONDS and order.canprolong is not False:
                auto = await self._expiry.auto(order.id)
                if auto is not None and auto.enabled and auto.user_id == user.id:
                    await self._auto_prolong(auto, order, user)
        for order in await self._orders.recently_gone(int(now - EXPIRED_LOOKBACK_SECONDS)):
            # Gone from the list after its end: it expired (a deleted number ends before `until`).
            if order.until is None or order.until > now + 60:
                continue
            if order.user_id not in users:
                users[order.user_id] = await self._users.get(order.user_id)
            user = users[order.user_id]
            if user is not None and not user.bot_blocked:
                await self._expired(order, user)

    async def _warn(self, order: UserOrder, user: UserRow, now: float) -> None:
        assert order.until is not None
        remaining = order.until - now
        passed = [h for h in self._warn_hours if h not in user.warn_off and remaining <= h * 3600]
        if not passed:
            return
        nearest = min(passed)
        if nearest in await self._expiry.sent_hours(order.id, order.until):
            return
        if not await self._expiry.claim_notice(order.id, nearest, order.until):
            return
        with self._i18n.context(), self._i18n.use_locale(user_locale(user)):
            text, markup = warning_message(order, user, now)
        await self._queue(user, f"expiry:{nearest}", text, markup)
        log.info("expiry warning queued user_id=%s order_id=%s hours=%s", user.id, order.id, nearest)

    async def _expired(self, order: UserOrder, user: UserRow) -> None:
        assert order.until is not None
        if not await self._expiry.claim_notice(order.id, EXPIRED, order.until):
            return
        with self._i18n.context(), self._i18n.use_locale(user_locale(user)):
            text, markup = expired_message(order)
        await self._queue(user, "expired", text, markup)

    # --- auto-prolong ------------------------------------------------------------------------

    async def _auto_prolong(self, auto: AutoProlong, order: UserOrder, user: UserRow) -> None:
        assert order.until is not None
        if not await self._expiry.begin_attempt(order.id, order.until):
            return  # already tried for this expiry (done, failed or unclear): never twice
        apikey = await self._users.api_key(user.id)
        period = Period(PeriodType(auto.dtype), auto.dcount)
        if apikey is None:
            await self._expiry.finish_attempt(order.id, "failed")
            return
        try:
            price_day = await self._catalog.order_price_day(order.country, order.service, period)
        except (SmspvaError, SmspvaUnavailable):
            price_day = None  # the report says "price unknown"; the prolong itself does not need it
        total = price_day * period.days if price_day is not None else None
        log.info("auto-prolong user_id=%s order_id=%s", user.id, order.id)
        # Reports carry a dedup key per (order, expiry) and are queued *before* the attempt is marked
        # finished: a stop in between leaves it `running`, the restart reconciles and re-queues the
        # same report, which the outbox ignores. No report is lost, none is sent twice.
        try:
            await self._client.prolong(apikey, order_id=order.id, dtype=period.dtype, dcount=period.dcount)
        except SmspvaError as error:
            await self._report_failure(user, order, upstream_error(error), order.until)
            await self._expiry.finish_attempt(order.id, "failed")
            return
        except SmspvaUnavailable as error:
            after = await self._find(apikey, order.id) if error.request_sent else None
            if after is not None and after.until > order.until:
                await self._report_done(user, order, period, total, after.until, order.until)
                await self._expiry.finish_attempt(order.id, "done")
            else:
                await self._report_failure(user, order, None, order.until)
                await self._expiry.finish_attempt(order.id, "unclear" if error.request_sent else "failed")
            return
        after = await self._find(apikey, order.id)
        if after is not None:
            await self._orders.upsert_seen(user.id, after)
        await self._report_done(user, order, period, total, after.until if after else None, order.until)
        await self._expiry.finish_attempt(order.id, "done")

    async def _find(self, apikey: str, order_id: int) -> Order | None:
        try:
            return next((o for o in await self._client.orders(apikey) if o.id == order_id), None)
        except (SmspvaError, SmspvaUnavailable):
            return None

    async def _report_done(
        self,
        user: UserRow,
        order: UserOrder,
        period: Period,
        total: Decimal | None,
        new_until: int | None,
        attempt_until: int,
    ) -> None:
        with self._i18n.context(), self._i18n.use_locale(user_locale(user)):
            lines = [
                _("🔁 Auto-prolong: {number} ({service}) was prolonged by {period}.").format(
                    number=phone_html(order.ccode, order.pnumber),
                    service=escape(order.sname or order.service),
                    period=period_label(period),
                ),
                _("Charged: {total}").format(total=money(total))
                if total is not None
                else _("Charged: see SMSPVA"),
            ]
            if new_until:
                lines.append(_("New end date: {date}").format(date=local_datetime(new_until, user.timezone)))
            text = "\n".join(lines)
        await self._queue(user, "auto_prolong", text, None, f"auto:{order.id}:{attempt_until}")

    async def _report_failure(
        self, user: UserRow, order: UserOrder, reason: str | None, attempt_until: int
    ) -> None:
        with self._i18n.context(), self._i18n.use_locale(user_locale(user)):
            text = _(
                "⚠️ Auto-prolong of {number} ({service}) did not go through. I will not retry it on my own: "
                "please prolong it yourself before it expires."
            ).format(
                number=phone_html(order.ccode, order.pnumber),
                service=escape(order.sname or order.service),
            )
            if reason:
                text += "\n" + reason
            markup = _markup(
                [
                    [
                        InlineKeyboardButton(
                            text="⏳ " + _("Prolong"),
                            callback_data=OrderCb(action=OrderAction.PROLONG, order_id=order.id).pack(),
                        )
                    ]
                ]
            )
        await self._queue(user, "auto_prolong", text, markup, f"auto-failed:{order.id}:{attempt_until}")

    async def reconcile_interrupted(self) -> None:
        """At start: attempts left `running` by a crash are checked against `orders`, never resent."""
        for auto in await self._expiry.running_attempts():
            user = await self._users.get(auto.user_id)
            order = await self._orders.get(auto.order_id)
            apikey = await self._users.api_key(auto.user_id) if user else None
            if user is None or order is None or apikey is None or auto.attempt_until is None:
                await self._expiry.finish_attempt(auto.order_id, "unclear")
                continue
            after = await self._find(apikey, auto.order_id)
            if after is not None and after.until > auto.attempt_until:
                await self._orders.upsert_seen(user.id, after)
                period = Period(PeriodType(auto.dtype), auto.dcount)
                await self._report_done(user, order, period, None, after.until, auto.attempt_until)
                await self._expiry.finish_attempt(auto.order_id, "done")
            else:
                await self._report_failure(user, order, None, auto.attempt_until)
                await self._expiry.finish_attempt(auto.order_id, "unclear")
