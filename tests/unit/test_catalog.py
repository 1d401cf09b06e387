"""The catalog cache: prices are cached per API key (or keyless), one upstream call per key and period."""

from __future__ import annotations

from decimal import Decimal

import httpx

from bot.periods import ALL_PERIODS
from bot.services.catalog import Catalog
from bot.smspva import SmspvaClient


async def test_prices_are_cached_per_apikey_or_none() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.params.get("apikey")
        seen.append(key)
        price = {"key-a": 3, "key-b": 4}.get(key or "", 6)
        item = {"service": "opt46", "name": "Airbnb", "price_day": price, "count": 9}
        return httpx.Response(200, json={"status": 1, "data": {"services": [item], "totalAmount": 0}})

    client = SmspvaClient(
        "https://smspva.test/api/rent.php", min_interval=0, transport=httpx.MockTransport(answer)
    )
    catalog = Catalog(client)
    try:
        week = ALL_PERIODS[0]
        keyless = await catalog.service("RU", "opt46", week)
        a = await catalog.service("RU", "opt46", week, apikey="key-a")
        b = await catalog.service("RU", "opt46", week, apikey="key-b")
        again = await catalog.service("RU", "opt46", week, apikey="key-a")
        totals = await catalog.order_totals("RU", "opt46", [week], apikey="key-b")
        prices = await catalog.period_prices("RU", "opt46", apikey="key-a")
    finally:
        await client.aclose()
    assert keyless is not None
    assert a is not None
    assert b is not None
    assert again is not None
    assert [s.price_day for s in (keyless, a, b, again)] == [Decimal(6), Decimal(3), Decimal(4), Decimal(3)]
    assert totals == [(week, Decimal(4 * week.days))]
    mine = prices[week]
    assert mine is not None
    assert mine.price_day == Decimal(3)
    assert seen[:3] == [None, "key-a", "key-b"]
    assert seen.count("key-a") == len(ALL_PERIODS)  # one call per period for that key, cached after
