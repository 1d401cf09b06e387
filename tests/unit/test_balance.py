"""The account balance: the client's read of SMSPVA's activation API and the 30-second cache."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from bot.services.balance import Balances
from bot.smspva import SmspvaClient, SmspvaUnavailable

URL = "https://api.smspva.com/activation/balance"
KEY = "demoKey1234567890abcdefABCDEF12"


def client_answering(handler: httpx.MockTransport) -> SmspvaClient:
    return SmspvaClient("https://smspva.com/api/rent.php", transport=handler)


async def test_balance_is_read_with_the_key_in_a_header() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"statusCode": 200, "data": {"balance": "12.34"}})

    async with client_answering(httpx.MockTransport(answer)) as client:
        assert await client.balance(KEY, URL) == Decimal("12.34")
    assert seen[0].headers["apikey"] == KEY
    assert KEY not in str(seen[0].url)  # never in a URL (URLs reach logs)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json={"statusCode": 401, "error": "Unauthorized"}),
        httpx.Response(200, json={"statusCode": 500, "data": {"balance": "1"}}),
        httpx.Response(200, json={"statusCode": 200, "data": {}}),
        httpx.Response(200, json={"statusCode": 200, "data": {"balance": "lots"}}),
        httpx.Response(200, json={"statusCode": 200, "data": {"balance": "NaN"}}),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
    ],
)
async def test_an_unreadable_balance_is_unavailable(response: httpx.Response) -> None:
    async with client_answering(httpx.MockTransport(lambda _request: response)) as client:
        with pytest.raises(SmspvaUnavailable):
            await client.balance(KEY, URL)


async def test_numbers_are_read_too() -> None:
    answer = httpx.Response(200, json={"statusCode": "200", "data": {"balance": 7.5}})
    async with client_answering(httpx.MockTransport(lambda _request: answer)) as client:
        assert await client.balance(KEY, URL) == Decimal("7.5")


async def test_the_cache_serves_30_seconds_and_a_failure_is_none() -> None:
    calls = 0
    fail = False

    def answer(_request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if fail:
            raise httpx.ConnectError("down")
        return httpx.Response(200, json={"statusCode": 200, "data": {"balance": str(calls)}})

    now = [0.0]
    async with client_answering(httpx.MockTransport(answer)) as client:
        balances = Balances(client, URL, clock=lambda: now[0])
        assert await balances.get(None) is None  # no key, no call
        assert await balances.get(KEY) == Decimal(1)
        now[0] = 29.0
        assert await balances.get(KEY) == Decimal(1)
        assert calls == 1
        balances.forget(KEY)  # money moved
        assert await balances.get(KEY) == Decimal(2)
        now[0] = 60.0
        fail = True
        assert await balances.get(KEY) is None  # never an error
        assert await balances.get(KEY) is None
        assert calls == 3  # the failure is cached as well
