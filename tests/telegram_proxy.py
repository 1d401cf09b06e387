"""A reverse proxy in front of the Telegram fake, able to misbehave the way real proxies do.

Real deployments often reach the Bot API through a proxy (nginx, a corporate gateway, Cloudflare); when
it cannot reach Telegram it answers with its own HTML error page, not Telegram's JSON. The fake itself
only answers JSON, so this proxy supplies that oddity (and a flood-control switch with no fixed count):

* `html_error(method, count)` — the next `count` calls of `method` get an nginx-style HTML 502 page;
* `flood(method, retry_after)` / `calm()` — every call of `method` gets Telegram's 429 until calmed.

Everything else is forwarded to the fake unchanged, so the fake's call log stays the record of what
Telegram accepted.
"""

from __future__ import annotations

import json
from collections import Counter

import aiohttp
from aiohttp import web

HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class TelegramProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.base_url = ""
        self.faults: Counter[str] = Counter()  # "<method>:<answer>" -> how many calls were refused
        self._html: dict[str, int] = {}
        self._flood: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def html_error(self, method: str, count: int) -> None:
        self._html[method.lower()] = count

    def flood(self, method: str, retry_after: int = 1) -> None:
        self._flood[method.lower()] = retry_after

    def calm(self) -> None:
        self._flood.clear()
        self._html.clear()

    async def _forward(self, request: web.Request) -> web.Response:
        method = request.path.rsplit("/", 1)[-1].lower()
        body = await request.read()
        if self._html.get(method, 0) > 0:
            self._html[method] -= 1
            self.faults[f"{method}:html"] += 1
            return web.Response(status=502, text=HTML_502, content_type="text/html")
        if method in self._flood:
            retry_after = self._flood[method]
            self.faults[f"{method}:429"] += 1
            payload = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            }
            return web.Response(status=429, text=json.dumps(payload), content_type="application/json")
        assert self._session is not None
        headers = {"Content-Type": request.headers.get("Content-Type", "application/octet-stream")}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            data = await answer.read()
            return web.Response(
                status=answer.status, body=data, content_type=answer.content_type or "application/json"
            )
