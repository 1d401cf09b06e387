"""`call_once`: one call, and one look at `orders` only when the answer is unclear."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from bot.services.money import Verdict, call_once
from bot.smspva import Order, SmspvaClient, SmspvaError, SmspvaUnavailable

URL = "http://smspva.test/api/rent.php"
ORDER = {"id": 7, "state": 1, "until": 2_000_000_000, "scode": "opt16", "pnumber": "9001234567", "ccode": "7"}


@pytest.fixture
async def client_with() -> AsyncIterator[Callable[[httpx.Response], tuple[SmspvaClient, list[str]]]]:
    clients: list[SmspvaClient] = []

    def factory(reply: httpx.Response) -> tuple[SmspvaClient, list[str]]:
        seen: list[str] = []

        def upstream(request: httpx.Request) -> httpx.Response:
            seen.append(request.url.params["method"])
            return reply

        client = SmspvaClient(
            URL, transport=httpx.MockTransport(upstream), min_interval=0, backoff=0, read_tries=1
        )
        clients.append(client)
        return client, seen

    yield factory
    for client in clients:
        await client.aclose()


def has_order(orders: list[Order]) -> bool:
    return any(order.id == 7 for order in orders)


async def test_a_clear_answer_is_not_reconciled(
    client_with: Callable[..., tuple[SmspvaClient, list[str]]],
) -> None:
    client, seen = client_with(httpx.Response(200, json={"status": 1, "data": [ORDER]}))
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        return "ok"

    settled = await call_once(client, "key", call, has_order, what="prolong", user_id=1)
    assert (settled.verdict, settled.value, calls, seen) == (Verdict.DONE, "ok", [1], [])


@pytest.mark.parametrize(
    "error",
    [
        SmspvaError("prolong", "Balance is not enough"),
        SmspvaUnavailable("prolong", "refused", request_sent=False),
    ],
)
async def test_a_refusal_or_an_unsent_request_fails_without_a_look(
    client_with: Callable[..., tuple[SmspvaClient, list[str]]], error: Exception
) -> None:
    client, seen = client_with(httpx.Response(200, json={"status": 1, "data": [ORDER]}))

    async def call() -> None:
        raise error

    settled = await call_once(client, "key", call, has_order, what="prolong", user_id=1)
    assert settled.verdict is Verdict.FAILED
    assert settled.error is error
    assert seen == []


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        (httpx.Response(200, json={"status": 1, "data": [ORDER]}), Verdict.DONE_AFTER_CHECK),
        (httpx.Response(200, json={"status": 1, "data": []}), Verdict.NOT_DONE),
        (httpx.Response(500, text="down"), Verdict.UNCLEAR),
    ],
)
async def test_an_unclear_answer_is_reconciled_once_and_never_retried(
    client_with: Callable[..., tuple[SmspvaClient, list[str]]], reply: httpx.Response, verdict: Verdict
) -> None:
    client, seen = client_with(reply)
    calls: list[int] = []

    async def call() -> None:
        calls.append(1)
        raise SmspvaUnavailable("prolong", "timeout", request_sent=True)

    settled = await call_once(client, "key", call, has_order, what="prolong", user_id=1)
    assert settled.verdict is verdict
    assert calls == [1]
    assert seen == ["orders"]
    assert settled.happened is (verdict is Verdict.DONE_AFTER_CHECK)
