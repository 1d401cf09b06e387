"""Expiry: warnings before `until`, a restore notice after it, and opt-in auto-prolong.

The provider's `until` (kept fresh in user_orders by the poller) is the only truth; nothing is
computed from the rental date. Each warning is recorded per (order, threshold, until) in the same
transaction as its outbox row (through the Notifier), so restarts neither repeat nor skip it and a
failed write leaves it for the next round: a threshold passed while the bot was down is sent once
on the next round if the order is still live. When several thresholds have passed at once, only the
nearest one is sent — and nothing when that one is switched off (never a larger one instead). A
threshold that had already passed when the bot first knew the order (first sight, or the rental
through the bot) is never sent: a 1-week number rented a second ago is not "expiring".

Auto-prolong writes its attempt (for this `until`) before calling SMSPVA, so a restart mid-way
never charges twice: a `running` attempt found at start is reconciled against `orders`, not resent.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from bot.db.expiry import EXPIRED, AutoProlong, ExpiryRepo
from bot.db.orders import OrdersRepo, UserOrder
from bot.db.users import UserRow, UsersRepo
from bot.messages import upstream_error
from bot.periods import Period
from bot.pushes import (
    PROLONG_WINDOW_SECONDS,
    auto_prolong_done,
    auto_prolong_failed,
    expired_notice,
    expiry_warning,
)
from bot.services.catalog import Catalog
from bot.services.notifier import Notifier
from bot.smspva import Order, PeriodType, SmspvaClient, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

EXPIRED_LOOKBACK_SECONDS = 3 * 86400
# SMSPVA's clock against ours (the same allowance as first sight of SMS): a 1-week rental's `until`
# may lie a little more than 168 h after our record of the rental. A threshold within this much of
# the moment the bot first knew the order counts as already passed then.
CLOCK_SLACK_SECONDS = 600


def known_at(order: UserOrder) -> int | None:
    """When the bot first knew the order: rented through it, or first listed (0 = not recorded)."""
    moments = [moment for moment in (order.rented_at, order.first_seen) if moment]
    return min(moments) if moments else None


def due_threshold(
    warn_hours: tuple[int, ...], off: frozenset[int], until: float, now: float, known: float | None
) -> int | None:
    """The threshold (hours) whose warning is due now, if any: the nearest one already passed, unless
    the user switched it off or it had passed before the bot knew the order (then none at all)."""
    remaining = until - now
    passed = [hours for hours in warn_hours if remaining <= hours * 3600]
    if not passed:
        return None
    nearest = min(passed)
    if nearest in off:
        return None  # switched off: a larger threshold never stands in for it
    if known is not None and until - known <= nearest * 3600 + CLOCK_SLACK_SECONDS:
        return None  # already passed when the bot first knew the order: the card says it all
    return nearest


class ExpiryService:
    def __init__(
        self,
        client: SmspvaClient,
        users: UsersRepo,
        orders: OrdersRepo,
        expiry: ExpiryRepo,
        notifier: Notifier,
        catalog: Catalog,
        *,
        warn_hours: tuple[int, ...],
    ) -> None:
        self._client = client
        self._users = users
        self._orders = orders
        self._expiry = expiry
        self._notifier = notifier
        self._catalog = catalog
        self._warn_hours = warn_hours

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
        nearest = due_threshold(self._warn_hours, user.warn_off, order.until, now, known_at(order))
        if nearest is None:
            return
        if nearest in await self._expiry.sent_hours(order.id, order.until):
            return
        queued = await self._notifier.notify(
            user,
            f"expiry:{nearest}",
            lambda: expiry_warning(order, user.timezone, now),
            record=self._expiry.notice_recorder(order.id, nearest, order.until),
        )
        if queued:
            log.info("expiry warning queued user_id=%s order_id=%s hours=%s", user.id, order.id, nearest)

    async def _expired(self, order: UserOrder, user: UserRow) -> None:
        assert order.until is not None
        await self._notifier.notify(
            user,
            "expired",
            lambda: expired_notice(order),
            record=self._expiry.notice_recorder(order.id, EXPIRED, order.until),
        )

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
            await self._report_failure(
                user, order, upstream_error(error, self._notifier.top_up_url), order.until
            )
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
        await self._notifier.notify(
            user,
            "auto_prolong",
            lambda: auto_prolong_done(order, period, total, new_until, user.timezone),
            dedup_key=f"auto:{order.id}:{attempt_until}",
        )

    async def _report_failure(
        self, user: UserRow, order: UserOrder, reason: str | None, attempt_until: int
    ) -> None:
        await self._notifier.notify(
            user,
            "auto_prolong",
            lambda: auto_prolong_failed(order, reason),
            dedup_key=f"auto-failed:{order.id}:{attempt_until}",
        )

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
