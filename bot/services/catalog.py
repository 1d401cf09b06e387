"""Countries and per-period service prices, cached like the web page refreshes them (every 30 s).

Navigation must feel instant: every screen reads from here, and concurrent readers of one key share
a single upstream call (single flight). Prices are read with the user's API key when there is one
(``apikey=``; docs.smspva.com marks it required on ``getdata`` and prices may depend on the account), so
they are cached per key -- keyless (None) only before a key is linked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Generic, TypeVar

from bot.periods import ALL_PERIODS, Period
from bot.smspva import (
    Country,
    PeriodType,
    Service,
    ServiceCatalog,
    SmspvaClient,
    SmspvaError,
    SmspvaUnavailable,
)

T = TypeVar("T")
K = TypeVar("K")

CACHE_SECONDS = 30.0
PRUNE_AT = 2048  # entries; beyond it, expired ones are dropped (per-key prices would otherwise pile up)


class _TtlCache(Generic[K, T]):
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._values: dict[K, tuple[float, T]] = {}
        self._inflight: dict[K, asyncio.Future[T]] = {}

    def peek(self, key: K) -> T | None:
        entry = self._values.get(key)
        if entry is not None and self._clock() - entry[0] < self._ttl:
            return entry[1]
        return None

    async def get(self, key: K, load: Callable[[], Awaitable[T]], *, refresh: bool = False) -> T:
        cached = None if refresh else self.peek(key)
        if cached is not None:
            return cached
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await load()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: nobody else may be waiting
            raise
        finally:
            self._inflight.pop(key, None)
        now = self._clock()
        self._values[key] = (now, value)
        if len(self._values) > PRUNE_AT:
            self._values = {k: v for k, v in self._values.items() if now - v[0] < self._ttl}
        future.set_result(value)
        return value


class Catalog:
    def __init__(self, client: SmspvaClient, ttl: float = CACHE_SECONDS) -> None:
        self._client = client
        self._countries: _TtlCache[str, list[Country]] = _TtlCache(ttl)
        self._services: _TtlCache[tuple[str | None, str, PeriodType, int], ServiceCatalog] = _TtlCache(ttl)

    async def countries(self) -> list[Country]:
        return await self._countries.get("all", self._client.get_countries)

    async def country(self, code: str) -> Country | None:
        return next((c for c in await self.countries() if c.code == code), None)

    async def services(
        self, country: str, period: Period | None = None, *, refresh: bool = False, apikey: str | None = None
    ) -> ServiceCatalog:
        """`refresh` fetches anew (and updates the cache): for checks that must see a change at once.
        `apikey`: the user's key (prices for their account), None before one is linked."""
        period = period or ALL_PERIODS[0]
        key = (apikey, country, period.dtype, period.dcount)
        return await self._services.get(
            key,
            lambda: self._client.get_services(country, period.dtype, period.dcount, apikey=apikey),
            refresh=refresh,
        )

    async def service(
        self, country: str, code: str, period: Period | None = None, *, apikey: str | None = None
    ) -> Service | None:
        catalog = await self.services(country, period, apikey=apikey)
        return next((s for s in catalog.services if s.code == code), None)

    async def order_price_day(
        self, country: str, scode: str, period: Period, *, apikey: str | None = None
    ) -> Decimal | None:
        """Price per day of all an order's services ("opt16,opt29") for that period; None if one
        of them is not listed."""
        listing = await self.services(country, period, apikey=apikey)
        prices = {service.code: service.price_day for service in listing.services}
        total = Decimal(0)
        for code in [c for c in scode.split(",") if c]:
            if code not in prices:
                return None
            total += prices[code]
        return total

    async def order_totals(
        self,
        country: str,
        scode: str,
        periods: list[Period] | tuple[Period, ...],
        *,
        apikey: str | None = None,
    ) -> list[tuple[Period, Decimal | None]]:
        """Each period with the order's total for it (None where it cannot be priced right now)."""
        totals: list[tuple[Period, Decimal | None]] = []
        for period in periods:
            try:
                price = await self.order_price_day(country, scode, period, apikey=apikey)
            except (SmspvaError, SmspvaUnavailable):
                price = None
            totals.append((period, price * period.days if price is not None else None))
        return totals

    async def period_prices(
        self,
        country: str,
        code: str,
        *,
        apikey: str | None = None,
        periods: tuple[Period, ...] | list[Period] = ALL_PERIODS,
    ) -> dict[Period, Service | None]:
        """The service's entry for each of `periods` (prices differ: longer periods get discounts).

        One `getdata` per period not in the cache, all started at once: the client's per-key pacing
        spaces them, so a picker asks only for the periods it shows.
        Periods whose price could not be fetched map to None; if none could, the error is raised.
        """
        periods = list(periods)
        results = await asyncio.gather(
            *(self.service(country, code, period, apikey=apikey) for period in periods),
            return_exceptions=True,
        )
        prices: dict[Period, Service | None] = {}
        errors: list[BaseException] = []
        for period, result in zip(periods, results, strict=True):
            if isinstance(result, SmspvaError | SmspvaUnavailable):
                errors.append(result)
                prices[period] = None
            elif isinstance(result, BaseException):
                raise result
            else:
                prices[period] = result
        if errors and all(value is None for value in prices.values()):
            raise errors[0]
        return prices
