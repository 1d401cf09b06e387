"""Money-moving order actions (prolong, add service, delete, restore): one upstream call per
confirmation, and a reconciliation with `orders` when the answer is unclear — never a retry
(the pattern itself is `bot.services.money.call_once`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.db.confirmations import Confirmation, ConfirmationsRepo, ConfirmStatus
from bot.db.orders import OrdersRepo
from bot.periods import Period
from bot.services.money import Verdict, call_once, find_order
from bot.smspva import AddedService, Order, PeriodType, SmspvaClient, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

# The kinds stored with confirmation tokens (bot.db.confirmations).
PROLONG = "prolong"
ADD_SERVICE = "add_service"
DELETE = "delete"
RESTORE = "restore"
AUTO_PROLONG = (
    "auto_prolong"  # enabling it: no upstream call, but the expiry loop charges when the window opens
)

# The token's final status for each verdict of the call.
_TOKEN_STATUS = {
    Verdict.DONE: (ConfirmStatus.DONE, None),
    Verdict.DONE_AFTER_CHECK: (ConfirmStatus.DONE, None),
    Verdict.NOT_DONE: (ConfirmStatus.FAILED, {"msg": "not found"}),
    Verdict.UNCLEAR: (ConfirmStatus.UNCLEAR, None),
}


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    status: Verdict
    order: Order | None = None  # the order as SMSPVA lists it afterwards, when known
    error: SmspvaError | SmspvaUnavailable | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in (Verdict.DONE, Verdict.DONE_AFTER_CHECK)


class OrderActions:
    """`poke(user_id)`: tell the poller to watch this user closely now (a service was added)."""

    def __init__(
        self,
        client: SmspvaClient,
        confirmations: ConfirmationsRepo,
        orders: OrdersRepo,
        *,
        poke: Callable[[int], None] | None = None,
    ) -> None:
        self._client = client
        self._confirmations = confirmations
        self._orders = orders
        self._poke = poke

    async def _once(
        self,
        confirmation: Confirmation,
        apikey: str,
        call: Callable[[], Awaitable[Any]],
        happened: Callable[[list[Order]], bool],
        order_id: int,
        adopt: Callable[[list[Order]], list[Order]] | None = None,
    ) -> ActionOutcome:
        """`adopt` picks, from a fresh order list after success, new orders the call opened: they are
        recorded as the user's rentals (never baselined as old)."""
        await self._confirmations.mark_sent(confirmation.token)
        settled = await call_once(
            self._client, apikey, call, happened, what=confirmation.kind, user_id=confirmation.user_id
        )
        token = confirmation.token
        if settled.verdict is Verdict.FAILED:
            assert settled.error is not None
            msg = settled.error.msg if isinstance(settled.error, SmspvaError) else "not sent"
            await self._confirmations.finish(token, ConfirmStatus.FAILED, {"msg": msg})
            return ActionOutcome(Verdict.FAILED, error=settled.error)
        status, result = _TOKEN_STATUS[settled.verdict]
        await self._confirmations.finish(token, status, result)
        if settled.happened and adopt is not None and settled.orders is not None:
            await self._adopt(confirmation.user_id, adopt(settled.orders))
        if settled.verdict is not Verdict.DONE:
            return ActionOutcome(
                settled.verdict, order=find_order(settled.orders, order_id), error=settled.error
            )
        if isinstance(settled.value, AddedService) and settled.value.moved:
            # SMSPVA put the service on another order (smspva-sdk: data.id): follow that one.
            log.info("add_service moved order_id=%s new_order_id=%s", order_id, settled.value.id)
            order_id = settled.value.id
        after: Order | None = None
        fresh: list[Order] | None = None
        try:
            fresh = await self._client.orders(apikey)
        except (SmspvaError, SmspvaUnavailable):
            fresh = None  # the action succeeded; the fresh details are a nicety
        after = find_order(fresh, order_id)
        adopted = adopt(fresh) if adopt is not None and fresh is not None else []
        await self._adopt(confirmation.user_id, adopted)
        if after is not None and after.id not in {o.id for o in adopted}:
            await self._orders.upsert_seen(confirmation.user_id, after)
        if (
            fresh is None
            and isinstance(settled.value, AddedService)
            and settled.value.moved
            and await self._orders.get(settled.value.id) is None
        ):
            await self._record_moved(confirmation, settled.value)
        return ActionOutcome(Verdict.DONE, order=after)

    async def _record_moved(self, confirmation: Confirmation, added: AddedService) -> None:
        """The new order's id is known but the order list could not be read: record it from the
        number it was added to, as a rental (the poller fills in the rest when it lists it)."""
        source = await self._orders.get(int(confirmation.payload["order_id"]))
        if source is None:
            return  # nothing to build it from: the poller finds it (as an unknown order) by itself
        await self._orders.record_rental(
            order_id=added.id,
            user_id=confirmation.user_id,
            country=source.country,
            ccode=source.ccode,
            pnumber=source.pnumber,
            service=added.service or str(confirmation.payload["service"]),
            sname=str(confirmation.payload.get("service_name") or added.service),
            until=added.until or 0,
        )

    async def _adopt(self, user_id: int, opened: list[Order]) -> None:
        for order in opened:
            log.info("order opened by an action recorded as a rental order_id=%s", order.id)
            await self._orders.record_added(user_id, order)

    async def prolong(self, confirmation: Confirmation, apikey: str) -> ActionOutcome:
        payload = confirmation.payload
        order_id = int(payload["order_id"])
        period = Period(PeriodType(str(payload["dtype"])), int(payload["dcount"]))
        old_until = int(payload["until"])
        outcome = await self._once(
            confirmation,
            apikey,
            lambda: self._client.prolong(apikey, order_id=order_id, dtype=period.dtype, dcount=period.dcount),
            lambda orders: any(o.id == order_id and o.until > old_until for o in orders),
            order_id,
        )
        if outcome.succeeded:
            # A preview priced for the old end date must not prolong the order a second time.
            await self._confirmations.expire_pending(confirmation.user_id, PROLONG, order_id)
        return outcome

    async def add_service(self, confirmation: Confirmation, apikey: str) -> ActionOutcome:
        payload = confirmation.payload
        order_id = int(payload["order_id"])
        service = str(payload["service"])
        number = "".join(ch for ch in str(payload["pnumber"]) if ch.isdigit())
        known = await self._orders.ids_for_user(confirmation.user_id)

        def opened(orders: list[Order]) -> list[Order]:
            # SMSPVA may put the service on a new order for the same number (smspva-sdk: data.id,
            # and an answer without data names no id at all): any order of this number holding the
            # service that the bot did not know before the call is that new order.
            return [
                o
                for o in orders
                if o.id != order_id
                and o.id not in known
                and o.pnumber_with_code == number
                and service in o.scode.split(",")
            ]

        outcome = await self._once(
            confirmation,
            apikey,
            lambda: self._client.add_service_to_order(
                apikey,
                order_id=order_id,
                service=service,
                pnumber=str(payload["pnumber"]),
                rent_days=int(payload["days"]),
            ),
            lambda orders: any(
                (o.id == order_id or o.pnumber_with_code == number) and service in o.scode.split(",")
                for o in orders
            ),
            order_id,
            adopt=opened,
        )
        if outcome.succeeded and self._poke is not None:
            self._poke(confirmation.user_id)  # the SMS the service was bought for come soon
        return outcome

    async def delete(self, confirmation: Confirmation, apikey: str) -> ActionOutcome:
        order_id = int(confirmation.payload["order_id"])
        outcome = await self._once(
            confirmation,
            apikey,
            lambda: self._client.delete(apikey, order_id),
            lambda orders: all(o.id != order_id for o in orders),
            order_id,
        )
        if outcome.succeeded:
            await self._orders.mark_gone([order_id])
        return outcome

    async def restore(self, confirmation: Confirmation, apikey: str) -> ActionOutcome:
        order_id = int(confirmation.payload["order_id"])
        number = "".join(ch for ch in str(confirmation.payload.get("number", "")) if ch.isdigit())
        return await self._once(
            confirmation,
            apikey,
            lambda: self._client.restore(apikey, order_id),
            lambda orders: any(
                o.id == order_id or (number and o.pnumber_with_code == number) for o in orders
            ),
            order_id,
        )
