"""Exactly one `create` per confirmation, and an honest answer when the outcome is unclear."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from bot.db.choices import ChoicesRepo
from bot.db.confirmations import Confirmation, ConfirmationsRepo, ConfirmStatus
from bot.db.orders import OrdersRepo
from bot.periods import Period
from bot.services.money import Verdict, call_once
from bot.smspva import Order, PeriodType, SmspvaClient, SmspvaError, SmspvaUnavailable

CONFIRM_KIND = "create"
# After a timeout we look for the new order: its expiry must match the period within this margin
# (tight enough that a same-service number rented hours earlier is not taken for it).
_UNTIL_MARGIN = 3 * 3600


class RentStatus(Enum):
    DONE = "done"  # the number is ours
    DONE_AFTER_CHECK = "done_after_check"  # the call timed out, but the order list shows the number
    NOT_THERE = "not_there"  # the call timed out and no new number is on the account
    UNCLEAR = "unclear"  # the call timed out and the order list could not be read either
    FAILED = "failed"  # SMSPVA said no (error) or the request never left


@dataclass(frozen=True, slots=True)
class RentedNumber:
    order_id: int
    ccode: str
    pnumber: str
    service: str
    country: str
    until: int


@dataclass(frozen=True, slots=True)
class RentOutcome:
    status: RentStatus
    number: RentedNumber | None = None
    error: SmspvaError | SmspvaUnavailable | None = None


@dataclass(frozen=True, slots=True)
class RentPlan:
    """What a Summary shows and a Confirm commits to (stored as the confirmation payload)."""

    country: str
    service: str
    service_name: str
    dtype: str
    dcount: int
    total: Decimal | None = None  # the total the Summary showed (None: a token from before it was kept)

    @property
    def period(self) -> Period:
        return Period(PeriodType(self.dtype), self.dcount)

    def to_payload(self) -> dict[str, str | int]:
        return {
            "country": self.country,
            "service": self.service,
            "service_name": self.service_name,
            "dtype": self.dtype,
            "dcount": self.dcount,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, object]) -> RentPlan:
        return cls(
            country=str(payload["country"]),
            service=str(payload["service"]),
            service_name=str(payload.get("service_name", payload["service"])),
            dtype=str(payload["dtype"]),
            dcount=int(str(payload["dcount"])),
            total=Decimal(str(payload["total"])) if payload.get("total") is not None else None,
        )


class Renter:
    def __init__(
        self,
        client: SmspvaClient,
        confirmations: ConfirmationsRepo,
        orders: OrdersRepo,
        choices: ChoicesRepo,
    ) -> None:
        self._client = client
        self._confirmations = confirmations
        self._orders = orders
        self._choices = choices

    async def rent(self, confirmation: Confirmation, apikey: str) -> RentOutcome:
        """Run a claimed confirmation. Never retries `create`; reconciles on an unclear outcome."""
        plan = RentPlan.from_payload(confirmation.payload)
        user_id = confirmation.user_id
        known_ids = await self._orders.ids_for_user(user_id)
        started = time.time()
        # What a reconciliation after a crash needs to recognise this rental (bot.services.payments).
        await self._confirmations.mark_sent(
            confirmation.token, {"known_ids": sorted(known_ids), "started": started}
        )
        settled = await call_once(
            self._client,
            apikey,
            lambda: self._client.create(
                apikey,
                country=plan.country,
                service=plan.service,
                dtype=plan.period.dtype,
                dcount=plan.dcount,
            ),
            lambda orders: find_new_order(orders, plan, known_ids, started) is not None,
            what="create",
            user_id=user_id,
        )
        token = confirmation.token
        if settled.verdict is Verdict.FAILED:
            assert settled.error is not None
            msg = settled.error.msg if isinstance(settled.error, SmspvaError) else "not sent"
            await self._confirmations.finish(token, ConfirmStatus.FAILED, {"msg": msg})
            return RentOutcome(RentStatus.FAILED, error=settled.error)
        if settled.verdict is Verdict.UNCLEAR:
            await self._confirmations.finish(token, ConfirmStatus.UNCLEAR)
            return RentOutcome(RentStatus.UNCLEAR, error=settled.error)
        if settled.verdict is Verdict.NOT_DONE:
            await self._confirmations.finish(token, ConfirmStatus.FAILED, {"msg": "not found"})
            return RentOutcome(RentStatus.NOT_THERE)
        if settled.verdict is Verdict.DONE_AFTER_CHECK:
            match = find_new_order(settled.orders or [], plan, known_ids, started)
            assert match is not None
            number = RentedNumber(
                order_id=match.id,
                ccode=match.ccode,
                pnumber=match.pnumber,
                service=plan.service,
                country=plan.country,
                until=match.until,
            )
            status = RentStatus.DONE_AFTER_CHECK
        else:
            created = settled.value
            assert created is not None
            number = RentedNumber(
                order_id=created.id,
                ccode=created.ccode,
                pnumber=created.pnumber,
                service=created.service or plan.service,
                country=plan.country,
                until=created.until,
            )
            status = RentStatus.DONE
        await self._record(user_id, number, plan)
        await self._confirmations.finish(token, ConfirmStatus.DONE, {"order_id": number.order_id})
        return RentOutcome(status, number=number)

    async def record_found(self, user_id: int, order: Order, plan: RentPlan) -> RentedNumber:
        """A rental found in `orders` by a reconciliation: recorded like one answered clearly."""
        number = RentedNumber(
            order_id=order.id,
            ccode=order.ccode,
            pnumber=order.pnumber,
            service=plan.service,
            country=plan.country,
            until=order.until,
        )
        await self._record(user_id, number, plan)
        return number

    async def _record(self, user_id: int, number: RentedNumber, plan: RentPlan) -> None:
        await self._orders.record_rental(
            order_id=number.order_id,
            user_id=user_id,
            country=number.country,
            ccode=number.ccode,
            pnumber=number.pnumber,
            service=number.service,
            sname=plan.service_name,
            until=number.until,
        )
        await self._choices.remember(user_id, plan.country, plan.service, plan.dtype, plan.dcount)


def find_new_order(orders: list[Order], plan: RentPlan, known_ids: set[int], started: float) -> Order | None:
    """The order our timed-out `create` made, if any: unknown to us, same country and service, and
    expiring when this period would end (so a rental made on the website meanwhile is not mistaken)."""
    expected_until = started + plan.period.days * 86400
    candidates = [
        order
        for order in orders
        if order.id not in known_ids
        and (not order.cname or order.cname == plan.country)
        and plan.service in order.scode.split(",")
        and abs(order.until - expected_until) <= _UNTIL_MARGIN
    ]
    return max(candidates, key=lambda order: order.id, default=None)
