"""The client's aiohttp wire over real sockets: answers, redirects not followed, and failures mapped to
the same typed errors as httpx's own transport (whether the request may have left)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from bot.smspva import SmspvaClient, SmspvaUnavailable
from bot.smspva.transport import AiohttpTransport

KEY = "k3yS3cr3t-0123456789abcdefABCDEF"


async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("GET", "/api/rent.php", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/api/rent.php"


async def test_answers_queries_and_no_redirects() -> None:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        if request.query.get("method") == "sms":
            raise web.HTTPFound("http://elsewhere.invalid/")
        return web.json_response(
            {"status": 1, "data": [{"id": 1, "pnumber": "79000000000", "until": 1, "state": 1}]}
        )

    runner, url = await serve(handler)
    client = SmspvaClient(url, min_interval=0, transport=AiohttpTransport(), read_tries=1)
    try:
        orders = await client.orders(KEY)
        assert [order.id for order in orders] == [1]
        assert seen[0] == {"method": "orders", "apikey": KEY}
        with pytest.raises(SmspvaUnavailable) as caught:
            await client.sms(KEY, 7)  # a 302 is an answer we do not follow: the key stays here
        assert caught.value.reason == "http_status"
        assert len(seen) == 2
    finally:
        await client.aclose()
        await runner.cleanup()


async def test_nothing_listening_is_a_request_that_never_left() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    client = SmspvaClient(
        f"http://127.0.0.1:{port}/api/rent.php", min_interval=0, transport=AiohttpTransport(), read_tries=1
    )
    try:
        with pytest.raises(SmspvaUnavailable) as caught:
            await client.orders(KEY)
        assert caught.value.reason == "connect_failed"
        assert caught.value.request_sent is False
    finally:
        await client.aclose()


async def test_a_slow_answer_is_a_timeout_after_the_request_left() -> None:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"status": 1, "data": []})

    runner, url = await serve(handler)
    client = SmspvaClient(url, min_interval=0, timeout=0.3, transport=AiohttpTransport(), read_tries=1)
    try:
        with pytest.raises(SmspvaUnavailable) as caught:
            await client.orders(KEY)
        assert caught.value.reason == "timeout"
        assert caught.value.request_sent is True
    finally:
        await client.aclose()
        await runner.cleanup()
