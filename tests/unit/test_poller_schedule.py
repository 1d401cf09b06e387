"""The poller's schedule without servers: `sms` ticks of online numbers, `orders` cadence, start
spacing from the event loop's lag."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from bot.services.poller import (
    LAG_TARGET_SECONDS,
    MAX_START_GAP_SECONDS,
    ONLINE_ORDERS_IDLE_FACTOR,
    SMS_GAP_FACTOR,
    SmsPoller,
    _Known,
    _UserState,
)
from bot.smspva import Order, OrderState, SmspvaClient


def make_poller(pace: float = 1.0) -> SmsPoller:
    client = cast(Any, SmspvaClient(min_interval=pace))
    return SmsPoller(
        client, cast(Any, None), cast(Any, None), cast(Any, None), active_seconds=5, idle_seconds=30
    )


def order(order_id: int, state: int) -> Order:
    return Order.model_validate(
        {"id": order_id, "pnumber": "79000000000", "until": 2_000_000_000, "state": state, "service": "opt16"}
    )


def user_with(*states: int) -> _UserState:
    user = _UserState(apikey="k" * 32, token=b"t", phase=0.0, next_due=0.0)
    for n, state in enumerate(states, start=1):
        user.orders[n] = _Known(state=state, order=order(n, state), owed=False)
    return user


async def test_an_online_number_costs_no_more_than_before() -> None:
    poller = make_poller()
    user = user_with(OrderState.ACTIVE)
    tick = poller._tick(user, 1)
    orders_every = poller._interval(user)
    assert tick == SMS_GAP_FACTOR * 5 < 5  # an SMS waits at most one tick for its read
    assert orders_every == ONLINE_ORDERS_IDLE_FACTOR * 30
    per_hour = 3600 / tick + 3600 / orders_every
    assert per_hour <= 810  # `orders` every 5 s + a 30-s `sms` sweep, as measured before


async def test_numbers_of_one_key_share_its_pace() -> None:
    poller = make_poller(pace=1.0)
    user = user_with(OrderState.ACTIVE, OrderState.ACTIVE, OrderState.ACTIVE)
    assert poller._tick(user, 2) == SMS_GAP_FACTOR * 5 / 2  # each number still every 4.7 s
    assert poller._tick(user, 10) == 1.0  # never faster than the key's pace: each every 10 s
    slow = make_poller(pace=4.2)
    assert slow._tick(user, 1) == pytest.approx(4.7)
    assert slow._tick(user, 2) == 4.2


async def test_orders_stays_fast_while_something_is_activating() -> None:
    poller = make_poller()
    assert poller._interval(user_with(OrderState.ACTIVE, OrderState.ACTIVATING)) == 5
    assert poller._interval(user_with(OrderState.NOT_ACTIVE)) == 30


async def test_poll_starts_are_spaced_only_while_the_loop_lags() -> None:
    poller = make_poller()
    loop = asyncio.get_running_loop()
    poller._stopping = True  # no re-arming of the probe timer
    assert poller._start_gap == 0.0
    for _ in range(30):
        poller._probe_lag(loop.time() - 4 * LAG_TARGET_SECONDS)
    assert poller._start_gap == MAX_START_GAP_SECONDS
    for _ in range(60):
        poller._probe_lag(loop.time())
    assert poller._start_gap == 0.0  # the loop keeps up: nothing is capped
