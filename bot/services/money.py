"""One upstream call, then — only when the answer is unclear — one look at `orders`. Never a retry.

Every money-moving call (create, prolong, add_service_to_order, delete, restore_user, auto-prolong)
and `activate` goes through `call_once`: a clear error or a request that never left is FAILED; a
timeout or garbled answer after the request may have reached SMSPVA is reconciled by reading the
order list once and asking the caller's `happened` whether the effect is there. What the caller
does with the verdict (finish a confirmation token, an auto-prolong attempt...) stays with it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from bot.smspva import Order, SmspvaClient, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")


class Verdict(Enum):
    DONE = "done"  # SMSPVA answered clearly: it happened
    DONE_AFTER_CHECK = "done_after_check"  # unclear answer, but the order list shows it happened
    NOT_DONE = "not_done"  # unclear answer, and the order list shows it did not happen
    UNCLEAR = "unclear"  # unclear answer, and the order list could not be read
    FAILED = "failed"  # SMSPVA refused, or the request never left


@dataclass(frozen=True, slots=True)
class Settled(Generic[T]):
    verdict: Verdict
    value: T | None = None  # what the call returned (DONE only)
    orders: list[Order] | None = None  # the order list read to reconcile (DONE_AFTER_CHECK, NOT_DONE)
    error: SmspvaError | SmspvaUnavailable | None = None

    @property
    def happened(self) -> bool:
        return self.verdict in (Verdict.DONE, Verdict.DONE_AFTER_CHECK)


async def call_once(
    client: SmspvaClient,
    apikey: str,
    call: Callable[[], Awaitable[T]],
    happened: Callable[[list[Order]], bool],
    *,
    what: str,
    user_id: int,
) -> Settled[T]:
    """Run `call` exactly once; on an unclear answer read `orders` once and let `happened` judge."""
    try:
        value = await call()
    except SmspvaError as error:
        return Settled(Verdict.FAILED, error=error)
    except SmspvaUnavailable as error:
        if not error.request_sent:
            return Settled(Verdict.FAILED, error=error)
        log.warning("%s outcome unclear, reconciling user_id=%s", what, user_id)
        try:
            orders = await client.orders(apikey)
        except (SmspvaError, SmspvaUnavailable) as check_error:
            return Settled(Verdict.UNCLEAR, error=check_error)
        if happened(orders):
            return Settled(Verdict.DONE_AFTER_CHECK, orders=orders)
        return Settled(Verdict.NOT_DONE, orders=orders, error=error)
    return Settled(Verdict.DONE, value=value)


def find_order(orders: list[Order] | None, order_id: int) -> Order | None:
    return next((order for order in orders or [] if order.id == order_id), None)
