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
    def __init__(self, client: SmspvaClient, confirmations: ConfirmationsRepo, orders: OrdersRepo) -> None:
        self._client = client
        self._confirmations = confirmations
        self._orders = orders

    async def _once(
        self,
        confirmation: Confirmation,
        apikey: str,
        call: Callable[[], Awaitable[Any]],
        happened: Callable[[list[Order]], bool],
        order_id: int,
    ) -> ActionOutcome:
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
        if settled.verdict is not Verdict.DONE:
            return ActionOutcome(
                settled.verdict, order=find_order(settled.orders, order_id), error=settled.error
            )
        if isinstance(settled.value, AddedService) and settled.value.moved:
            # SMSPVA put the service on another order (smspva-sdk: data.id): follow that one.
            log.info("add_service moved order_id=%s new_order_id=%s", order_id, settled.value.id)
            order_id = settled.value.id
        after: Order | None = None
        try:
            after = find_order(await self._client.orders(apikey), order_id)
        except (SmspvaError, SmspvaUnavailable):
            after = None  # the action succeeded; the fresh details are a nicety
        if after is not None:
            await self._orders.upsert_seen(confirmation.user_id, after)
        return ActionOutcome(Verdict.DONE, order=after)

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
        return await self._once(
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
        )

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
        number = str(confirmation.payload.get("number", ""))
        return await self._once(
            confirmation,
            apikey,
            lambda: self._client.restore(apikey, order_id),
            lambda orders: any(
                o.id == order_id or (number and o.pnumber_with_code == number) for o in orders
            ),
            order_id,
        )
