"""Self-tests of the fake SMSPVA rent API (tests/fakes/smspva.py), over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.smspva import DAY, FakeSmspva, Variants

KEY = "key-main"
OTHER = "key-other"
POOR = "key-poor"

ROOT = Path(__file__).resolve().parents[2]

Api = Callable[..., Awaitable[Any]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSmspva]:
    fake = FakeSmspva(activation_delay=5, online_duration=60)
    fake.variants = Variants.page()  # these self-tests check the page's samples; test_default_shapes the rest
    fake.add_account(KEY, 100)
    fake.add_account(OTHER, 100)
    fake.add_account(POOR, Decimal("1"))
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        yield client


@pytest.fixture
def api(fake: FakeSmspva, http: httpx.AsyncClient) -> Api:
    """``await api("orders")`` -> the decoded JSON body; the apikey is KEY unless given (None drops it)."""

    async def call(method: str, apikey: str | None = KEY, **params: object) -> Any:
        query = {"method": method, **{name: str(value) for name, value in params.items()}}
        if apikey is not None:
            query["apikey"] = apikey
        response = await http.get(fake.url, params=query)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        return response.json()

    return call


def fail(msg: str) -> dict[str, Any]:
    return {"status": 0, "msg": msg}


async def create(api: Api, service: str = "opt16", **params: object) -> dict[str, Any]:
    body = await api("create", country="RU", service=service, dtype="week", dcount=1, **params)
    assert body["status"] == 1, body
    data: dict[str, Any] = body["data"]
    return data


async def orders(api: Api, apikey: str = KEY) -> dict[int, dict[str, Any]]:
    body = await api("orders", apikey=apikey)
    assert body["status"] == 1
    return {item["id"]: item for item in body["data"]}


# ----------------------------------------------------------------------------- server basics


async def test_start_returns_the_api_url(fake: FakeSmspva) -> None:
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.url.endswith("/api/rent.php")


@pytest.mark.parametrize("verb", ["POST", "PUT", "DELETE"])
async def test_only_get_is_accepted(fake: FakeSmspva, http: httpx.AsyncClient, verb: str) -> None:
    response = await http.request(verb, fake.url, params={"method": "orders", "apikey": KEY})
    assert response.status_code == 405
    assert fake.calls[-1].http_method == verb


async def test_unknown_method_and_wrong_parameters(api: Api) -> None:
    assert await api("nope") == fail("Unknown method")
    assert await api("") == fail("Unknown method")
    assert await api("sms", id="abc") == fail("Wrong parameters")
    assert await api("sms") == fail("Wrong parameters")
    assert await api("get_rent_history", skip="-1") == fail("Wrong parameters")
    assert await api("getdata", country="RU", dtype="year") == fail("Wrong parameters")
    assert await api("getdata", country="RU", dcount="x") == fail("Wrong parameters")
    assert await api("getdata", country="RU", dcount="0") == fail("Wrong parameters")


@pytest.mark.parametrize(
    "method",
    [
        "create",
        "orders",
        "activate",
        "sms",
        "add_service_to_order",
        "prolong",
        "delete",
        "get_rent_history",
        "restore_user_precalc",
        "restore_user",
    ],
)
async def test_every_keyed_method_wants_a_known_apikey(api: Api, method: str) -> None:
    assert await api(method, apikey=None, id=40370) == fail("API KEY NOT FOUND!")
    assert await api(method, apikey="stranger", id=40370) == fail("API KEY NOT FOUND!")


async def test_call_log(fake: FakeSmspva, api: Api) -> None:
    before = fake.now()
    await api("getcountries", apikey=None)
    await api("orders")
    await api("orders", apikey=OTHER)
    assert [call.method for call in fake.calls] == ["getcountries", "orders", "orders"]
    assert fake.calls[1].params == {"method": "orders", "apikey": KEY}
    assert [call.params["apikey"] for call in fake.calls_of("orders")] == [KEY, OTHER]
    assert fake.calls_of("create") == []
    stamps = [call.at for call in fake.calls]
    assert stamps == sorted(stamps)
    assert before <= stamps[0] <= fake.now() + 1


async def test_async_context_manager() -> None:
    async with FakeSmspva() as fake, httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(fake.url, params={"method": "getcountries"})
        assert response.json()["status"] == 1


# ----------------------------------------------------------------------------- catalogue


async def test_getcountries(api: Api) -> None:
    body = await api("getcountries", apikey=None)
    assert body["status"] == 1
    countries = {item["code"]: item for item in body["data"]}
    assert len(countries) >= 13  # more than one page of 10
    assert countries["RU"] == {
        "name": "Россия",
        "code": "RU",
        "rent_switch_type": 1,
        "rent_avail_prolong": True,
    }
    assert countries["EN"]["name"] == "Англия"
    assert {"KZ", "UA", "UK", "EN", "US", "DE", "FR", "NL", "PL", "EE", "ID", "PH"} <= set(countries)
    assert "GB" not in countries  # the live list's non-ISO code for the United Kingdom


async def test_getdata_matches_the_documented_example(api: Api) -> None:
    body = await api("getdata", apikey=None, country="RU")
    assert body["status"] == 1
    services = {item["service"]: item for item in body["data"]}
    assert services["opt46"] == {"name": "Airbnb", "service": "opt46", "price_day": 6, "count": 359}
    assert services["opt69"]["price_day"] == 0.35
    assert services["opt9"]["count"] == 0  # Tinder
    assert services["opt72"]["count"] == 0  # Uber
    names = {item["name"] for item in body["data"]}
    assert {"Instagram", "Telegram", "WhatsApp", "Facebook", "VK", "Avito", "Discord", "Other"} <= names


async def test_getdata_every_country_has_services(api: Api, fake: FakeSmspva) -> None:
    for code in fake.countries:
        body = await api("getdata", apikey=None, country=code)
        assert len(body["data"]) >= 12, code
        assert all(Decimal(str(item["price_day"])) > 0 for item in body["data"])
    assert await api("getdata", apikey=None, country="XX") == fail("Country not found")
    assert await api("getdata", apikey=None) == fail("Country not found")


@pytest.mark.parametrize(
    ("dtype", "dcount", "airbnb"),
    [("week", 1, 6), ("week", 2, 5.7), ("month", 1, 5.4), ("month", 2, 5.1), ("month", 3, 5.1)],
)
async def test_getdata_discounts_long_periods(api: Api, dtype: str, dcount: int, airbnb: float) -> None:
    body = await api("getdata", apikey=None, country="RU", dtype=dtype, dcount=dcount)
    assert body["data"][0]["price_day"] == airbnb


@pytest.mark.parametrize(("dtype", "dcount"), [("week", 13), ("month", 4)])
async def test_getdata_refuses_more_than_90_days(api: Api, dtype: str, dcount: int) -> None:
    body = await api("getdata", apikey=None, country="RU", dtype=dtype, dcount=dcount)
    assert body == fail("Maximum rental period is 90 days")


async def test_set_count_and_set_price(api: Api, fake: FakeSmspva) -> None:
    fake.set_count("RU", "opt9", 3)
    fake.set_price("RU", "opt9", Decimal("0.07"))
    body = await api("getdata", apikey=None, country="RU")
    tinder = next(item for item in body["data"] if item["service"] == "opt9")
    assert (tinder["count"], tinder["price_day"]) == (3, 0.07)


# ----------------------------------------------------------------------------- create


async def test_create(api: Api, fake: FakeSmspva) -> None:
    before = fake.now()
    data = await create(api)
    assert set(data) == {"id", "pnumber", "ccode", "service", "until"}
    assert data["id"] == 40370
    assert (data["ccode"], data["service"]) == ("+7", "opt16")
    assert len(data["pnumber"]) == 10
    assert data["pnumber"].isdigit()
    assert before + 7 * DAY <= data["until"] <= fake.now() + 7 * DAY
    assert fake.balance(KEY) == Decimal("91.6")  # 1.2 * 7, exactly
    assert fake.countries["RU"].services["opt16"].count == 213
    assert (await create(api))["id"] == 40371
    assert fake.orders[40370].state == 0


async def test_create_numbers_are_deterministic() -> None:
    numbers = []
    for _ in range(2):
        fake = FakeSmspva()
        fake.add_account(KEY)
        numbers.append([fake.add_order(KEY).pnumber for _ in range(3)])
    assert numbers[0] == numbers[1]
    assert len(set(numbers[0])) == 3


async def test_create_refusals(api: Api, fake: FakeSmspva) -> None:
    base = {"country": "RU", "dtype": "week", "dcount": 1}
    assert await api("create", **base, service="opt999") == fail("Service not found")
    assert await api("create", **base, service="opt9") == fail("No free numbers")  # Tinder RU: count 0
    assert await api("create", **{**base, "country": "XX"}, service="opt16") == fail("Country not found")
    assert await api("create", apikey=POOR, **base, service="opt46") == fail("Balance is not enough")
    assert await api("create", country="RU", service="opt16", dtype="week", dcount=13) == fail(
        "Maximum rental period is 90 days"
    )
    assert fake.orders == {}
    assert fake.balance(KEY) == 100


async def test_create_charges_the_discounted_price(api: Api, fake: FakeSmspva) -> None:
    await api("create", country="RU", service="opt16", dtype="month", dcount=1)
    assert fake.balance(KEY) == Decimal(100) - Decimal("1.08") * 30


# ----------------------------------------------------------------------------- orders


async def test_orders_shape(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY, days_left=7)
    fake.add_order(OTHER)
    items = await orders(api)
    assert list(items) == [order.id]
    item = items[order.id]
    now = fake.now()
    assert item == {
        "id": order.id,
        "scode": "opt16",
        "sname": "Instagram",
        "state": 0,
        "pnumber": order.pnumber,
        "ccode": "+7",
        "cname": "RU",
        "hasnewsms": False,
        "until": order.until,
        "canprolong": False,
        "canprolongmax": 83,
        "canprolonguntil": item["canprolonguntil"],
        "lastonline": order.lastonline,
    }
    assert now + 90 * DAY - 1 <= item["canprolonguntil"] <= now + 90 * DAY + 1


async def test_orders_flags(api: Api, fake: FakeSmspva) -> None:
    short = fake.add_order(KEY, days_left=6)
    forced = fake.add_order(KEY, days_left=30, canprolong=True)
    items = await orders(api)
    assert items[short.id]["canprolong"] is True
    assert items[forced.id]["canprolong"] is True
    assert items[forced.id]["canprolongmax"] == 60


async def test_expired_orders_move_to_history(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY, days_left=1)
    fake.clock_offset = 2 * DAY
    assert await orders(api) == {}
    history = (await api("get_rent_history"))["data"]
    assert [item["orderId"] for item in history] == [order.id]
    assert history[0]["end"] == history[0]["closed"] == order.until
    assert history[0]["isAvailForRestore"] is True


async def test_expire_order(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY)
    fake.expire_order(order.id, days_ago=3)
    assert await orders(api) == {}
    body = await api("restore_user_precalc", id=order.id)
    assert body["data"]["outdays"] == 3


# ----------------------------------------------------------------------------- activation


async def test_activation_cycle_with_time_travel(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY)
    assert await api("activate", id=order.id) == {"status": 1, "data": {"id": order.id}}
    assert (await orders(api))[order.id]["state"] == 2
    assert await api("activate", id=order.id) == fail("Number is activating")
    fake.clock_offset = 6  # activation_delay is 5 s
    item = (await orders(api))[order.id]
    assert item["state"] == 1
    assert item["lastonline"] >= fake.now() - 1
    assert await api("activate", id=order.id) == fail("Number is already active")
    fake.clock_offset = 70  # online for 60 s
    assert (await orders(api))[order.id]["state"] == 0
    assert await api("activate", id=order.id) == {"status": 1, "data": {"id": order.id}}


async def test_activation_cycle_in_real_time(api: Api, fake: FakeSmspva) -> None:
    fake.activation_delay, fake.online_duration = 0.1, 0.3
    order = fake.add_order(KEY)
    await api("activate", id=order.id)
    assert (await orders(api))[order.id]["state"] == 2
    await asyncio.sleep(0.2)
    assert (await orders(api))[order.id]["state"] == 1
    await asyncio.sleep(0.3)
    assert (await orders(api))[order.id]["state"] == 0


async def test_set_state_overrides(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY, state=-1)
    assert await api("activate", id=order.id) == fail("Phone number not in the system")
    fake.set_state(order.id, 1)
    assert (await orders(api))[order.id]["state"] == 1
    assert fake.order(order.id).state == 1


async def test_activate_someone_elses_order(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(OTHER)
    assert await api("activate", id=order.id) == fail("Order not found")


# ----------------------------------------------------------------------------- sms


async def test_sms_newest_first_and_clears_the_flag(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY)
    fake.inject_sms(order.id, "Code Instagram: 671 094.", date=1586948100)
    fake.inject_sms(order.id, "Code Instagram: 111 222.", sender="Instagram", date=1586948200)
    fake.inject_sms(order.id, "Telegram code 55555", sender="Telegram", other=True)
    assert (await orders(api))[order.id]["hasnewsms"] is True
    body = await api("sms", id=order.id)
    assert body == {
        "status": 1,
        "data": [
            {"text": "Code Instagram: 111 222.", "sender": "Instagram", "date": 1586948200},
            {"text": "Code Instagram: 671 094.", "sender": "FACEBOOK", "date": 1586948100},
        ],
    }
    assert (await orders(api))[order.id]["hasnewsms"] is False


async def test_sms_only_for_own_orders(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(OTHER)
    assert await api("sms", id=order.id) == fail("Order not found")
    assert await api("sms", id=1) == fail("Order not found")


# ----------------------------------------------------------------------------- add_service_to_order


async def test_add_service_to_order(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY)
    body = await api("add_service_to_order", id=order.id, service="opt29", pnumber="7" + order.pnumber)
    assert body == {"status": 1}
    assert fake.balance(KEY) == Decimal("82.5")  # Telegram 2.5 * 7 days
    item = (await orders(api))[order.id]
    assert (item["scode"], item["sname"]) == ("opt16,opt29", "Instagram,Telegram")
    body = await api("add_service_to_order", id=order.id, service="opt1", pnumber=order.number, rent_days=1)
    assert body == {"status": 1}
    assert fake.balance(KEY) == Decimal("82")


async def test_add_service_to_order_refusals(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY)
    poor = fake.add_order(POOR)
    assert await api("add_service_to_order", id=order.id, service="opt29", pnumber=order.pnumber) == fail(
        "Wrong phone number"
    )
    assert await api("add_service_to_order", id=order.id, service="opt16", pnumber=order.number) == fail(
        "Service already added"
    )
    assert await api("add_service_to_order", id=order.id, service="opt999", pnumber=order.number) == fail(
        "Service not found"
    )
    assert await api(
        "add_service_to_order", apikey=POOR, id=poor.id, service="opt46", pnumber=poor.number
    ) == fail("Balance is not enough")
    assert fake.balance(KEY) == 100


# ----------------------------------------------------------------------------- prolong


async def test_prolong_refused_with_8_days_left(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY, days_left=8)
    body = await api("prolong", id=order.id, dtype="week", dcount=1)
    assert body == fail("Prolongation is available only when less than 7 days remain")
    assert fake.orders[order.id].until == order.until


async def test_prolong_allowed_with_6_days_left(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY, days_left=6)
    until = order.until
    assert await api("prolong", id=order.id, dtype="week", dcount=1) == {
        "status": 1,
        "data": {"id": order.id},
    }
    assert fake.orders[order.id].until == until + 7 * DAY
    assert fake.balance(KEY) == Decimal("91.6")


async def test_prolong_sums_every_service_of_the_order(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY, days_left=1)
    await api("add_service_to_order", id=order.id, service="opt29", pnumber=order.number)
    await api("prolong", id=order.id)
    assert fake.balance(KEY) == Decimal(100) - Decimal("17.5") - Decimal("3.7") * 7


async def test_prolong_keeps_within_90_days(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY, days_left=6)
    body = await api("prolong", id=order.id, dtype="month", dcount=3)
    assert body == fail("Maximum rental period is 90 days")
    body = await api("prolong", id=order.id, dtype="week", dcount=12)
    assert body["status"] == 1


async def test_prolong_refusals(api: Api, fake: FakeSmspva) -> None:
    poor = fake.add_order(POOR, days_left=2)
    assert await api("prolong", apikey=POOR, id=poor.id) == fail("Balance is not enough")
    forced = fake.add_order(KEY, days_left=2, canprolong=False)
    assert await api("prolong", id=forced.id) == fail(
        "Prolongation is available only when less than 7 days remain"
    )


# ----------------------------------------------------------------------------- delete and history


async def test_delete(api: Api, fake: FakeSmspva) -> None:
    order = fake.add_order(KEY, days_left=5)
    assert await api("delete", id=order.id) == {"status": 1, "data": {"id": order.id}}
    assert await orders(api) == {}
    assert await api("delete", id=order.id) == fail("Order not found")
    item = (await api("get_rent_history"))["data"][0]
    assert item["orderId"] == order.id
    assert item["end"] == order.until
    assert abs(item["closed"] - fake.now()) <= 1
    assert item["isAvailForRestore"] is False


async def test_get_rent_history_shape_and_paging(api: Api, fake: FakeSmspva) -> None:
    items = fake.add_history(KEY, count=12, outdays=5)
    fake.add_history(OTHER)
    first = (await api("get_rent_history", skip=0, take=10))["data"]
    rest = (await api("get_rent_history", skip=10, take=10))["data"]
    assert (len(first), len(rest)) == (10, 2)
    assert [item["orderId"] for item in first + rest] == [item.order_id for item in items]
    assert [item["closed"] for item in first] == sorted((item["closed"] for item in first), reverse=True)
    head, order = first[0], items[0].order
    assert head == {
        "orderId": order.id,
        "resourceCode": "opt16",
        "number": "7" + order.pnumber,
        "branchId": items[0].branch_id,
        "haveSms": True,
        "days": 7,
        "country": "RU",
        "begin": order.begin,
        "end": items[0].end,
        "closed": items[0].closed,
        "isAvailForRestore": True,
    }
    assert first[1]["haveSms"] is False


# ----------------------------------------------------------------------------- restore


async def test_restore_precalc_price_from_the_page(api: Api, fake: FakeSmspva) -> None:
    (item,) = fake.add_history(KEY, country="EN", service="opt59", outdays=10, price_day=Decimal("0.06"))
    body = await api("restore_user_precalc", id=item.order_id)
    assert body == {
        "status": 1,
        "data": {
            "ccode": "EN",
            "scode": "opt59",
            "price": 2.4,  # (10 overdue days + 30 ahead) * 0.06
            "sname": "Avito",
            "pnumber": "44" + item.order.pnumber,
            "outdays": 10,
            "orderid": item.order_id,
            "prolongTo": 30,
        },
    }


async def test_restore_price_uses_the_full_catalogue_price(api: Api, fake: FakeSmspva) -> None:
    (item,) = fake.add_history(KEY, outdays=5)
    body = await api("restore_user_precalc", id=item.order_id)
    assert body["data"]["price"] == 42  # (5 + 30) * 1.2, no discount


async def test_restore_user(api: Api, fake: FakeSmspva) -> None:
    (item,) = fake.add_history(KEY, outdays=10, price_day=Decimal("0.06"))
    assert await api("restore_user", id=item.order_id) == {"status": 1, "data": True}
    assert fake.balance(KEY) == Decimal("97.6")
    restored = (await orders(api))[item.order_id]
    assert (restored["state"], restored["pnumber"]) == (0, item.order.pnumber)
    assert abs(restored["until"] - (fake.now() + 30 * DAY)) <= 1
    assert (await api("get_rent_history"))["data"] == []
    assert await api("restore_user", id=item.order_id) == fail("DATEDIFFINVERT")


async def test_restore_errors_from_the_rules(api: Api, fake: FakeSmspva) -> None:
    (mine,) = fake.add_history(KEY)
    (theirs,) = fake.add_history(OTHER)
    (stuck,) = fake.add_history(KEY, restorable=False)
    live = fake.add_order(KEY)
    their_live = fake.add_order(OTHER)
    deleted = fake.add_order(KEY, days_left=3)
    await api("delete", id=deleted.id)
    (costly,) = fake.add_history(POOR)
    cases = {
        999_999: "NOREMOTEDATA",
        theirs.order_id: "NOTOWNER",
        their_live.id: "NOTOWNER",
        stuck.order_id: "NOAVAILDAYS",
        live.id: "DATEDIFFINVERT",
        deleted.id: "DATEDIFFINVERT",
    }
    for method in ("restore_user_precalc", "restore_user"):
        for order_id, code in cases.items():
            assert await api(method, id=order_id) == fail(code), (method, order_id)
    assert (await api("restore_user_precalc", apikey=POOR, id=costly.order_id))["status"] == 1
    assert await api("restore_user", apikey=POOR, id=costly.order_id) == fail("NOBALANCE")
    assert (await api("restore_user_precalc", id=mine.order_id))["status"] == 1
    assert fake.balance(KEY) == 100


@pytest.mark.parametrize(
    "code",
    [
        "NOAVAILDAYS",
        "NOTOWNER",
        "NOREMOTEDATA",
        "NOORDERCOUNTRY",
        "DATEDIFFINVERT",
        "NOSERVICEDATA",
        "NOBALANCE",
        "the user had not this order",
        "Service not found",
        "Balance is not enough",
    ],
)
async def test_set_restore_error(api: Api, fake: FakeSmspva, code: str) -> None:
    (item,) = fake.add_history(KEY)
    fake.set_restore_error(item.order_id, code)
    assert await api("restore_user_precalc", id=item.order_id) == fail(code)
    assert await api("restore_user", id=item.order_id) == fail(code)
    assert fake.balance(KEY) == 100


# ----------------------------------------------------------------------------- faults


async def test_fault_500(fake: FakeSmspva, http: httpx.AsyncClient) -> None:
    fake.fail_next("500")
    response = await http.get(fake.url, params={"method": "getcountries"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert (await http.get(fake.url, params={"method": "getcountries"})).status_code == 200


async def test_fault_invalid_json(fake: FakeSmspva, http: httpx.AsyncClient) -> None:
    fake.fail_next("invalid_json")
    response = await http.get(fake.url, params={"method": "getcountries"})
    assert (response.status_code, response.text) == (200, "<html>oops")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_fault_status0_for_one_method(fake: FakeSmspva, api: Api) -> None:
    fake.fail_next("status0", method="orders", msg="Server is busy")
    assert (await api("getcountries"))["status"] == 1
    assert await api("orders") == fail("Server is busy")
    assert (await api("orders"))["status"] == 1


async def test_fault_disconnect(fake: FakeSmspva, http: httpx.AsyncClient) -> None:
    fake.fail_next("disconnect")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get(fake.url, params={"method": "getcountries"})
    assert (await http.get(fake.url, params={"method": "getcountries"})).status_code == 200


async def test_fault_timeout(fake: FakeSmspva, http: httpx.AsyncClient) -> None:
    fake.timeout_sleep = 2
    fake.fail_next("timeout", method="orders")
    with pytest.raises(httpx.ReadTimeout):
        await http.get(fake.url, params={"method": "orders", "apikey": KEY}, timeout=0.2)
    assert (await http.get(fake.url, params={"method": "orders", "apikey": KEY})).json()["status"] == 1
    fake.fail_next("timeout", method="create")
    with pytest.raises(httpx.ReadTimeout):
        await http.get(
            fake.url,
            params={"method": "create", "apikey": KEY, "country": "RU", "service": "opt16"},
            timeout=0.2,
        )
    await fake.stop()  # releases the held call without acting on it
    assert fake.orders == {}
    assert fake.balance(KEY) == 100


async def test_fault_timeout_answers_normally_after_the_sleep(fake: FakeSmspva, api: Api) -> None:
    fake.timeout_sleep = 0.2
    fake.fail_next("timeout")
    started = time.monotonic()
    assert (await api("orders"))["status"] == 1
    assert time.monotonic() - started >= 0.2


async def test_fail_next_count(fake: FakeSmspva, http: httpx.AsyncClient) -> None:
    fake.fail_next("500", count=2)
    codes = [(await http.get(fake.url, params={"method": "getcountries"})).status_code for _ in range(3)]
    assert codes == [500, 500, 200]


async def test_fail_for_and_clear_faults(fake: FakeSmspva, http: httpx.AsyncClient) -> None:
    async def status() -> int:
        return (await http.get(fake.url, params={"method": "getcountries"})).status_code

    fake.fail_for("500", 0.3)
    assert [await status(), await status()] == [500, 500]
    await asyncio.sleep(0.35)
    assert await status() == 200
    fake.fail_for("500", 60, method="getcountries")
    assert await status() == 500
    fake.clear_faults()
    assert await status() == 200


async def test_unknown_fault_kind(fake: FakeSmspva) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake.fail_next("teapot")
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake.fail_for("teapot", 1)
    with pytest.raises(ValueError, match="count"):
        fake.fail_next("500", count=0)


async def test_latency(fake: FakeSmspva, api: Api) -> None:
    fake.latency = 0.2
    started = time.monotonic()
    await api("getcountries")
    assert time.monotonic() - started >= 0.2


# ----------------------------------------------------------------------------- variants


def test_variants_defaults_page_and_all_on() -> None:
    shapes = ("getdata_object", "sms_object", "create_list", "activate_list", "add_service_data")
    default, page = Variants(), Variants.page()
    assert all(getattr(default, name) for name in shapes)
    assert not any(getattr(page, name) for name in shapes)
    oddities = [f for f in vars(default) if f not in shapes]
    assert not any(getattr(default, name) for name in oddities)
    assert not any(getattr(page, name) for name in oddities)
    assert all(vars(Variants.all_on()).values())
    assert Variants.named("sdk") == default
    assert Variants.named("page") == page
    with pytest.raises(ValueError, match="unknown shape"):
        Variants.named("nope")


async def test_default_shapes_are_the_sdks(fake: FakeSmspva, api: Api) -> None:
    fake.variants = Variants()
    getdata = (await api("getdata", country="RU", dtype="week", dcount=1))["data"]
    assert set(getdata) == {"services", "totalAmount"}
    created = (await api("create", country="RU", service="opt16"))["data"]
    assert isinstance(created, list)
    order_id = created[0]["id"]
    fake.inject_sms(order_id, "own", date=100)
    fake.inject_sms(order_id, "other", date=200, other=True)
    sms = (await api("sms", id=order_id))["data"]
    assert set(sms) == {"SmsList", "OtherSms"}
    assert (await api("activate", id=order_id))["data"] == [{"id": order_id}]
    order = fake.orders[order_id]
    added = await api("add_service_to_order", id=order_id, service="opt1", pnumber=order.number, rent_days=7)
    assert added["data"] == {"id": order_id, "pnumber": order.number, "service": "opt1", "until": order.until}


async def test_add_service_as_a_new_order(fake: FakeSmspva, api: Api) -> None:
    fake.variants.add_service_data = True
    fake.variants.add_service_new_order = True
    order = fake.add_order(KEY, days_left=20)
    added = (await api("add_service_to_order", id=order.id, service="opt1", pnumber=order.number))["data"]
    assert added["id"] != order.id
    new = fake.orders[added["id"]]
    assert (new.number, new.services, order.services) == (order.number, ["opt1"], ["opt16"])
    assert added["until"] == new.until == fake.now() + 7 * DAY


async def test_variant_status_as_str(fake: FakeSmspva, api: Api) -> None:
    fake.variants.status_as_str = True
    assert (await api("getcountries"))["status"] == "1"
    assert await api("orders", apikey="stranger") == {"status": "0", "msg": "API KEY NOT FOUND!"}


async def test_variant_getdata_object(fake: FakeSmspva, api: Api) -> None:
    fake.variants.getdata_object = True
    data = (await api("getdata", country="RU", dtype="week", dcount=2))["data"]
    airbnb = data["services"][0]
    assert airbnb == {
        "name": "Airbnb",
        "service": "opt46",
        "price_day": 5.7,
        "count": 359,
        "procent_days": 14,
        "procent": 5,
        "day_step": 7,
        "img": "/img/services/opt46.png",
    }
    total = sum(Decimal(str(item["price_day"])) * 14 for item in data["services"])
    assert Decimal(str(data["totalAmount"])) == total


async def test_variant_sms_object(fake: FakeSmspva, api: Api) -> None:
    fake.variants.sms_object = True
    order = fake.add_order(KEY)
    fake.inject_sms(order.id, "own", date=100)
    fake.inject_sms(order.id, "other", sender="Telegram", date=200, other=True)
    data = (await api("sms", id=order.id))["data"]
    assert data == {
        "SmsList": [{"text": "own", "sender": "FACEBOOK", "date": 100}],
        "OtherSms": [{"text": "other", "sender": "Telegram", "date": 200}],
    }


async def test_variant_create_list(fake: FakeSmspva, api: Api) -> None:
    fake.variants.create_list = True
    data = (await api("create", country="RU", service="opt16"))["data"]
    assert isinstance(data, list)
    assert [item["id"] for item in data] == [40370]


async def test_variant_until_str(fake: FakeSmspva, api: Api) -> None:
    fake.variants.until_str = True
    created = (await api("create", country="RU", service="opt16"))["data"]
    assert isinstance(created["until"], str)
    assert created["until"].isdigit()
    fake.inject_sms(created["id"], "code")
    item = (await orders(api))[created["id"]]
    assert all(isinstance(item[name], str) for name in ("until", "canprolonguntil", "lastonline"))
    assert isinstance((await api("sms", id=created["id"]))["data"][0]["date"], str)
    fake.add_history(KEY)
    history = (await api("get_rent_history"))["data"][0]
    assert all(isinstance(history[name], str) for name in ("begin", "end", "closed"))


async def test_variant_restore_object(fake: FakeSmspva, api: Api) -> None:
    fake.variants.restore_object = True
    (item,) = fake.add_history(KEY)
    data = (await api("restore_user", id=item.order_id))["data"]
    assert data == {"id": item.order_id, "until": fake.orders[item.order_id].until}


# ----------------------------------------------------------------------------- admin and standalone


async def test_admin_endpoints(fake: FakeSmspva, http: httpx.AsyncClient, api: Api) -> None:
    admin = fake.url.removesuffix("/api/rent.php") + "/_admin"
    order = fake.add_order(KEY)
    response = await http.get(
        f"{admin}/inject_sms", params={"id": order.id, "text": "Code 1", "sender": "VK"}
    )
    assert response.json()["ok"] is True
    assert (await api("sms", id=order.id))["data"][0]["text"] == "Code 1"
    assert (await http.get(f"{admin}/set_state", params={"id": order.id, "state": 1})).json() == {"ok": True}
    assert fake.orders[order.id].state == 1
    state = (await http.get(f"{admin}/state")).json()
    assert state["calls"] == 1
    assert {"apikey": KEY, "balance": 100, "orders": [order.id], "history": []} in state["accounts"]
    assert (await http.get(f"{admin}/inject_sms")).status_code == 400
    assert (await http.get(f"{admin}/nope")).status_code == 404
    assert (await http.get(f"{admin}/expire", params={"id": order.id})).json() == {"ok": True}
    assert order.id in fake.history


async def test_runs_standalone() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.smspva",
        "--port",
        "0",
        "--apikey",
        "demo-key",
        "--balance",
        "50",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        url = line.split()[4]
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/api/rent.php")
        async with httpx.AsyncClient(trust_env=False) as http:
            body = (await http.get(url, params={"method": "orders", "apikey": "demo-key"})).json()
            assert body == {"status": 1, "data": []}
            state = (await http.get(url.removesuffix("/api/rent.php") + "/_admin/state")).json()
            assert state["accounts"][0]["balance"] == 50
    finally:
        proc.terminate()
        await proc.wait()


@pytest.mark.parametrize("mode", ["status0", "429"])
async def test_rate_limit_mode_rejects_fast_calls_per_key_and_applies_nothing(
    fake: FakeSmspva, http: httpx.AsyncClient, mode: str
) -> None:
    fake.set_rate_limit(0.4, mode=mode)
    query = {"method": "create", "apikey": KEY, "country": "RU", "service": "opt16"}
    first = await http.get(fake.url, params=query)
    assert first.json()["status"] == 1
    balance = fake.balance(KEY)
    second = await http.get(fake.url, params=query)  # too soon for this key
    assert second.status_code == (429 if mode == "429" else 200)
    assert second.json() == {"status": 0, "msg": fake.rate_limit.msg if fake.rate_limit else ""}
    assert "too many requests" in second.json()["msg"].lower()
    if mode == "429":
        assert float(second.headers["Retry-After"]) <= 0.4
    assert fake.balance(KEY) == balance  # not applied
    assert len(fake.orders) == 1
    other = await http.get(fake.url, params={"method": "orders", "apikey": OTHER})  # another key: fine
    assert other.json()["status"] == 1
    await asyncio.sleep(0.45)
    third = await http.get(fake.url, params={"method": "orders", "apikey": KEY})
    assert third.json()["status"] == 1
    assert [call.rate_limited for call in fake.calls] == [False, True, False, False]
    fake.set_rate_limit(None)
    for _ in range(3):
        assert (await http.get(fake.url, params={"method": "orders", "apikey": KEY})).json()["status"] == 1


async def test_status0_with_data_mode(fake: FakeSmspva, api: Api) -> None:
    fake.status0_with_data = {"getcountries", "prolong"}
    countries = await api("getcountries", apikey=None)
    assert countries["status"] == 0
    assert any(c["code"] == "RU" for c in countries["data"])
    order = fake.add_order(KEY, days_left=3)
    until = order.until
    prolonged = await api("prolong", id=order.id, dtype="week", dcount=1)
    assert prolonged["status"] == 0
    assert prolonged["data"]["id"] == order.id
    assert fake.orders[order.id].until == until + 7 * DAY  # it took effect all the same
    refused = await api("prolong", id=999)
    assert refused == {"status": 0, "msg": "Order not found"}  # a real refusal keeps its msg, no data


async def test_getdata_with_a_key_gives_that_accounts_prices(fake: FakeSmspva, api: Api) -> None:
    fake.add_account("key-vip", 100, price_factor=Decimal("0.5"))
    listed = (await api("getdata", apikey=None, country="RU", dtype="week", dcount=1))["data"]
    mine = (await api("getdata", apikey="key-vip", country="RU", dtype="week", dcount=1))["data"]
    assert listed[0]["price_day"] == 6
    assert mine[0]["price_day"] == 3
    assert (await api("getdata", apikey="key-unknown", country="RU")) == fail("API KEY NOT FOUND!")
    created = await api("create", apikey="key-vip", country="RU", service="opt46", dtype="week", dcount=1)
    assert created["status"] == 1
    assert fake.balance("key-vip") == Decimal("79")  # 3 * 7 days: what getdata with the key said


async def test_everything_by_hand_over_http(fake: FakeSmspva, http: httpx.AsyncClient) -> None:
    """Accounts, balances, orders, shapes, the rate limit, history and restore errors: all over HTTP, every
    answer JSON (errors included), history rows consistent."""
    admin = fake.url.removesuffix("/api/rent.php") + "/_admin"

    async def call(action: str, expect: int = 200, **params: object) -> dict[str, Any]:
        response = await http.get(f"{admin}/{action}", params={k: str(v) for k, v in params.items()})
        assert response.status_code == expect
        assert response.headers["content-type"].startswith("application/json")
        body: dict[str, Any] = response.json()
        return body

    async def rent(method: str, **params: object) -> httpx.Response:
        return await http.get(fake.url, params={"method": method, **{k: str(v) for k, v in params.items()}})

    assert (await call("add_account", apikey="hand", balance=20))["balance"] == 20
    assert (await call("set_balance", apikey="hand", balance="7.5"))["ok"] is True
    assert fake.balance("hand") == Decimal("7.5")
    order_id = (await call("add_order", apikey="hand", country="UK", state=1, days_left=3))["id"]
    await call("inject_sms", id=order_id, text="Code 4242", other=1)
    await call("shape", name="page")
    assert isinstance((await rent("getdata", country="RU")).json()["data"], list)
    await call("shape", name="sdk")
    assert set((await rent("getdata", country="RU")).json()["data"]) == {"services", "totalAmount"}
    await call("variant", name="odd_fields", on=1)
    assert (await rent("orders", apikey="hand")).json()["data"][0]["hasnewsms"] == "Y"
    await call("variant", name="odd_fields", on=0)
    await call("rate_limit", interval=60, mode="429")
    assert (await rent("orders", apikey="hand")).status_code == 429  # its last call was just now
    assert (await rent("orders", apikey="hand")).json() == {
        "status": 0,
        "msg": fake.rate_limit.msg if fake.rate_limit else "",
    }
    await call("rate_limit", interval=0)
    ids = (await call("add_history", apikey="hand", count=3, outdays=4))["ids"]
    await call("expire", id=order_id)
    await call("restore_error", id=ids[0], code="NOAVAILDAYS")
    assert (await rent("restore_user_precalc", apikey="hand", id=ids[0])).json()["msg"] == "NOAVAILDAYS"
    await call("restore_error", id=ids[0])
    assert (await rent("restore_user_precalc", apikey="hand", id=ids[0])).json()["status"] == 1
    await call("status0_data", methods="getcountries")
    assert (await rent("getcountries")).json()["status"] == 0
    history = (await rent("get_rent_history", apikey="hand", take=10)).json()["data"]
    assert len(history) == 4
    assert all(row["end"] >= row["begin"] and row["closed"] >= row["begin"] for row in history)
    state = await call("state")
    assert state["status0_with_data"] == ["getcountries"]
    # Errors are JSON too.
    assert (await call("add_account", expect=400))["ok"] is False
    assert (await call("variant", expect=400, name="nope"))["ok"] is False
    assert "actions" in await call("nope", expect=404)
    assert (await http.post(f"{admin}/state")).json()["ok"] is False
    missing = await http.get(fake.url.removesuffix("/api/rent.php") + "/nowhere")
    assert missing.status_code == 404
    assert missing.json()["status"] == 0
    wrong_verb = await http.post(fake.url)
    assert wrong_verb.status_code == 405
    assert wrong_verb.json()["status"] == 0
