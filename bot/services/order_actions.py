"""Money-moving order actions (prolong, add service, delete, restore): one upstream call per
confirmation, and a reconciliation with `orders` when the answer is unclear — never a retry."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.db.confirmations import Confirmation, ConfirmationsRepo, ConfirmStatus
from bot.db.orders import OrdersRepo
from bot.periods import Period
from bot.smspva import AddedService, Order, PeriodType, SmspvaClient, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

PROLONG = "prolong"
ADD_SERVICE = "add_service"
DELETE = "delete"
RESTORE = "restore"


class ActionStatus(Enum):
    DONE = "done"
    DONE_AFTER_CHECK = "done_after_check"  # unclear answer, but the order list shows it happened
    NOT_DONE = "not_done"  # unclear answer, and the order list shows it did not happen
    UNCLEAR = "unclear"  # unclear answer, and the order list could not be read
    FAILED = "failed"  # SMSPVA refused, or the request never left


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    status: ActionStatus
    order: Order | None = None  # the order as SMSPVA lists it afterwards, when known
    error: SmspvaError | SmspvaUnavailable | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in (ActionStatus.DONE, ActionStatus.DONE_AFTER_CHECK)


def _find(orders: list[Order], order_id: int) -> Order | None:
    return next((order for order in orders if order.id == order_id), None)


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
        token = confirmation.token
        try:
            result = await call()
        except SmspvaError as error:
            await self._confirmations.finish(token, ConfirmStatus.FAILED, {"msg": error.msg})
            return ActionOutcome(ActionStatus.FAILED, error=error)
        except SmspvaUnavailable as error:
            if not error.request_sent:
                await self._confirmations.finish(token, ConfirmStatus.FAILED, {"msg": "not sent"})
                return ActionOutcome(ActionStatus.FAILED, error=error)
            log.warning("%s outcome unclear, reconciling user_id=%s", confirmation.kind, confirmation.user_id)
            try:
                orders = await self._client.orders(apikey)
            except (SmspvaError, SmspvaUnavailable) as check_error:
                await self._confirmations.finish(token, ConfirmStatus.UNCLEAR)
                return ActionOutcome(ActionStatus.UNCLEAR, error=check_error)
            if happened(orders):
                await self._confirmations.finish(token, ConfirmStatus.DONE)
                return ActionOutcome(ActionStatus.DONE_AFTER_CHECK, order=_find(orders, order_id))
            await self._confirmations.finish(token, ConfirmStatus.FAILED, {"msg": "not found"})
            return ActionOutcome(ActionStatus.NOT_DONE, error=error)
        await self._confirmations.finish(token, ConfirmStatus.DONE)
        if isinstance(result, AddedService) and result.moved:
            # SMSPVA put the service on another order (smspva-sdk: data.id): follow that one.
            log.info("add_service moved order_id=%s new_order_id=%s", order_id, result.id)
            order_id = result.id
        after: Order | None = None
        try:
            after = _find(await self._client.orders(apikey), order_id)
        except (SmspvaError, SmspvaUnavailable):
            after = None  # the action succeeded; the fresh details are a nicety
        if after is not None:
            await self._orders.upsert_seen(confirmation.user_id, after)
        return ActionOutcome(ActionStatus.DONE, order=after)

    async def prolong(self, confirmation: Confirmation, apikey: str) -> ActionOutcome:
        payload = confirmation.payload
        order_id = int(payload["order_id"])
        period = Period(PeriodType(str(payload["dtype"])), int(payload["dcount"]))
        old_until = int(payload["until"])
        return await self._once(
            confirmation,
            apikey,
            lambda: self._client.prolong(apikey, order_id=order_id, dtype=period.dtype, dcount=period.dcount),
            lambda orders: any(o.id == order_id and o.until > old_until for o in orders),
            order_id,
        )

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
