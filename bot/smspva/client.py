"""Async client of the SMSPVA rent API (``https://smspva.com/api/rent.php``).

Shape (STYLE.md convention 6, after replicate-python): every public method goes through one
:meth:`SmspvaClient._request`, which builds the query, paces the call, applies the timeouts, parses the JSON
tolerantly and raises typed errors (:mod:`bot.smspva.errors`).

Behaviour worth knowing:

* Only GET (the page: "Only GET requests are accepted"). ``base_url`` is the full endpoint; everything goes
  in the query string -- including the API key, which therefore must never be logged with a URL (see
  :mod:`bot.smspva.redact`). This module logs neither URLs, params, keys, numbers nor SMS text.
* Pacing: requests for one API key run one at a time (an :class:`asyncio.Lock` per key) and each one
  *starts* at least the lane's interval after the previous one for that key *started* (started-to-started;
  as the lock is held for the whole request, a slow request simply pushes the next one later). SMSPVA's
  docs ask for 4-5 s between queries and reject faster clients. The keyless catalog methods
  (``getcountries``, ``getdata`` before a key is linked) are paced the same way in one shared lane
  (``catalog_interval``, default ``min_interval``), with at most ``catalog_concurrency`` in flight.
* Rate limits: a rejection (HTTP 429, or ``status`` 0 with a "too many requests" wording, see
  :data:`bot.smspva.errors.WORDINGS`) doubles that lane's interval (at least ``rate_limit_floor``, at most
  ``rate_limit_max``; a ``Retry-After`` delays the next start on top); each success narrows it by 5 %,
  never below the floor. A rejected read is retried in its lane after the pause (``rate_limit_tries``
  attempts, then :class:`SmspvaUnavailable` ``rate_limited``); it is never a refusal and never an auth
  failure. A rejected money call is never retried: ``status`` 0 means it was not applied
  (:class:`SmspvaError` ``RATE_LIMITED``, the user may retry); HTTP 429 leaves it unclear
  (:class:`SmspvaUnavailable`, ``request_sent=True``: reconcile). A lane is dropped once it is idle and
  its spacing has elapsed (a widened one 5 minutes later), so the state stays bounded.
* Retries: read-only methods make at most ``read_tries`` attempts, only after :class:`SmspvaUnavailable`
  (never after :class:`SmspvaError`), sleeping ``uniform(0, min(10, backoff * 2**(attempt-1)))`` between
  them (exponential backoff, full jitter). Each attempt queues in the key's lane again. State-changing methods
  (create, add_service_to_order, prolong, activate, delete, restore) send exactly one request per call.
* A non-2xx answer is :class:`SmspvaUnavailable` -- except a 4xx (not 408/429) whose body is the API's own
  ``{"status": 0, "msg": ...}``: that is an upstream refusal and becomes :class:`SmspvaError` (assumption:
  the page documents HTTP 200 for errors, but a refusal is a refusal whatever the status line says).
* A malformed item inside a list answer is skipped with a warning naming the method and the offending field
  names (never the item: it may hold phone numbers or SMS text).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import metadata
from types import TracebackType
from typing import Any, Final, Self, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ValidationError

from .errors import ErrorKind, SmspvaError, SmspvaUnavailable, match_restore_code
from .models import (
    AddedService,
    Country,
    CreatedOrder,
    HistoryItem,
    Order,
    PeriodType,
    RestoreQuote,
    RestoreResult,
    Service,
    ServiceCatalog,
    Sms,
    SmsBatch,
)

__all__ = ["DEFAULT_BASE_URL", "SmspvaClient"]

DEFAULT_BASE_URL: Final = "https://smspva.com/api/rent.php"

_log = logging.getLogger("bot.smspva")

_CONNECT_TIMEOUT: Final = 5.0
_BACKOFF_CAP: Final = 10.0
# The restore error codes are documented for these methods only; elsewhere "Service not found" is just a msg.
_RESTORE_METHODS: Final = frozenset({"restore_user", "restore_user_precalc"})
# 4xx statuses that say "try later" rather than "refused", whatever the body.
_TRANSIENT_4XX: Final = frozenset({408, 425, 429})
_NON_DIGITS = re.compile(r"\D+")
_NARROW_FACTOR: Final = 0.95  # per success, after a rate-limit rejection widened a lane
_PENALTY_MEMORY: Final = 300.0  # seconds an idle, widened lane is remembered
_URL_CACHE_SIZE: Final = 20_000  # parsed request URLs kept (two per online number: `orders`, `sms`)

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)

_Params = Mapping[str, str | int]


def _user_agent() -> str:
    try:
        version = metadata.version("smspva-rent-bot")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"smspva-rent-bot/{version} (Telegram rent bot; python-httpx/{httpx.__version__})"


class _BadData(Exception):
    """A success answer whose ``data`` we cannot understand. Carries a reason word, never the data."""


class _RateLimited(Exception):
    """SMSPVA rejected a call for its rate. ``error`` is what the caller gets if no retry follows."""

    def __init__(self, error: SmspvaError | SmspvaUnavailable, retry_after: float | None) -> None:
        super().__init__(error.method)
        self.error = error
        self.retry_after = retry_after


@dataclass(slots=True, eq=False)
class _Lane:
    """Pacing state of one API key (or of the keyless catalog calls)."""

    interval: float  # current start-to-start spacing: the floor, widened by rejections
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float = -math.inf
    gap: float = math.inf  # the spacing the current call actually had (start to start)
    not_before: float = -math.inf  # a Retry-After: no start before this
    learned: float = 0.0  # a spacing SMSPVA refused (+5 %): narrowing stops there ...
    learned_until: float = -math.inf  # ... until then (it may have lifted the limit since)
    users: int = 0  # holders + waiters


class CallStats:
    """Upstream health for operators: calls and failures (transport, 5xx, bad JSON) per minute
    over the last hour; a refusal (status 0) is an answer, not a failure."""

    def __init__(self, minutes: int = 60) -> None:
        self._buckets: deque[list[int]] = deque(maxlen=minutes)  # [minute, calls, failures]

    def record(self, ok: bool) -> None:
        minute = int(time.monotonic() // 60)
        if not self._buckets or self._buckets[-1][0] != minute:
            self._buckets.append([minute, 0, 0])
        self._buckets[-1][1] += 1
        self._buckets[-1][2] += 0 if ok else 1

    def last_hour(self) -> tuple[int, int]:
        now = int(time.monotonic() // 60)
        recent = [b for b in self._buckets if now - b[0] < 60]
        return sum(b[1] for b in recent), sum(b[2] for b in recent)


class SmspvaClient:
    """One instance per process, shared by every user; cheap to call concurrently."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 15.0,
        min_interval: float = 1.0,
        read_tries: int = 3,
        backoff: float = 0.5,
        catalog_concurrency: int = 4,
        catalog_interval: float | None = None,
        rate_limit_floor: float = 1.0,
        rate_limit_max: float = 60.0,
        rate_limit_tries: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if min_interval < 0:
            raise ValueError("min_interval must not be negative")
        if read_tries < 1:
            raise ValueError("read_tries must be at least 1")
        if backoff < 0:
            raise ValueError("backoff must not be negative")
        if catalog_interval is not None and catalog_interval < 0:
            raise ValueError("catalog_interval must not be negative")
        if rate_limit_floor < 0 or rate_limit_max < rate_limit_floor or rate_limit_tries < 1:
            raise ValueError("need 0 <= rate_limit_floor <= rate_limit_max and rate_limit_tries >= 1")
        self._url = base_url
        self._min_interval = min_interval
        self._catalog_interval = min_interval if catalog_interval is None else catalog_interval
        self._rate_limit_floor = rate_limit_floor
        self._rate_limit_max = rate_limit_max
        self._rate_limit_tries = rate_limit_tries
        self._status0_data_logged: set[str] = set()
        self._read_tries = read_tries
        self._backoff = backoff
        self._lanes: dict[str | None, _Lane] = {}
        self._catalog_slots = asyncio.Semaphore(max(1, catalog_concurrency))
        self.stats = CallStats()
        # httpx's interface, without httpx.AsyncClient's per-request machinery (URL merging, auth,
        # redirects, cookies: half the CPU of a call at hundreds of calls a second): each request is
        # built once and handed to the transport, which follows no redirect (a redirect would replay
        # the key to wherever it points).
        self._transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._headers = httpx.Headers({"User-Agent": _user_agent(), "Accept": "application/json"})
        self._timeouts = httpx.Timeout(timeout, connect=_CONNECT_TIMEOUT).as_dict()
        self._urls: dict[str, httpx.URL] = {}

    async def aclose(self) -> None:
        await self._transport.aclose()
        self._lanes.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- the account balance (SMSPVA's activation API, not the rent API) --------------------------------

    async def balance(self, apikey: str, url: str) -> Decimal:
        """The account balance in USD: ``GET {url}`` with the header ``apikey: KEY`` (smspva-sdk's
        activation API, e.g. https://api.smspva.com/activation/balance), answering
        ``{"statusCode": 200, "data": {"balance": "12.34"}}``. The key travels in a header, never in
        the URL. Not paced with the rent lanes (another API); one try — callers cache it and show
        nothing when it fails. Raises ``SmspvaUnavailable`` for anything but a readable balance."""
        method = "balance"
        headers = httpx.Headers({**self._headers, "apikey": apikey})
        try:
            request = httpx.Request("GET", url, headers=headers, extensions={"timeout": self._timeouts})
            response = await self._transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise SmspvaUnavailable(method, "transport_error", request_sent=True) from exc
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        data = body.get("data") if isinstance(body, dict) else None
        raw = data.get("balance") if isinstance(data, dict) else None
        status = body.get("statusCode", response.status_code) if isinstance(body, dict) else None
        # Assumption: statusCode mirrors HTTP (200 = fine), as the SDK reads it; a string or number balance.
        if response.status_code != 200 or str(status) != "200" or isinstance(raw, bool) or raw is None:
            raise SmspvaUnavailable(
                method, "bad_balance", request_sent=True, status_code=response.status_code
            )
        try:
            value = Decimal(str(raw))
        except ArithmeticError:
            raise SmspvaUnavailable(method, "bad_balance", request_sent=True) from None
        if not value.is_finite():
            raise SmspvaUnavailable(method, "bad_balance", request_sent=True)
        return value

    # --- read-only methods (retried) --------------------------------------------------------------------

    async def get_countries(self) -> list[Country]:
        method = "getcountries"
        return await self._request(
            method, None, {}, lambda body: _parse_items(method, _list_data(body), Country), read_only=True
        )

    async def get_services(
        self,
        country: str,
        dtype: PeriodType = PeriodType.WEEK,
        dcount: int = 1,
        *,
        apikey: str | None = None,
    ) -> ServiceCatalog:
        """``getdata``. docs.smspva.com marks ``apikey`` as required here and prices may depend on the
        account, so the user's key is sent when there is one (the call is then paced in that key's lane);
        keyless only before a key is linked (smspva-sdk: auth "optional")."""
        _check_count("dcount", dcount)
        method = "getdata"
        params = {"country": country, "dtype": PeriodType(dtype).value, "dcount": dcount}
        return await self._request(
            method, apikey, params, lambda body: _parse_catalog(method, body), read_only=True
        )

    async def orders(self, apikey: str) -> list[Order]:
        method = "orders"
        return await self._request(
            method, apikey, {}, lambda body: _parse_items(method, _list_data(body), Order), read_only=True
        )

    async def sms(self, apikey: str, order_id: int) -> SmsBatch:
        method = "sms"
        return await self._request(
            method, apikey, {"id": order_id}, lambda body: _parse_sms(method, body), read_only=True
        )

    async def rent_history(self, apikey: str, skip: int = 0, take: int = 10) -> list[HistoryItem]:
        if skip < 0 or take < 1:
            raise ValueError("skip must be >= 0 and take >= 1")
        method = "get_rent_history"
        return await self._request(
            method,
            apikey,
            {"skip": skip, "take": take},
            lambda body: _parse_items(method, _list_data(body), HistoryItem),
            read_only=True,
        )

    async def restore_precalc(self, apikey: str, order_id: int) -> RestoreQuote:
        return await self._request(
            "restore_user_precalc",
            apikey,
            {"id": order_id},
            lambda body: RestoreQuote.model_validate(_object_data(body)),
            read_only=True,
        )

    # --- state-changing methods (one request per call, never retried) ------------------------------------

    async def create(
        self, apikey: str, *, country: str, service: str, dtype: PeriodType, dcount: int
    ) -> CreatedOrder:
        _check_count("dcount", dcount)
        params = {"dtype": PeriodType(dtype).value, "dcount": dcount, "country": country, "service": service}
        return await self._request(
            "create",
            apikey,
            params,
            lambda body: CreatedOrder.model_validate(_object_data(body, method="create")),
            read_only=False,
        )

    async def add_service_to_order(
        self, apikey: str, *, order_id: int, service: str, pnumber: str, rent_days: int | None = None
    ) -> AddedService:
        """Rent another service on an order's number.

        ``pnumber`` is the full number with its country code; anything but digits is stripped (the API
        wants it "without +"). ``rent_days`` is not on the page but SMSPVA's own SDK sends it (query name
        ``rent_days``); it is omitted when None. The SDK types the answer as ``data {id, pnumber, service,
        until}``, and ``id`` may name another order than ``order_id``: the result says which order holds
        the service now (``moved``). Success without data (the page) gives the requested id.
        """
        digits = _NON_DIGITS.sub("", pnumber)
        if not digits:
            raise ValueError("pnumber holds no digits")
        params: dict[str, str | int] = {"id": order_id, "service": service, "pnumber": digits}
        if rent_days is not None:
            _check_count("rent_days", rent_days)
            params["rent_days"] = rent_days
        method = "add_service_to_order"
        return await self._request(
            method, apikey, params, lambda body: _parse_added(method, body, order_id), read_only=False
        )

    async def prolong(self, apikey: str, *, order_id: int, dtype: PeriodType, dcount: int) -> int:
        """Prolong an order; returns ``data.id`` (the requested id if the answer carries none)."""
        _check_count("dcount", dcount)
        params = {"id": order_id, "dcount": dcount, "dtype": PeriodType(dtype).value}
        return await self._request(
            "prolong", apikey, params, lambda body: _order_id_of("prolong", body, order_id), read_only=False
        )

    async def activate(self, apikey: str, order_id: int) -> int:
        return await self._request(
            "activate",
            apikey,
            {"id": order_id},
            lambda body: _order_id_of("activate", body, order_id),
            read_only=False,
        )

    async def delete(self, apikey: str, order_id: int) -> int:
        return await self._request(
            "delete",
            apikey,
            {"id": order_id},
            lambda body: _order_id_of("delete", body, order_id),
            read_only=False,
        )

    async def restore(self, apikey: str, order_id: int) -> RestoreResult:
        """``restore_user``. A success answer whose ``data`` is explicitly false becomes :class:`SmspvaError`
        (the page: "if the values are not positive" the number was not restored); a missing/null ``data``
        is :class:`SmspvaUnavailable` with ``request_sent=True`` (we cannot tell; reconcile)."""
        method = "restore_user"
        return await self._request(
            method, apikey, {"id": order_id}, lambda body: _parse_restore(method, body), read_only=False
        )

    # --- machinery -------------------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        apikey: str | None,
        params: _Params,
        parse: Callable[[dict[str, Any]], _T],
        *,
        read_only: bool,
    ) -> _T:
        """Call ``method`` and return ``parse(body)`` for a ``status`` 1 body.

        Raises :class:`SmspvaError` for ``status`` 0 and :class:`SmspvaUnavailable` for everything that is
        not a parsable answer. Read-only calls are retried on :class:`SmspvaUnavailable` only.
        """
        query: dict[str, str] = {"method": method}
        if apikey is not None:
            query["apikey"] = apikey
        query.update({name: str(value) for name, value in params.items()})

        tries = self._read_tries if read_only else 1
        attempt = 1
        limited = 0
        while True:
            try:
                return await self._attempt(method, apikey, query, parse, attempt, read_only=read_only)
            except _RateLimited as rejection:
                # The lane has already widened; the next attempt waits for it. Only reads are retried:
                # a money call refused for its rate was not applied (status 0), or is unclear (HTTP 429,
                # reconciled by the caller) -- either way never repeated silently.
                limited += 1
                if not read_only:
                    raise rejection.error from None
                if limited >= self._rate_limit_tries:
                    code = getattr(rejection.error, "status_code", None)
                    raise SmspvaUnavailable(
                        method, "rate_limited", request_sent=True, status_code=code
                    ) from None
                attempt += 1
                continue
            except SmspvaUnavailable:
                if attempt - limited >= tries:
                    raise
            await asyncio.sleep(
                random.uniform(0.0, min(_BACKOFF_CAP, self._backoff * 2 ** (attempt - limited - 1)))
            )
            attempt += 1

    async def _attempt(
        self,
        method: str,
        apikey: str | None,
        query: Mapping[str, str],
        parse: Callable[[dict[str, Any]], _T],
        attempt: int,
        *,
        read_only: bool,
    ) -> _T:
        queued = time.monotonic()
        async with self._lane(apikey) as lane:
            started = time.monotonic()
            outcome = "ok"
            try:
                try:
                    status, body = await self._fetch(method, query)
                    result = self._answer(method, status, body, parse, read_only=read_only)
                except _RateLimited as rejection:
                    self._widen(lane, apikey, method, rejection.retry_after)
                    raise
                self._narrow(lane, apikey)
                return result
            except _RateLimited:
                outcome = "rate_limited"
                raise
            except SmspvaError as exc:
                outcome = f"refused:{exc.kind.value}"
                raise
            except SmspvaUnavailable as exc:
                outcome = f"unavailable:{exc.reason}"
                raise
            except asyncio.CancelledError:
                outcome = "cancelled"
                raise
            finally:
                self.stats.record(outcome == "ok" or outcome.startswith(("refused", "rate_limited")))
                _log.debug(
                    "smspva call method=%s attempt=%d wait_ms=%d duration_ms=%d outcome=%s",
                    method,
                    attempt,
                    round((started - queued) * 1000),
                    round((time.monotonic() - started) * 1000),
                    outcome,
                )

    def _answer(
        self,
        method: str,
        status: int,
        body: dict[str, Any],
        parse: Callable[[dict[str, Any]], _T],
        *,
        read_only: bool,
    ) -> _T:
        """``parse(body)`` for status 1; for status 0 the refusal -- unless it carries data (see below)."""
        if status == 0:
            refusal = _refusal(method, body)
            if refusal.kind is ErrorKind.RATE_LIMITED:
                raise _RateLimited(refusal, None)
            if not _has_data(body):
                raise refusal
            # docs.smspva.com shows {"status": 0, "data": ...} for getcountries, getdata, sms, prolong and
            # restore_user_precalc, and a public client retries getcountries for exactly that. A read uses
            # a well-formed payload; a money call's outcome is unclear: the caller reconciles, never
            # reports "failed" (request_sent=True).
            if not read_only:
                _log.warning("smspva status 0 with data method=%s outcome=unclear", method)
                raise SmspvaUnavailable(method, "status0_with_data", request_sent=True)
            try:
                result = parse(body)
            except (ValidationError, _BadData):
                raise refusal from None
            if method not in self._status0_data_logged:
                self._status0_data_logged.add(method)
                _log.warning("smspva status 0 with data method=%s outcome=data_used (logged once)", method)
            return result
        try:
            return parse(body)
        except (ValidationError, _BadData):
            # `from None`: a ValidationError's text holds the input (phone numbers, SMS text).
            raise SmspvaUnavailable(method, "bad_data", request_sent=True) from None

    async def _fetch(self, method: str, query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """One GET; returns ``status`` (0 or 1) and the body of an answer in the API's own format."""
        try:
            request = httpx.Request(
                "GET", self._request_url(query), headers=self._headers, extensions={"timeout": self._timeouts}
            )
            response = await self._transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The request never left: no connection was made (or none was free).
            raise SmspvaUnavailable(method, "connect_failed", request_sent=False) from exc
        except httpx.TimeoutException as exc:
            raise SmspvaUnavailable(method, "timeout", request_sent=True) from exc
        except httpx.HTTPError as exc:
            raise SmspvaUnavailable(method, "transport_error", request_sent=True) from exc

        code = response.status_code
        try:
            body: Any = response.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            body = None
            body_reason = "invalid_json"
        else:
            body_reason = "not_an_object"

        if code == 429:
            # HTTP 429: a rate limiter answered. Assumption: it may sit in front of the API and its effect
            # on a money call is not documented, so a money call is left unclear (reconciled), a read is
            # retried after the pause.
            raise _RateLimited(
                SmspvaUnavailable(method, "rate_limited", request_sent=True, status_code=code),
                _retry_after(response.headers.get("Retry-After")),
            )
        if not 200 <= code < 300:
            if (
                400 <= code < 500
                and code not in _TRANSIENT_4XX
                and isinstance(body, dict)
                and _status_of(body) == 0
            ):
                refusal = _refusal(method, body)
                if refusal.kind is ErrorKind.RATE_LIMITED:
                    raise _RateLimited(refusal, _retry_after(response.headers.get("Retry-After")))
                raise refusal
            raise SmspvaUnavailable(method, "http_status", request_sent=True, status_code=code)
        if not isinstance(body, dict):
            raise SmspvaUnavailable(method, body_reason, request_sent=True, status_code=code)

        status = _status_of(body)
        if status is None:
            raise SmspvaUnavailable(method, "bad_status", request_sent=True, status_code=code)
        return status, body

    def _request_url(self, query: Mapping[str, str]) -> httpx.URL:
        """The parsed URL of a query. The poller repeats the same few queries (a key's `orders`, an
        order's `sms`) every few seconds, and httpx parses URLs in pure Python: parsed ones are kept
        (at most ``_URL_CACHE_SIZE``, the cache starts over when full)."""
        raw = f"{self._url}?{urlencode(query)}"
        url = self._urls.get(raw)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = self._urls[raw] = httpx.URL(raw)
        return url

    @contextlib.asynccontextmanager
    async def _lane(self, apikey: str | None) -> AsyncIterator[_Lane]:
        """Pace the requests made with one key (serialised, started-to-started) or without a key (at most
        ``catalog_concurrency`` at a time, starts spaced by ``catalog_interval``)."""
        lane = self._lanes.get(apikey)
        if lane is None:
            lane = self._lanes[apikey] = _Lane(interval=self._base_interval(apikey))
        lane.users += 1
        try:
            if apikey is None:
                async with self._catalog_slots:
                    async with lane.lock:
                        await self._wait_turn(lane)
                    yield lane
            else:
                async with lane.lock:
                    await self._wait_turn(lane)
                    yield lane
        finally:
            lane.users -= 1
            if lane.users == 0:
                self._forget_later(apikey, lane)

    def spacing(self, apikey: str | None) -> float:
        """The key's current start-to-start spacing: the setting, or wider after a rate-limit rejection
        (a Retry-After still pending counts as spacing too). Schedulers plan with it, so they never queue
        calls faster than the key may make them."""
        lane = self._lanes.get(apikey)
        if lane is None:
            return self._base_interval(apikey)
        return max(lane.interval, lane.not_before - time.monotonic())

    def _base_interval(self, apikey: str | None) -> float:
        return self._catalog_interval if apikey is None else self._min_interval

    @staticmethod
    async def _wait_turn(lane: _Lane) -> None:
        delay = max(lane.last_start + lane.interval, lane.not_before) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.monotonic()
        lane.gap = now - lane.last_start
        lane.last_start = now

    def _widen(self, lane: _Lane, apikey: str | None, method: str, retry_after: float | None) -> None:
        """A rate-limit rejection: double the spacing (at least ``rate_limit_floor``, at most
        ``rate_limit_max``); a Retry-After delays the next start on top."""
        floor = max(self._base_interval(apikey), self._rate_limit_floor)
        # Remember how fast was too fast (a call started after a long pause says only that the
        # spacing in effect was too short), so narrowing does not walk into the limit again and
        # again: later calls keep to the pace SMSPVA asked for.
        refused = min(lane.gap, lane.interval) * 1.05
        lane.learned = min(self._rate_limit_max, max(lane.learned, refused))
        lane.learned_until = time.monotonic() + _PENALTY_MEMORY
        lane.interval = min(self._rate_limit_max, max(lane.interval * 2, floor, lane.learned))
        if retry_after is not None:
            lane.not_before = time.monotonic() + min(retry_after, self._rate_limit_max)
        _log.info(
            "smspva rate limited method=%s lane=%s interval_s=%.2f",
            method,
            "keyless" if apikey is None else "key",
            lane.interval,
        )

    def _narrow(self, lane: _Lane, apikey: str | None) -> None:
        """A success: the spacing shrinks slowly (5 % a call) back towards, never below, the floor (or
        a spacing SMSPVA refused in the last ``_PENALTY_MEMORY`` seconds)."""
        base = self._base_interval(apikey)
        if time.monotonic() < lane.learned_until:
            base = max(base, lane.learned)
        if lane.interval > base:
            narrowed = lane.interval * _NARROW_FACTOR
            lane.interval = base if narrowed - base < 0.01 else narrowed

    def _forget_later(self, apikey: str | None, lane: _Lane) -> None:
        """Drop an idle lane once its spacing no longer matters, keeping the per-key state bounded. A
        widened lane is kept ``_PENALTY_MEMORY`` seconds longer, so a rejected key does not start fast."""
        remaining = max(lane.last_start + lane.interval, lane.not_before) - time.monotonic()
        if lane.interval > self._base_interval(apikey):
            remaining += _PENALTY_MEMORY
        if remaining <= 0:
            self._forget(apikey, lane)
        else:
            asyncio.get_running_loop().call_later(remaining, self._forget, apikey, lane)

    def _forget(self, apikey: str | None, lane: _Lane) -> None:
        if lane.users == 0 and self._lanes.get(apikey) is lane:
            del self._lanes[apikey]


# --- answer parsing --------------------------------------------------------------------------------------


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer")


def _status_of(body: Mapping[str, Any]) -> int | None:
    """``status`` as 0/1 whether it came as a number, a bool or a string; None if it is neither."""
    value = body.get("status")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    return None


_REFUSAL_FIELDS: Final = ("msg", "message", "error_msg", "error")


def _refusal_text(body: Mapping[str, Any]) -> str:
    """The refusal text: ``msg`` as the page documents, else ``message``, ``error_msg`` or ``error``
    (other SMSPVA APIs and clients use these); an object in ``error`` gives its message or type."""
    for name in _REFUSAL_FIELDS:
        raw = body.get(name)
        if isinstance(raw, dict):
            raw = next((raw[key] for key in ("message", "msg", "type") if raw.get(key)), None)
        if raw is None or isinstance(raw, bool | list | dict):
            continue
        text = raw if isinstance(raw, str) else str(raw)
        if text.strip():
            return text
    return ""


def _has_data(body: Mapping[str, Any]) -> bool:
    data = body.get("data")
    return data is not None and data is not False and data != [] and data != {} and data != ""


def _retry_after(value: str | None) -> float | None:
    """Seconds of a Retry-After header in its delay form (an HTTP date is ignored: assumption)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _refusal(method: str, body: Mapping[str, Any]) -> SmspvaError:
    msg = _refusal_text(body)
    restore_code = match_restore_code(msg) if method in _RESTORE_METHODS else None
    return SmspvaError(method, msg, restore_code=restore_code)


def _get_ci(mapping: Mapping[str, Any], name: str) -> Any:
    """``mapping[name]`` with a case-insensitive fallback (the live API is inconsistent about case)."""
    if name in mapping:
        return mapping[name]
    folded = name.casefold()
    for key, value in mapping.items():
        if isinstance(key, str) and key.casefold() == folded:
            return value
    return None


def _list_data(body: Mapping[str, Any]) -> list[Any]:
    """``data`` that should be a list; null/missing means empty (assumption: e.g. no orders yet)."""
    data = body.get("data")
    if data is None:
        return []
    if isinstance(data, list):
        return data
    raise _BadData("data is not a list")


def _object_data(body: Mapping[str, Any], *, method: str | None = None) -> dict[str, Any]:
    """``data`` that should be an object; the live API sometimes wraps it in a one-element list."""
    data = body.get("data")
    if isinstance(data, list):
        if not data:
            raise _BadData("data is an empty list")
        if len(data) > 1 and method is not None:
            _log.warning("smspva unexpected list method=%s items=%d used=first", method, len(data))
        data = data[0]
    if not isinstance(data, dict):
        raise _BadData("data is not an object")
    return data


def _parse_items(method: str, items: list[Any], model: type[_M]) -> list[_M]:
    """Validate each item; a malformed one is skipped and logged (field names only, never values)."""
    parsed: list[_M] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            _log.warning("smspva item skipped method=%s index=%d reason=not_an_object", method, index)
            continue
        try:
            parsed.append(model.model_validate(item))
        except ValidationError as exc:
            fields = ",".join(sorted({".".join(str(part) for part in err["loc"]) for err in exc.errors()}))
            _log.warning(
                "smspva item skipped method=%s index=%d reason=invalid fields=%s", method, index, fields
            )
    return parsed


def _parse_catalog(method: str, body: Mapping[str, Any]) -> ServiceCatalog:
    """``getdata``: a flat list, or ``{"services": [...], "totalAmount": ...}``."""
    data = body.get("data")
    total: Decimal | None = None
    if isinstance(data, dict):
        raw_total = _get_ci(data, "totalAmount")
        if raw_total is not None:
            try:
                total = Decimal(str(raw_total).strip())
            except InvalidOperation:
                total = None
            if total is not None and (isinstance(raw_total, bool) or not total.is_finite()):
                total = None
            if total is None:
                _log.warning("smspva field ignored method=%s field=totalAmount reason=invalid", method)
        items = _get_ci(data, "services")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise _BadData("services is not a list")
    elif data is None:
        items = []
    elif isinstance(data, list):
        items = data
    else:
        raise _BadData("data is neither a list nor an object")
    return ServiceCatalog(services=_parse_items(method, items, Service), total_amount=total)


def _parse_sms(method: str, body: Mapping[str, Any]) -> SmsBatch:
    """``sms``: a flat list, or ``{"SmsList": [...], "OtherSms": [...]}``."""
    data = body.get("data")
    if data is None:
        return SmsBatch(sms=[], other=[])
    if isinstance(data, list):
        return SmsBatch(sms=_parse_items(method, data, Sms), other=[])
    if isinstance(data, dict):
        own = _get_ci(data, "SmsList")
        other = _get_ci(data, "OtherSms")
        if not isinstance(own, list | None) or not isinstance(other, list | None):
            raise _BadData("SmsList/OtherSms is not a list")
        return SmsBatch(
            sms=_parse_items(method, own or [], Sms), other=_parse_items(method, other or [], Sms)
        )
    raise _BadData("data is neither a list nor an object")


def _order_id_of(method: str, body: Mapping[str, Any], requested: int) -> int:
    """``data.id`` of prolong/activate/delete.

    ``data`` may be an object, a one-element list or a bare id. Status 1 already says the operation
    succeeded, so when no usable id is present the requested one is returned (assumption) rather than
    making the caller reconcile a success.
    """
    data = body.get("data")
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, dict):
        data = _get_ci(data, "id")
    if isinstance(data, int | str) and not isinstance(data, bool):
        text = str(data).strip()
        with contextlib.suppress(InvalidOperation):
            number = Decimal(text)
            if number.is_finite() and number == number.to_integral_value():
                return int(number)
    _log.debug("smspva no id in answer method=%s using=requested", method)
    return requested


def _parse_added(method: str, body: Mapping[str, Any], requested: int) -> AddedService:
    """``data {id, pnumber, service, until}`` (or a one-element list of it, or nothing). A success is a
    success: an unreadable ``data`` falls back to the requested order rather than an unclear outcome."""
    data = body.get("data")
    if isinstance(data, list):
        data = data[0] if data else None
    fields = dict(data) if isinstance(data, dict) else {}
    fields["requested_id"] = requested
    if _get_ci(fields, "id") is None:
        fields["id"] = requested
    try:
        return AddedService.model_validate(fields)
    except ValidationError:
        _log.warning("smspva field ignored method=%s field=data reason=invalid", method)
        return AddedService(id=requested, requested_id=requested)


_FALSE_DATA: Final = frozenset({"0", "false", ""})


def _parse_restore(method: str, body: Mapping[str, Any]) -> RestoreResult:
    data = body.get("data")
    if data is None:
        raise _BadData("restore answer has no data")
    if (
        data is False
        or (isinstance(data, int | float) and not isinstance(data, bool) and data == 0)
        or (isinstance(data, str) and data.strip().casefold() in _FALSE_DATA)
    ):
        raise _refusal(method, body)
    return RestoreResult(raw=data)
