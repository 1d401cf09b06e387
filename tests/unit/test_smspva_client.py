"""SmspvaClient against httpx.MockTransport: parsing variants, typed errors, retries, pacing, secrets."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.smspva import (
    ApiKeyRedactingFilter,
    ErrorKind,
    OrderState,
    PeriodType,
    RestoreErrorCode,
    SmspvaClient,
    SmspvaError,
    SmspvaUnavailable,
    install_redaction,
    redact,
    uninstall_redaction,
)

URL = "https://smspva.test/api/rent.php"
KEY = "k3yS3cr3t-0123456789abcdefABCDEF"
KEY2 = "otherKey-9876543210zyxwvuZYXWVU"

Reply = httpx.Response | Exception | Callable[[httpx.Request], Awaitable[httpx.Response]]


@dataclass
class Upstream:
    """A scripted rent.php: answers the queued replies in order (the last one repeats) and records calls."""

    replies: list[Reply]
    delay: float = 0.0
    requests: list[httpx.Request] = field(default_factory=list)
    spans: list[tuple[str, float, float]] = field(default_factory=list)  # (apikey, start, end)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        start = time.monotonic()
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if isinstance(reply, Exception):
                raise reply
            if isinstance(reply, httpx.Response):
                return reply
            return await reply(request)
        finally:
            self.spans.append((request.url.params.get("apikey", ""), start, time.monotonic()))

    @property
    def params(self) -> dict[str, str]:
        return dict(self.requests[-1].url.params)


def ok(data: Any = None, **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {"status": 1, **extra}
    if data is not None:
        body["data"] = data
    return httpx.Response(200, json=body)


def refused(msg: str | None, status: Any = 0) -> httpx.Response:
    body: dict[str, Any] = {"status": status}
    if msg is not None:
        body["msg"] = msg
    return httpx.Response(200, json=body)


def server_error() -> httpx.Response:
    return httpx.Response(500, text="<html><body><h1>500 Internal Server Error</h1></body></html>")


MakeClient = Callable[..., tuple[SmspvaClient, Upstream]]


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    clients: list[SmspvaClient] = []

    def factory(*replies: Reply, delay: float = 0.0, **options: Any) -> tuple[SmspvaClient, Upstream]:
        upstream = Upstream(list(replies), delay=delay)
        options = {"min_interval": 0.0, "backoff": 0.001, "read_tries": 3, **options}
        client = SmspvaClient(URL, transport=httpx.MockTransport(upstream), **options)
        clients.append(client)
        return client, upstream

    yield factory
    for client in clients:
        await client.aclose()


# --------------------------------------------------------------------------- requests and config


async def test_request_shape_get_only_with_user_agent_and_timeouts(make_client: MakeClient) -> None:
    client, upstream = make_client(ok([]))
    await client.orders(KEY)
    request = upstream.requests[0]
    assert request.method == "GET"
    assert str(request.url).startswith(URL + "?")
    assert upstream.params == {"method": "orders", "apikey": KEY}
    assert "smspva-rent-bot" in request.headers["User-Agent"]
    assert request.extensions["timeout"] == {"connect": 5.0, "read": 15.0, "write": 15.0, "pool": 15.0}


async def test_keyless_methods_send_no_apikey(make_client: MakeClient) -> None:
    client, upstream = make_client(ok([]))
    await client.get_countries()
    assert upstream.params == {"method": "getcountries"}
    await client.get_services("RU", PeriodType.MONTH, 2)
    assert upstream.params == {"method": "getdata", "country": "RU", "dtype": "month", "dcount": "2"}


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda c: c.create(KEY, country="RU", service="opt6", dtype=PeriodType.WEEK, dcount=1),
            {
                "method": "create",
                "apikey": KEY,
                "dtype": "week",
                "dcount": "1",
                "country": "RU",
                "service": "opt6",
            },
        ),
        (lambda c: c.sms(KEY, 123), {"method": "sms", "apikey": KEY, "id": "123"}),
        (
            lambda c: c.prolong(KEY, order_id=123, dtype=PeriodType.WEEK, dcount=1),
            {"method": "prolong", "apikey": KEY, "id": "123", "dcount": "1", "dtype": "week"},
        ),
        (lambda c: c.activate(KEY, 123), {"method": "activate", "apikey": KEY, "id": "123"}),
        (lambda c: c.delete(KEY, 123), {"method": "delete", "apikey": KEY, "id": "123"}),
        (
            lambda c: c.rent_history(KEY, skip=20, take=5),
            {"method": "get_rent_history", "apikey": KEY, "skip": "20", "take": "5"},
        ),
        (lambda c: c.restore(KEY, 517017), {"method": "restore_user", "apikey": KEY, "id": "517017"}),
    ],
)
async def test_query_params_per_method(
    make_client: MakeClient, call: Callable[[SmspvaClient], Awaitable[Any]], expected: dict[str, str]
) -> None:
    async def reply(request: httpx.Request) -> httpx.Response:
        method = request.url.params["method"]
        if method == "restore_user":
            return ok(True)
        if method in ("sms", "get_rent_history"):
            return ok([])
        return ok({"id": 123, "pnumber": "9096037108", "ccode": "+7", "service": "opt6", "until": 1587633960})

    client, upstream = make_client(reply)
    await call(client)
    assert upstream.params == expected


async def test_invalid_arguments_are_rejected_before_any_request(make_client: MakeClient) -> None:
    client, upstream = make_client(ok([]))
    with pytest.raises(ValueError, match="dcount"):
        await client.create(KEY, country="RU", service="opt6", dtype=PeriodType.WEEK, dcount=0)
    with pytest.raises(ValueError, match="dcount"):
        await client.prolong(KEY, order_id=1, dtype=PeriodType.MONTH, dcount=-1)
    with pytest.raises(ValueError, match="pnumber"):
        await client.add_service_to_order(KEY, order_id=1, service="opt1", pnumber="+ -")
    assert upstream.requests == []


# --------------------------------------------------------------------------- parsing variants


async def test_get_countries_documented_and_live_extras(make_client: MakeClient) -> None:
    client, _ = make_client(
        ok(
            [
                {"name": "Россия", "code": "RU"},
                {"name": "Казахстан", "code": "KZ", "rent_switch_type": 1, "rent_avail_prolong": True},
                {"name": "Украина", "code": "UA", "rent_avail_prolong": "0"},
            ]
        )
    )
    countries = await client.get_countries()
    assert [(c.code, c.name, c.rent_avail_prolong) for c in countries] == [
        ("RU", "Россия", None),
        ("KZ", "Казахстан", True),
        ("UA", "Украина", False),
    ]


async def test_get_services_flat_list_prices_are_decimals(make_client: MakeClient) -> None:
    client, _ = make_client(
        ok(
            [
                {"name": "Airbnb", "service": "opt46", "price_day": 6, "count": 359},
                {"name": "Instagram", "service": "opt16", "price_day": "1.20", "count": "214"},
                {"name": "VK", "service": "opt69", "price_day": 0.1, "count": 3, "brand_new": "x"},
            ]
        )
    )
    catalog = await client.get_services("RU")
    assert catalog.total_amount is None
    assert [(s.code, s.name, s.price_day, s.count) for s in catalog.services] == [
        ("opt46", "Airbnb", Decimal("6"), 359),
        ("opt16", "Instagram", Decimal("1.20"), 214),
        ("opt69", "VK", Decimal("0.1"), 3),
    ]
    assert all(isinstance(s.price_day, Decimal) for s in catalog.services)
    assert catalog.services[0].procent is None
    assert catalog.services[0].procent_days is None


async def test_get_services_object_form_with_total_and_extra_fields(make_client: MakeClient) -> None:
    item = {
        "name": "Telegram",
        "service": "opt29",
        "price_day": "2.37",
        "count": 87,
        "procent_days": 14,
        "procent": "5",
        "day_step": 7,
        "img": "/img/services/opt29.png",
    }
    client, _ = make_client(ok({"services": [item], "totalAmount": "33.18"}))
    catalog = await client.get_services("RU", PeriodType.WEEK, 2)
    assert catalog.total_amount == Decimal("33.18")
    (service,) = catalog.services
    assert service.price_day == Decimal("2.37")
    assert service.procent == Decimal("5")
    assert service.procent_days == 14


CREATED = {"id": 40370, "pnumber": "9096037108", "ccode": "+7", "service": "opt6", "until": 1587633960}


@pytest.mark.parametrize(
    "data",
    [
        CREATED,
        [CREATED],
        {**CREATED, "until": "1587633960"},
        {**CREATED, "until": "1587633960.0", "id": "40370"},
        {**CREATED, "until": 1587633960.0, "extra": {"nested": True}},
    ],
    ids=["object", "one-element-list", "until-str", "until-float-str", "until-float"],
)
async def test_create_variants(make_client: MakeClient, data: Any) -> None:
    client, _ = make_client(ok(data))
    order = await client.create(KEY, country="RU", service="opt6", dtype=PeriodType.WEEK, dcount=1)
    assert (order.id, order.pnumber, order.ccode, order.service, order.until) == (
        40370,
        "9096037108",
        "+7",
        "opt6",
        1587633960,
    )
    assert order.full_number == "+7 9096037108"
    assert order.pnumber_with_code == "79096037108"


ORDER = {
    "id": 40300,
    "scode": "opt16",
    "sname": "Instagram",
    "state": 0,
    "pnumber": "9096068511",
    "ccode": "+7",
    "cname": "RU",
    "hasnewsms": False,
    "until": 1587552240,
    "canprolong": True,
    "canprolongmax": 162,
    "canprolonguntil": 1634883780,
    "lastonline": 1586947920,
}


async def test_orders_documented_example(make_client: MakeClient) -> None:
    client, _ = make_client(ok([ORDER]))
    (order,) = await client.orders(KEY)
    assert order.id == 40300
    assert (order.scode, order.sname, order.cname) == ("opt16", "Instagram", "RU")
    assert order.state == 0
    assert order.state_enum is OrderState.NOT_ACTIVE
    assert order.hasnewsms is False
    assert order.canprolong is True
    assert (order.until, order.canprolongmax, order.canprolonguntil, order.lastonline) == (
        1587552240,
        162,
        1634883780,
        1586947920,
    )
    assert order.full_number == "+7 9096068511"
    assert order.pnumber_with_code == "79096068511"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), (1, True), (0, False), ("1", True), ("0", False), ("true", True)],
)
async def test_orders_flags_in_every_shape(make_client: MakeClient, raw: Any, expected: bool) -> None:
    client, _ = make_client(ok([{**ORDER, "hasnewsms": raw, "canprolong": raw}]))
    (order,) = await client.orders(KEY)
    assert order.hasnewsms is expected
    assert order.canprolong is expected


async def test_orders_strings_for_numbers_and_status(make_client: MakeClient) -> None:
    wire = {
        **ORDER,
        "id": "40300",
        "state": "1",
        "until": "1587552240.0",
        "canprolongmax": "162",
        "canprolonguntil": "1634883780",
        "lastonline": "1586947920",
        "pnumber": 9096068511,
    }
    client, _ = make_client(httpx.Response(200, json={"status": "1", "data": [wire]}))
    (order,) = await client.orders(KEY)
    assert (order.id, order.state_enum, order.until, order.canprolongmax) == (
        40300,
        OrderState.ACTIVE,
        1587552240,
        162,
    )
    assert order.pnumber == "9096068511"


async def test_orders_unknown_state_and_missing_optional_fields(make_client: MakeClient) -> None:
    minimal = {"id": 7, "state": 5, "pnumber": "9000000000", "ccode": "+7", "until": 1700000000}
    client, _ = make_client(ok([minimal]))
    (order,) = await client.orders(KEY)
    assert order.state == 5
    assert order.state_enum is None
    assert (order.scode, order.sname, order.cname) == ("", "", "")
    assert order.hasnewsms is False
    assert order.canprolong is False
    assert order.canprolongmax is None
    assert order.canprolonguntil is None
    assert order.lastonline is None


async def test_orders_malformed_item_is_skipped_and_logged_without_content(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    broken = {k: v for k, v in ORDER.items() if k != "id"} | {"pnumber": "9111111111"}
    client, _ = make_client(ok([ORDER, broken, "junk", {**ORDER, "id": 40301}]))
    with caplog.at_level(logging.WARNING, logger="bot.smspva"):
        orders = await client.orders(KEY)
    assert [o.id for o in orders] == [40300, 40301]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("method=orders" in text for text in warnings)
    assert "fields=id" in warnings[0]
    assert not any("9111111111" in text or "Instagram" in text for text in warnings)


async def test_orders_null_data_is_empty(make_client: MakeClient) -> None:
    client, _ = make_client(httpx.Response(200, json={"status": 1, "data": None}))
    assert await client.orders(KEY) == []


async def test_order_repr_hides_the_number() -> None:
    from bot.smspva import Order

    order = Order.model_validate(ORDER)
    assert "9096068511" not in repr(order)


async def test_sms_flat_list(make_client: MakeClient) -> None:
    client, _ = make_client(
        ok([{"text": "Code Instagram: 671 094.", "sender": "FACEBOOK", "date": 1586948100}])
    )
    batch = await client.sms(KEY, 123)
    assert [(s.text, s.sender, s.date) for s in batch.sms] == [
        ("Code Instagram: 671 094.", "FACEBOOK", 1586948100)
    ]
    assert batch.other == []


async def test_sms_object_with_other_sms(make_client: MakeClient) -> None:
    client, _ = make_client(
        ok(
            {
                "SmsList": [{"text": "Your code 1", "sender": "IG", "date": "1586948100"}],
                "OtherSms": [{"text": "Telegram code 2", "sender": "TG", "date": 1586948200.0}],
            }
        )
    )
    batch = await client.sms(KEY, 123)
    assert [(s.text, s.date) for s in batch.sms] == [("Your code 1", 1586948100)]
    assert [(s.text, s.sender, s.date) for s in batch.other] == [("Telegram code 2", "TG", 1586948200)]


@pytest.mark.parametrize("data", [None, [], {"SmsList": [], "OtherSms": None}])
async def test_sms_empty_shapes(make_client: MakeClient, data: Any) -> None:
    client, _ = make_client(httpx.Response(200, json={"status": 1, "data": data}))
    batch = await client.sms(KEY, 1)
    assert batch.sms == []
    assert batch.other == []


HISTORY = {
    "orderId": 517017,
    "resourceCode": "opt59",
    "number": "79020831944",
    "branchId": 1235,
    "haveSms": True,
    "days": 7,
    "country": "EN",
    "begin": 1222222231,
    "end": 1611111931,
    "closed": 1632445144,
}


async def test_rent_history_with_and_without_is_avail_for_restore(make_client: MakeClient) -> None:
    client, _ = make_client(ok([HISTORY, {**HISTORY, "orderId": "517018", "isAvailForRestore": "1"}]))
    first, second = await client.rent_history(KEY)
    assert (first.order_id, first.resource_code, first.number, first.branch_id) == (
        517017,
        "opt59",
        "79020831944",
        1235,
    )
    assert (first.have_sms, first.days, first.country) == (True, 7, "EN")
    assert (first.begin, first.end, first.closed) == (1222222231, 1611111931, 1632445144)
    assert first.is_avail_for_restore is None
    assert second.order_id == 517018
    assert second.is_avail_for_restore is True


async def test_restore_precalc(make_client: MakeClient) -> None:
    client, _ = make_client(
        ok(
            {
                "ccode": "EN",
                "scode": "opt59",
                "price": "2.4",
                "sname": "Avito",
                "pnumber": "79929831844",
                "outdays": 32,
                "orderid": 317017,
                "prolongTo": 30,
            }
        )
    )
    quote = await client.restore_precalc(KEY, 317017)
    assert quote.price == Decimal("2.4")
    assert (quote.ccode, quote.scode, quote.sname, quote.pnumber) == ("EN", "opt59", "Avito", "79929831844")
    assert (quote.outdays, quote.orderid, quote.prolong_to) == (32, 317017, 30)


async def test_restore_true_or_object(make_client: MakeClient) -> None:
    client, _ = make_client(ok(True), ok({"id": 517017, "until": "1700000000"}))
    plain = await client.restore(KEY, 517017)
    assert plain.raw is True
    assert plain.order_id is None
    rich = await client.restore(KEY, 517017)
    assert rich.raw == {"id": 517017, "until": "1700000000"}
    assert rich.order_id == 517017


async def test_restore_false_is_a_refusal_and_null_is_unknown(make_client: MakeClient) -> None:
    client, upstream = make_client(ok(False), httpx.Response(200, json={"status": 1, "data": None}))
    with pytest.raises(SmspvaError) as refusal:
        await client.restore(KEY, 1)
    assert refusal.value.method == "restore_user"
    with pytest.raises(SmspvaUnavailable) as unknown:
        await client.restore(KEY, 1)
    assert unknown.value.request_sent is True
    assert len(upstream.requests) == 2


@pytest.mark.parametrize("body", [{"status": 1}, {"status": 1, "data": None}, {"status": "1", "data": []}])
async def test_add_service_to_order_accepts_missing_data(
    make_client: MakeClient, body: dict[str, Any]
) -> None:
    client, upstream = make_client(httpx.Response(200, json=body))
    added = await client.add_service_to_order(KEY, order_id=3004, service="opt89", pnumber="79096037108")
    assert added.id == 3004
    assert added.moved is False
    assert upstream.params == {
        "method": "add_service_to_order",
        "apikey": KEY,
        "id": "3004",
        "service": "opt89",
        "pnumber": "79096037108",
    }


async def test_add_service_to_order_digits_only_and_rent_days(make_client: MakeClient) -> None:
    client, upstream = make_client(ok())
    await client.add_service_to_order(
        KEY, order_id=1, service="opt1", pnumber="+7 909 603-71-08", rent_days=14
    )
    assert upstream.params["pnumber"] == "79096037108"
    assert upstream.params["rent_days"] == "14"


@pytest.mark.parametrize(
    "data", [{"id": 123}, {"id": "123"}, [{"id": 123}], None, {}], ids=["obj", "str", "list", "null", "empty"]
)
async def test_prolong_activate_delete_return_the_id(make_client: MakeClient, data: Any) -> None:
    client, _ = make_client(httpx.Response(200, json={"status": 1, "data": data}))
    assert await client.prolong(KEY, order_id=123, dtype=PeriodType.WEEK, dcount=1) == 123
    assert await client.activate(KEY, 123) == 123
    assert await client.delete(KEY, 123) == 123


# --------------------------------------------------------------------------- SmspvaError


@pytest.mark.parametrize(
    ("msg", "kind"),
    [
        # the wording of the fake server used by the end-to-end tests
        ("API KEY NOT FOUND!", ErrorKind.AUTH),
        ("Balance is not enough", ErrorKind.NO_BALANCE),
        ("No free numbers", ErrorKind.NO_NUMBERS),
        ("Prolongation is available only when less than 7 days remain", ErrorKind.PROLONG_NOT_YET),
        ("Maximum rental period is 90 days", ErrorKind.PERIOD_TOO_LONG),
        ("Order not found", ErrorKind.NOT_FOUND),
        # other plausible live wordings
        ("Wrong apikey", ErrorKind.AUTH),
        ("Invalid API-key", ErrorKind.AUTH),
        ("Unauthorized", ErrorKind.AUTH),
        ("NOBALANCE", ErrorKind.NO_BALANCE),
        ("Not enough money on your account", ErrorKind.NO_BALANCE),
        ("Insufficient funds", ErrorKind.NO_BALANCE),
        ("No numbers for this service", ErrorKind.NO_NUMBERS),
        ("There are not available numbers", ErrorKind.NO_NUMBERS),
        ("Prolong is possible when 7 days left", ErrorKind.PROLONG_NOT_YET),
        ("Service not found", ErrorKind.NOT_FOUND),
        ("Country not found", ErrorKind.NOT_FOUND),
        ("Wrong parameters", ErrorKind.OTHER),
        ("", ErrorKind.OTHER),
    ],
)
async def test_status_zero_is_smspva_error_with_msg_and_kind(
    make_client: MakeClient, msg: str, kind: ErrorKind
) -> None:
    client, upstream = make_client(refused(msg))
    with pytest.raises(SmspvaError) as caught:
        await client.orders(KEY)
    assert caught.value.method == "orders"
    assert caught.value.msg == msg
    assert caught.value.kind is kind
    assert caught.value.restore_code is None
    assert len(upstream.requests) == 1  # a refusal is never retried
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("status", [0, "0", False])
async def test_status_zero_shapes_and_missing_msg(make_client: MakeClient, status: Any) -> None:
    client, _ = make_client(refused(None, status=status))
    with pytest.raises(SmspvaError) as caught:
        await client.get_countries()
    assert caught.value.msg == ""
    assert caught.value.kind is ErrorKind.OTHER


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        ("NOAVAILDAYS", RestoreErrorCode.NOAVAILDAYS),
        ("NOTOWNER", RestoreErrorCode.NOTOWNER),
        ("NOREMOTEDATA", RestoreErrorCode.NOREMOTEDATA),
        ("NOORDERCOUNTRY", RestoreErrorCode.NOORDERCOUNTRY),
        ("DATEDIFFINVERT", RestoreErrorCode.DATEDIFFINVERT),
        ("NOSERVICEDATA", RestoreErrorCode.NOSERVICEDATA),
        (
            "NOBALANCE: Your balance is not enough for restoring rental order. Today need 12.5",
            RestoreErrorCode.NOBALANCE,
        ),
        ("the user had not this order", RestoreErrorCode.USER_HAD_NOT_THIS_ORDER),
        ("Service not found", RestoreErrorCode.SERVICE_NOT_FOUND),
        ("Balance is not enough", RestoreErrorCode.BALANCE_NOT_ENOUGH),
    ],
)
@pytest.mark.parametrize("method", ["restore", "restore_precalc"])
async def test_restore_error_codes(
    make_client: MakeClient, msg: str, code: RestoreErrorCode, method: str
) -> None:
    client, upstream = make_client(refused(msg))
    with pytest.raises(SmspvaError) as caught:
        await getattr(client, method)(KEY, 517017)
    assert caught.value.restore_code is code
    assert caught.value.msg == msg
    assert len(upstream.requests) == 1


async def test_restore_code_matching_is_case_insensitive_prefix(make_client: MakeClient) -> None:
    client, _ = make_client(refused("nobalance today need 3"), refused("Something else"))
    with pytest.raises(SmspvaError) as first:
        await client.restore(KEY, 1)
    assert first.value.restore_code is RestoreErrorCode.NOBALANCE
    assert first.value.kind is ErrorKind.NO_BALANCE
    with pytest.raises(SmspvaError) as second:
        await client.restore(KEY, 1)
    assert second.value.restore_code is None


async def test_restore_codes_only_for_restore_methods(make_client: MakeClient) -> None:
    client, _ = make_client(refused("Service not found"))
    with pytest.raises(SmspvaError) as caught:
        await client.create(KEY, country="RU", service="nope", dtype=PeriodType.WEEK, dcount=1)
    assert caught.value.restore_code is None
    assert caught.value.kind is ErrorKind.NOT_FOUND


async def test_4xx_carrying_an_api_refusal_is_smspva_error(make_client: MakeClient) -> None:
    client, _ = make_client(httpx.Response(403, json={"status": 0, "msg": "API KEY NOT FOUND!"}))
    with pytest.raises(SmspvaError) as caught:
        await client.orders(KEY)
    assert caught.value.kind is ErrorKind.AUTH


# --------------------------------------------------------------------------- SmspvaUnavailable


@pytest.mark.parametrize(
    ("reply", "reason", "request_sent"),
    [
        (server_error(), "http_status", True),
        (httpx.Response(404, text="Not Found"), "http_status", True),
        (httpx.ReadTimeout("timed out"), "timeout", True),
        (httpx.WriteTimeout("timed out"), "timeout", True),
        (httpx.ConnectTimeout("timed out"), "connect_failed", False),
        (httpx.ConnectError("connection refused"), "connect_failed", False),
        (httpx.PoolTimeout("no free connection"), "connect_failed", False),
        (httpx.RemoteProtocolError("server disconnected"), "transport_error", True),
        (httpx.Response(200, text="<html>oops"), "invalid_json", True),
        (httpx.Response(200, text=""), "invalid_json", True),
        (httpx.Response(200, json=[{"status": 1}]), "not_an_object", True),
        (httpx.Response(200, json="ok"), "not_an_object", True),
        (httpx.Response(200, json={"data": []}), "bad_status", True),
        (httpx.Response(200, json={"status": "error"}), "bad_status", True),
        (httpx.Response(200, json={"status": 1, "data": {"not": "a list"}}), "bad_data", True),
        (httpx.Response(302, headers={"Location": "https://elsewhere.test/"}), "http_status", True),
    ],
    ids=[
        "500",
        "404",
        "read-timeout",
        "write-timeout",
        "connect-timeout",
        "connect-error",
        "pool-timeout",
        "disconnect",
        "html",
        "empty",
        "json-list",
        "json-string",
        "no-status",
        "odd-status",
        "bad-data",
        "redirect",
    ],
)
async def test_unavailable(make_client: MakeClient, reply: Reply, reason: str, request_sent: bool) -> None:
    client, upstream = make_client(reply, read_tries=1)
    with pytest.raises(SmspvaUnavailable) as caught:
        await client.orders(KEY)
    assert caught.value.method == "orders"
    assert caught.value.reason == reason
    assert caught.value.request_sent is request_sent
    assert len(upstream.requests) == 1
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)


async def test_unparsable_create_is_unavailable_after_one_request(make_client: MakeClient) -> None:
    client, upstream = make_client(ok({"pnumber": "9096037108"}), ok([]))
    with pytest.raises(SmspvaUnavailable) as caught:
        await client.create(KEY, country="RU", service="opt6", dtype=PeriodType.WEEK, dcount=1)
    assert caught.value.reason == "bad_data"
    assert caught.value.request_sent is True
    assert caught.value.__cause__ is None  # the ValidationError (which quotes the input) is not chained
    assert len(upstream.requests) == 1


# --------------------------------------------------------------------------- retries


async def test_read_only_retries_until_success(make_client: MakeClient) -> None:
    client, upstream = make_client(server_error(), httpx.ReadTimeout("slow"), ok([ORDER]))
    orders = await client.orders(KEY)
    assert [o.id for o in orders] == [40300]
    assert len(upstream.requests) == 3


async def test_read_only_gives_up_after_read_tries(make_client: MakeClient) -> None:
    client, upstream = make_client(server_error(), read_tries=3)
    with pytest.raises(SmspvaUnavailable):
        await client.get_countries()
    assert len(upstream.requests) == 3


async def test_read_only_single_try_configuration(make_client: MakeClient) -> None:
    client, upstream = make_client(server_error(), read_tries=1)
    with pytest.raises(SmspvaUnavailable):
        await client.sms(KEY, 1)
    assert len(upstream.requests) == 1


async def test_refusal_is_not_retried_even_after_a_failure(make_client: MakeClient) -> None:
    client, upstream = make_client(server_error(), refused("Order not found"), ok([]))
    with pytest.raises(SmspvaError):
        await client.sms(KEY, 1)
    assert len(upstream.requests) == 2


async def test_backoff_is_exponential_with_full_jitter(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    bounds: list[tuple[float, float]] = []

    def fake_uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return 0.0

    monkeypatch.setattr("bot.smspva.client.random.uniform", fake_uniform)
    client, _ = make_client(server_error(), read_tries=4, backoff=0.5)
    with pytest.raises(SmspvaUnavailable):
        await client.get_countries()
    assert bounds == [(0.0, 0.5), (0.0, 1.0), (0.0, 2.0)]


MONEY_CALLS: list[tuple[str, Callable[[SmspvaClient], Awaitable[Any]]]] = [
    ("create", lambda c: c.create(KEY, country="RU", service="opt6", dtype=PeriodType.WEEK, dcount=1)),
    ("prolong", lambda c: c.prolong(KEY, order_id=1, dtype=PeriodType.WEEK, dcount=1)),
    ("add_service_to_order", lambda c: c.add_service_to_order(KEY, order_id=1, service="o", pnumber="79")),
    ("restore_user", lambda c: c.restore(KEY, 1)),
    ("delete", lambda c: c.delete(KEY, 1)),
    ("activate", lambda c: c.activate(KEY, 1)),
]


@pytest.mark.parametrize(("method", "call"), MONEY_CALLS, ids=[m for m, _ in MONEY_CALLS])
@pytest.mark.parametrize(
    ("fault", "request_sent"),
    [(server_error(), True), (httpx.ReadTimeout("slow"), True), (httpx.ConnectError("refused"), False)],
    ids=["500", "timeout", "connect"],
)
async def test_state_changing_methods_send_exactly_one_request(
    make_client: MakeClient,
    method: str,
    call: Callable[[SmspvaClient], Awaitable[Any]],
    fault: Reply,
    request_sent: bool,
) -> None:
    client, upstream = make_client(fault, ok({"id": 1}), read_tries=5)
    with pytest.raises(SmspvaUnavailable) as caught:
        await call(client)
    assert len(upstream.requests) == 1
    assert upstream.params["method"] == method
    assert caught.value.method == method
    assert caught.value.request_sent is request_sent


# --------------------------------------------------------------------------- pacing


def _overlap(a: tuple[str, float, float], b: tuple[str, float, float]) -> bool:
    return a[1] < b[2] and b[1] < a[2]


async def test_one_key_is_serialised_and_spaced(make_client: MakeClient) -> None:
    client, upstream = make_client(ok([]), delay=0.05, min_interval=0.2)
    await asyncio.gather(client.orders(KEY), client.sms(KEY, 1), client.orders(KEY))
    spans = sorted(upstream.spans, key=lambda span: span[1])
    assert len(spans) == 3
    for earlier, later in itertools.pairwise(spans):
        assert not _overlap(earlier, later)
        assert later[1] - earlier[1] >= 0.19  # started-to-started spacing


async def test_spacing_is_started_to_started(make_client: MakeClient) -> None:
    client, upstream = make_client(ok([]), delay=0.45, min_interval=0.4)
    await asyncio.gather(client.orders(KEY), client.orders(KEY))
    first, second = sorted(upstream.spans, key=lambda span: span[1])
    assert second[1] >= first[2]  # no overlap...
    assert second[1] - first[2] < 0.2  # ...and no extra min_interval (0.4) after a slow call finished


async def test_different_keys_run_in_parallel(make_client: MakeClient) -> None:
    client, upstream = make_client(ok([]), delay=0.3, min_interval=1.0)
    started = time.monotonic()
    await asyncio.gather(client.orders(KEY), client.orders(KEY2), client.get_countries())
    assert time.monotonic() - started < 0.6  # serialised it would take 0.9 s or more
    a, b, c = upstream.spans
    assert _overlap(a, b)
    assert _overlap(b, c)


async def test_keyless_calls_are_bounded_and_paced(make_client: MakeClient) -> None:
    client, upstream = make_client(ok([]), delay=0.2, min_interval=0.05)
    await asyncio.gather(*(client.get_services("RU", dcount=n) for n in range(1, 9)))
    spans = sorted(upstream.spans, key=lambda span: span[1])
    in_flight = max(sum(1 for other in spans if other[1] <= span[1] < other[2]) for span in spans)
    assert in_flight == 4
    for earlier, later in itertools.pairwise(spans):
        assert later[1] - earlier[1] >= 0.045  # starts spaced like a key's, even in parallel


async def test_catalog_interval_is_its_own_setting(make_client: MakeClient) -> None:
    client, _ = make_client(ok([]), min_interval=1.0, catalog_interval=0.0)
    started = time.monotonic()
    await asyncio.gather(*(client.get_countries() for _ in range(4)))
    assert time.monotonic() - started < 0.5


async def test_retries_queue_in_the_lane_again(make_client: MakeClient) -> None:
    client, upstream = make_client(server_error(), ok([]), min_interval=0.1, backoff=0.0)
    await client.orders(KEY)
    first, second = upstream.spans
    assert second[1] - first[1] >= 0.09


async def test_idle_lanes_are_dropped(make_client: MakeClient) -> None:
    client, _ = make_client(ok([]), min_interval=0.05)
    await asyncio.gather(*(client.orders(f"key-{n}") for n in range(50)), client.get_countries())
    assert len(client._lanes) <= 51  # 50 keys + the keyless lane
    await asyncio.sleep(0.1)
    assert client._lanes == {}
    no_spacing, _ = make_client(ok([]), min_interval=0.0)
    await no_spacing.orders(KEY)
    assert no_spacing._lanes == {}


async def test_cancelled_call_releases_the_lane(make_client: MakeClient) -> None:
    client, upstream = make_client(ok([]), delay=0.5)
    task = asyncio.create_task(client.orders(KEY))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    upstream.delay = 0.0
    assert await asyncio.wait_for(client.orders(KEY), 1.0) == []


# --------------------------------------------------------------------------- secrets and logs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"GET {URL}?method=orders&apikey={KEY}&id=1", f"GET {URL}?method=orders&apikey=***&id=1"),
        (
            f'HTTP Request: GET {URL}?apikey={KEY} "HTTP/1.1 200 OK"',
            f'HTTP Request: GET {URL}?apikey=*** "HTTP/1.1 200 OK"',
        ),
        (f"apikey={KEY}", "apikey=***"),
        (f"APIKEY={KEY} next", "APIKEY=*** next"),
        (f"{{'method': 'orders', 'apikey': '{KEY}'}}", "{'method': 'orders', 'apikey': '***'}"),
        (f'{{"apikey":"{KEY}"}}', '{"apikey":"***"}'),
        (f"api_key={KEY}&x=1", "api_key=***&x=1"),
        ("apikey=***", "apikey=***"),
        ("nothing to see", "nothing to see"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert KEY not in redact(text)


def test_filter_rewrites_args_tuples_dicts_urls_and_exceptions() -> None:
    flt = ApiKeyRedactingFilter()
    url = httpx.URL(URL, params={"method": "orders", "apikey": KEY})

    def record(msg: str, args: Any, exc: BaseException | None = None) -> logging.LogRecord:
        exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
        rec = logging.LogRecord("x", logging.INFO, __file__, 1, msg, args, exc_info)
        assert flt.filter(rec) is True
        return rec

    assert KEY not in record("HTTP Request: %s %s %d", ("GET", url, 200)).getMessage()
    assert record("n=%d url=%s", (3, url)).getMessage().startswith("n=3 url=")
    assert KEY not in record("%(url)s", ({"url": str(url)},)).getMessage()
    assert KEY not in record("%s", ({"apikey": KEY},)).getMessage()
    assert KEY not in record(f"inline {url}", None).getMessage()
    try:
        raise RuntimeError(f"failed for {url}")
    except RuntimeError as exc:
        rec = record("boom", None, exc)
    assert rec.exc_text is not None
    assert KEY not in rec.exc_text
    assert KEY not in logging.Formatter().format(rec)


async def test_no_api_key_in_any_log_record(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("", "httpx", "httpcore", "bot"):
        caplog.set_level(logging.DEBUG, logger=name)
    flt = install_redaction()
    try:
        assert install_redaction() is flt  # idempotent
        client, _ = make_client(
            ok([ORDER]),
            server_error(),
            refused("API KEY NOT FOUND!"),
            ok([{"text": "Code 123456", "sender": "FB", "date": 1}]),
            ok({"id": 1}),
            read_tries=1,
        )
        await client.orders(KEY)
        with pytest.raises(SmspvaUnavailable):
            await client.orders(KEY)
        with pytest.raises(SmspvaError) as refusal:
            await client.create(KEY, country="RU", service="opt6", dtype=PeriodType.WEEK, dcount=1)
        logging.getLogger("bot.handlers").error("upstream said no", exc_info=refusal.value)
        await client.sms(KEY, 40300)
        await client.delete(KEY, 40300)
    finally:
        uninstall_redaction(flt)

    messages = [record.getMessage() for record in caplog.records]
    assert messages, "nothing was logged: the test would prove nothing"
    # The client hands requests to the transport itself (no httpx.AsyncClient, so no "HTTP Request:"
    # line); the filter's handling of such URL lines is tested above.
    ours = [m for r, m in zip(caplog.records, messages, strict=True) if r.name == "bot.smspva"]
    assert any("method=orders" in m and "duration_ms=" in m and "outcome=ok" in m for m in ours)
    assert any("outcome=unavailable:http_status" in m for m in ours)
    assert any("outcome=refused:auth" in m for m in ours)
    for record, message in zip(caplog.records, messages, strict=True):
        assert KEY not in message, record.name
        assert KEY not in (record.exc_text or "")
    assert KEY not in caplog.text
    # our own lines never carry numbers or SMS text either
    assert not any("9096068511" in m or "123456" in m for m in ours)


# --------------------------------------------------------------------------- rate limits (issue item 1)

RATE_LIMIT_REPLIES = {
    "status0": lambda: refused("Too many requests. Please wait 5 seconds between queries"),
    "http429": lambda: httpx.Response(429, text="Too Many Requests"),
    "http429-json": lambda: httpx.Response(429, json={"status": 0, "msg": "Too many requests"}),
}


@pytest.mark.parametrize("variant", sorted(RATE_LIMIT_REPLIES))
async def test_rate_limited_read_is_retried_after_a_wider_pause(
    make_client: MakeClient, variant: str
) -> None:
    rejection = RATE_LIMIT_REPLIES[variant]()
    client, upstream = make_client(
        rejection, rejection, ok([ORDER]), read_tries=1, rate_limit_floor=0.1, rate_limit_max=1.0
    )
    orders = await client.orders(KEY)
    assert [order.id for order in orders] == [ORDER["id"]]  # read_tries=1: rate limits have their own budget
    first, second, third = sorted(upstream.spans, key=lambda span: span[1])
    assert second[1] - first[1] >= 0.09  # widened to the floor
    assert third[1] - second[1] >= 0.19  # and doubled
    assert client._lanes[KEY].interval < 0.2  # a success narrows it again
    assert client._lanes[KEY].interval >= 0.1 * 0.95**2 - 1e-9  # ...slowly


@pytest.mark.parametrize("variant", sorted(RATE_LIMIT_REPLIES))
async def test_rate_limit_is_never_a_bad_key_nor_a_refusal_of_a_read(
    make_client: MakeClient, variant: str
) -> None:
    client, upstream = make_client(RATE_LIMIT_REPLIES[variant](), rate_limit_floor=0.0, rate_limit_tries=3)
    with pytest.raises(SmspvaUnavailable) as caught:
        await client.orders(KEY)
    assert caught.value.reason == "rate_limited"
    assert len(upstream.requests) == 3


async def test_rate_limited_money_call_status0_is_a_clear_failure_never_retried(
    make_client: MakeClient,
) -> None:
    client, upstream = make_client(refused("Too many requests"), rate_limit_floor=0.0)
    with pytest.raises(SmspvaError) as caught:
        await client.create(KEY, country="RU", service="opt16", dtype=PeriodType.WEEK, dcount=1)
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert len(upstream.requests) == 1


async def test_rate_limited_money_call_http429_is_unclear_never_retried(make_client: MakeClient) -> None:
    client, upstream = make_client(httpx.Response(429, text="Too Many Requests"), rate_limit_floor=0.0)
    with pytest.raises(SmspvaUnavailable) as caught:
        await client.prolong(KEY, order_id=1, dtype=PeriodType.WEEK, dcount=1)
    assert caught.value.reason == "rate_limited"
    assert caught.value.request_sent is True  # the caller reconciles with orders
    assert caught.value.status_code == 429
    assert len(upstream.requests) == 1


async def test_rate_limit_widening_is_capped_and_never_below_min_interval(make_client: MakeClient) -> None:
    client, _ = make_client(
        refused("too many requests"), min_interval=0.05, rate_limit_floor=0.0, rate_limit_max=0.2
    )
    with pytest.raises(SmspvaUnavailable):
        await client.orders(KEY)
    assert client._lanes[KEY].interval == pytest.approx(0.2)  # 0.05 -> 0.1 -> 0.2 -> capped
    lane = client._lanes[KEY]
    lane.learned_until = 0.0  # the refused spacing is remembered for a while only
    for _ in range(200):
        client._narrow(lane, KEY)
    assert lane.interval == 0.05  # back to, never below, SMSPVA_MIN_INTERVAL_SECONDS


async def test_a_refused_spacing_is_kept_not_probed_again_and_again(make_client: MakeClient) -> None:
    """SMSPVA refusing calls closer than 0.06 s: after the first refusals the key keeps to that pace
    instead of narrowing into the limit every few calls (the old behaviour: one refusal in ~5)."""
    accepted: list[float] = []
    rejected: list[float] = []

    async def limited(request: httpx.Request) -> httpx.Response:
        now = time.monotonic()
        if accepted and now - accepted[-1] < 0.06:
            rejected.append(now)
            return refused("Too many requests")
        accepted.append(now)
        return ok([])

    client, _ = make_client(limited, rate_limit_floor=0.03, rate_limit_max=1.0)
    for _ in range(60):
        await client.orders(KEY)
    assert len(accepted) == 60
    assert 1 <= len(rejected) <= 4, rejected
    lane = client._lanes[KEY]
    assert lane.learned >= 0.06 * 0.95
    assert client.spacing(KEY) == lane.interval >= lane.learned


async def test_retry_after_is_honoured(make_client: MakeClient) -> None:
    client, upstream = make_client(
        httpx.Response(429, headers={"Retry-After": "0.3"}), ok([]), rate_limit_floor=0.0
    )
    await client.orders(KEY)
    first, second = sorted(upstream.spans, key=lambda span: span[1])
    assert second[1] - first[1] >= 0.29


async def test_keyless_calls_widen_their_own_lane(make_client: MakeClient) -> None:
    client, upstream = make_client(refused("Too many requests"), ok([]), rate_limit_floor=0.1)
    await client.get_countries()
    await client.orders(KEY)  # a key's lane is not slowed by the keyless one
    assert client._lanes[None].interval >= 0.09
    assert KEY not in client._lanes  # unwidened, and dropped at once (min_interval 0)
    assert len(upstream.requests) == 3


# --------------------------------------------------------------------------- refusal wording (item 3)


@pytest.mark.parametrize(
    ("msg", "kind"),
    [
        ("API KEY NOT FOUND!", ErrorKind.AUTH),
        ("Wrong API key", ErrorKind.AUTH),
        ("Invalid apikey", ErrorKind.AUTH),
        ("Unauthorized", ErrorKind.AUTH),
        ("Too many requests with this API key", ErrorKind.RATE_LIMITED),
        ("Rate limit exceeded for api key", ErrorKind.RATE_LIMITED),
        ("Your API key is fine but the service was not found", ErrorKind.NOT_FOUND),
        ("Use your api key from the profile; order is wrong", ErrorKind.OTHER),
        ("Ошибка: номер занят", ErrorKind.OTHER),
        ("Something unexpected happened", ErrorKind.OTHER),
    ],
)
async def test_only_a_clear_auth_signal_is_auth(make_client: MakeClient, msg: str, kind: ErrorKind) -> None:
    client, _ = make_client(refused(msg), rate_limit_tries=1)
    if kind is ErrorKind.RATE_LIMITED:
        with pytest.raises(SmspvaUnavailable):
            await client.orders(KEY)
        return
    with pytest.raises(SmspvaError) as caught:
        await client.orders(KEY)
    assert caught.value.kind is kind
    assert caught.value.msg == msg  # verbatim


def test_wordings_table_names_a_source_for_each_entry() -> None:
    from bot.smspva import WORDINGS

    assert {wording.kind for wording in WORDINGS} >= {ErrorKind.AUTH, ErrorKind.RATE_LIMITED}
    assert all(wording.source.strip() for wording in WORDINGS)
    auth = [index for index, w in enumerate(WORDINGS) if w.kind is ErrorKind.AUTH]
    limited = [index for index, w in enumerate(WORDINGS) if w.kind is ErrorKind.RATE_LIMITED]
    assert max(limited) < min(auth)  # a rate-limit text naming the key is never a bad key


@pytest.mark.parametrize(
    "body",
    [
        {"status": 0, "message": "API KEY NOT FOUND!"},
        {"status": 0, "error_msg": "API KEY NOT FOUND!"},
        {"status": 0, "error": "API KEY NOT FOUND!"},
        {"status": 0, "error": {"type": "x", "message": "API KEY NOT FOUND!"}},
        {"status": 0, "msg": "", "error_msg": "API KEY NOT FOUND!"},
    ],
)
async def test_refusal_text_from_message_error_msg_or_error(
    make_client: MakeClient, body: dict[str, Any]
) -> None:
    client, _ = make_client(httpx.Response(200, json=body))
    with pytest.raises(SmspvaError) as caught:
        await client.orders(KEY)
    assert caught.value.msg == "API KEY NOT FOUND!"
    assert caught.value.kind is ErrorKind.AUTH


# --------------------------------------------------------------------------- status 0 with data (item 4)

COUNTRY_ITEM = {"name": "Россия", "code": "RU"}


@pytest.mark.parametrize(
    ("method", "data", "check"),
    [
        ("get_countries", [COUNTRY_ITEM], lambda result: result[0].code == "RU"),
        (
            "get_services",
            {"services": [{"service": "opt46", "name": "Airbnb", "price_day": 6, "count": 359}]},
            lambda result: result.services[0].code == "opt46",
        ),
        (
            "sms",
            {"SmsList": [{"text": "Code 1", "sender": "A", "date": 1}], "OtherSms": []},
            lambda result: result.sms[0].text == "Code 1",
        ),
        (
            "restore_precalc",
            {"price": 3, "orderid": 7, "outdays": 1, "prolongTo": 30},
            lambda result: result.orderid == 7,
        ),
    ],
)
async def test_status0_with_data_on_a_read_uses_the_data_and_logs_once(
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    method: str,
    data: Any,
    check: Callable[[Any], bool],
) -> None:
    client, upstream = make_client(httpx.Response(200, json={"status": 0, "data": data}))
    args: tuple[Any, ...] = {
        "get_countries": (),
        "get_services": ("RU",),
        "sms": (KEY, 7),
        "restore_precalc": (KEY, 7),
    }[method]
    with caplog.at_level(logging.WARNING, logger="bot.smspva"):
        assert check(await getattr(client, method)(*args))
        assert check(await getattr(client, method)(*args))
    assert len(upstream.requests) == 2
    assert len([r for r in caplog.records if "status 0 with data" in r.getMessage()]) == 1


async def test_status0_with_malformed_or_empty_data_is_the_refusal(make_client: MakeClient) -> None:
    client, _ = make_client(
        httpx.Response(200, json={"status": 0, "msg": "Country not found", "data": {"services": 5}}),
        httpx.Response(200, json={"status": 0, "msg": "API KEY NOT FOUND!", "data": []}),
    )
    with pytest.raises(SmspvaError) as first:
        await client.get_services("XX")
    assert first.value.kind is ErrorKind.NOT_FOUND
    with pytest.raises(SmspvaError) as second:
        await client.orders(KEY)  # an empty list never reads as "no orders"
    assert second.value.kind is ErrorKind.AUTH


@pytest.mark.parametrize(
    ("call", "data"),
    [
        (lambda c: c.prolong(KEY, order_id=7, dtype=PeriodType.WEEK, dcount=1), {"id": 7}),
        (
            lambda c: c.create(KEY, country="RU", service="opt16", dtype=PeriodType.WEEK, dcount=1),
            [{"id": 8}],
        ),
        (lambda c: c.restore(KEY, 7), {"id": 7}),
        (lambda c: c.add_service_to_order(KEY, order_id=7, service="opt1", pnumber="7909"), {"id": 7}),
        (lambda c: c.delete(KEY, 7), {"id": 7}),
        (lambda c: c.activate(KEY, 7), [{"id": 7}]),
    ],
)
async def test_status0_with_data_on_a_money_call_is_unclear(
    make_client: MakeClient, call: Callable[[SmspvaClient], Awaitable[Any]], data: Any
) -> None:
    client, upstream = make_client(httpx.Response(200, json={"status": 0, "data": data}))
    with pytest.raises(SmspvaUnavailable) as caught:
        await call(client)
    assert caught.value.request_sent is True  # reconcile, never "failed"
    assert caught.value.reason == "status0_with_data"
    assert len(upstream.requests) == 1


# --------------------------------------------------------------------------- odd fields (item 5)


async def test_one_odd_field_never_drops_an_order(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    odd = {
        **ORDER,
        "id": "40370",
        "state": "online?",
        "hasnewsms": "Y",
        "canprolong": "2",
        "canprolongmax": "",
        "canprolonguntil": "soon",
        "lastonline": "2026-11-30 05:00:00",
        "pnumber": "+79096037108",
        "ccode": "+7",
    }
    del odd["cname"]
    client, _ = make_client(ok([odd, {**odd, "id": 2, "ccode": None, "pnumber": "+447700900123"}]))
    with caplog.at_level(logging.WARNING, logger="bot.smspva"):
        first, second = await client.orders(KEY)
    assert first.id == 40370
    assert first.state == -99
    assert first.state_enum is None
    assert first.hasnewsms is True
    assert first.canprolong is True
    assert first.canprolongmax is None
    assert first.canprolonguntil is None
    assert first.lastonline == 1796014800  # a date string, read as UTC
    assert first.pnumber == "9096037108"
    assert first.full_number == "+7 9096037108"
    assert first.pnumber_with_code == "79096037108"
    assert second.pnumber_with_code == "447700900123"  # no ccode: the "+" number is kept whole
    assert "+447700900123" in second.full_number
    logged = [r.getMessage() for r in caplog.records if "odd field" in r.getMessage()]
    assert len(logged) == len(set(logged))  # once per kind
    assert not any("9096037108" in line for line in logged)


@pytest.mark.parametrize(
    ("item", "date", "sender"),
    [
        ({"text": "Code 1"}, None, ""),
        ({"text": "Code 1", "date": "2026-11-30 05:00:00"}, 1796014800, ""),
        ({"text": "Code 1", "date": "1796014800", "sender": "X"}, 1796014800, "X"),
        ({"text": "Code 1", "date": "garbage", "sender": 42}, None, "42"),
    ],
)
async def test_an_sms_without_date_or_sender_is_still_an_sms(
    make_client: MakeClient, item: dict[str, Any], date: int | None, sender: str
) -> None:
    client, _ = make_client(ok({"SmsList": [item], "OtherSms": [item]}))
    batch = await client.sms(KEY, 1)
    assert [(s.text, s.date, s.sender) for s in batch.sms] == [("Code 1", date, sender)]
    assert len(batch.other) == 1


async def test_countries_typed_as_strings_by_the_sdk(make_client: MakeClient) -> None:
    client, _ = make_client(
        ok([{"name": "United Kingdom", "code": "UK", "rent_switch_type": "1", "rent_avail_prolong": "Y"}])
    )
    (country,) = await client.get_countries()
    assert (country.code, country.rent_avail_prolong) == ("UK", True)


# --------------------------------------------------------------------------- add_service_to_order data (item 7)


@pytest.mark.parametrize(
    ("data", "expected_id", "until"),
    [
        ({"id": 3004, "pnumber": "79096037108", "service": "opt89", "until": 1796014800}, 3004, 1796014800),
        (
            {"id": "5151", "pnumber": "79096037108", "service": "opt89", "until": "1796014800"},
            5151,
            1796014800,
        ),
        ([{"id": 5151, "service": "opt89"}], 5151, None),
        ({"service": "opt89"}, 3004, None),
        ({"id": "not a number"}, 3004, None),
    ],
)
async def test_add_service_to_order_returns_the_order_that_holds_the_service(
    make_client: MakeClient, data: Any, expected_id: int, until: int | None
) -> None:
    client, _ = make_client(ok(data))
    added = await client.add_service_to_order(KEY, order_id=3004, service="opt89", pnumber="+7 909 603 71 08")
    assert added.id == expected_id
    assert added.requested_id == 3004
    assert added.moved is (expected_id != 3004)
    assert added.until == until
    assert "79096037108" not in repr(added)


# --------------------------------------------------------------------------- default shapes (item 6)


async def test_default_shapes_of_sdk_docs_and_clients(make_client: MakeClient) -> None:
    client, _ = make_client(
        ok(
            {
                "services": [
                    {
                        "name": "Airbnb",
                        "service": "opt46",
                        "price_day": 6.0,
                        "count": 359,
                        "img": "x",
                        "procent_days": 7,
                        "procent": 0,
                        "day_step": 7.0,
                    }
                ],
                "totalAmount": 42,
            }
        ),
        ok(
            {
                "SmsList": [{"text": "Code 1", "sender": "A", "date": 1}],
                "OtherSms": [{"text": "O", "date": 2}],
            }
        ),
        ok(
            [{"id": 40370, "pnumber": "9096037108", "ccode": "+7", "service": "opt46", "until": "1796014800"}]
        ),
        ok([{"id": 40370}]),
    )
    catalog = await client.get_services("RU")
    assert catalog.total_amount == 42
    assert catalog.services[0].price_day == Decimal("6.0")
    batch = await client.sms(KEY, 40370)
    assert (len(batch.sms), len(batch.other)) == (1, 1)
    created = await client.create(KEY, country="RU", service="opt46", dtype=PeriodType.WEEK, dcount=1)
    assert (created.id, created.until) == (40370, 1796014800)
    assert await client.activate(KEY, 40370) == 40370


# --------------------------------------------------------------------------- the key on getdata (item 8)


async def test_getdata_sends_the_users_key_when_given(make_client: MakeClient) -> None:
    client, upstream = make_client(ok([]))
    await client.get_services("RU", apikey=KEY)
    assert upstream.params["apikey"] == KEY
    await client.get_services("RU")
    assert "apikey" not in upstream.params  # keyless only before a key is linked
