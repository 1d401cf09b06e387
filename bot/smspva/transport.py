"""An httpx transport that sends through aiohttp.

The client keeps the httpx interface (``httpx.AsyncClient``, its timeouts, its exceptions, tests'
``httpx.MockTransport``); only the wire underneath changes. Why: with thousands of online numbers
the poller makes hundreds of SMSPVA calls a second, and httpcore + anyio cost about a third of the
bot's CPU per call; aiohttp (already installed through aiogram) does the same request for less
(``python -m bench.http_transport`` measures both side by side).

What it keeps from httpx: the request as built (method, URL with the key in the query, headers), no
redirects followed (a redirect would replay the key), the four timeouts (connect, read, write,
pool) and the exception types the client maps to :class:`SmspvaUnavailable` -- a failure before the
request left is ``httpx.ConnectError``/``ConnectTimeout``/``PoolTimeout`` (``request_sent=False``),
anything later a ``ReadTimeout``/``ReadError``. The body is read whole (API answers are small) and
handed to httpx already decompressed, so the encoding headers are dropped.
"""

from __future__ import annotations

from typing import Final

import aiohttp
import httpx
from yarl import URL

__all__ = ["AiohttpTransport"]

# Headers that describe the wire form of the body; the body handed to httpx is already decoded.
_WIRE_HEADERS: Final = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})
_URL_CACHE_SIZE: Final = 20_000


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (created on first use, inside the running loop), keep-alive pool."""

    def __init__(self, *, limit: int = 256, keepalive: float = 30.0) -> None:
        self._limit = limit
        self._keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}  # the same few URLs come again every few seconds

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit, keepalive_timeout=self._keepalive, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx's client keeps no cookies for us either
                auto_decompress=True,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),  # waiting for a free connection (httpx: pool timeout)
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in request.headers.raw}
        headers.pop("Host", None)  # aiohttp writes it from the URL
        body = request.content or None
        raw_url = str(request.url)
        url = self._urls.get(raw_url)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = self._urls[raw_url] = URL(raw_url, encoded=True)  # httpx has encoded it already
        try:
            async with self._get_session().request(
                request.method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=timeout,
                skip_auto_headers=("Accept-Encoding", "User-Agent"),
            ) as answer:
                content = await answer.read()
                raw_headers = [(k, v) for k, v in answer.raw_headers if k.lower() not in _WIRE_HEADERS]
                status = answer.status
        except aiohttp.ConnectionTimeoutError as exc:  # no connection within the connect timeout
            raise httpx.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS: the request never left
            raise httpx.ConnectError(str(exc) or "connect failed", request=request) from exc
        except (TimeoutError, aiohttp.SocketTimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
        except aiohttp.ClientError as exc:  # the connection broke after the request was sent
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        return httpx.Response(status, headers=raw_headers, content=content, request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
