"""A faithful fake of the SMSPVA rent API (``https://smspva.com/api/rent.php``) served by aiohttp.

Source of truth: the public rent page (its "General" API notes, every documented method and field, the FAQ
rules: prolongation only with less than 7 days left, at most 90 days of rent, restore price = overdue days
at full price + 30 days paid ahead). Where the page is silent the choice is marked "Assumption" below.

Everything is ``GET /api/rent.php?method=...``; answers are HTTP 200 with ``{"status": 1, "data": ...}`` or
``{"status": 0, "msg": "..."}``; any other HTTP verb gets 405. Time-dependent state (activation, expiry)
is computed lazily from the fake's clock (``now()``, shiftable with ``clock_offset``) on every access, so
there are no background tasks. Faults (HTTP 500, timeouts, bad JSON, status 0, dropped connections) and
response-shape variants seen on the live API can be switched on per test.

Run it by hand: ``python -m tests.fakes.smspva --port 8090 --apikey demo-key --balance 50``; then e.g.
``curl 'http://127.0.0.1:8090/_admin/inject_sms?id=40370&text=Code+123456'``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from types import TracebackType
from typing import Any

from aiohttp import web

__all__ = [
    "Account",
    "Call",
    "Country",
    "FakeSmspva",
    "HistoryItem",
    "Order",
    "RateLimit",
    "Service",
    "Sms",
    "Variants",
    "main",
]

DAY = 86_400
MAX_RENT_DAYS = 90  # FAQ: "the maximum rental period is 90 days"
PROLONG_WINDOW_DAYS = 7  # FAQ: prolongation only when less than 7 days remain
RESTORE_PREPAY_DAYS = 30  # FAQ: restore = overdue days (no discount) + 30 days paid ahead
FIRST_ORDER_ID = 40370  # the id in the page's "create" example
CENT = Decimal("0.01")
FAULT_KINDS = frozenset({"500", "timeout", "timeout_after", "invalid_json", "status0", "disconnect"})

# Assumption: the live wording for a missing/unknown key is not documented; this is the old SMSPVA API's.
MSG_BAD_KEY = "API KEY NOT FOUND!"
MSG_WRONG_PARAMS = "Wrong parameters"
MSG_UNKNOWN_METHOD = "Unknown method"
MSG_COUNTRY_NOT_FOUND = "Country not found"
MSG_SERVICE_NOT_FOUND = "Service not found"
MSG_ORDER_NOT_FOUND = "Order not found"
MSG_NO_NUMBERS = "No free numbers"
MSG_NO_BALANCE = "Balance is not enough"
MSG_MAX_PERIOD = "Maximum rental period is 90 days"
MSG_PROLONG_NOT_YET = "Prolongation is available only when less than 7 days remain"
MSG_WRONG_PHONE = "Wrong phone number"
MSG_SERVICE_ADDED = "Service already added"
MSG_ALREADY_ACTIVE = "Number is already active"
MSG_ACTIVATING = "Number is activating"
MSG_NOT_IN_SYSTEM = "Phone number not in the system"  # state -1; assumption, wording not documented

# (code, name, digital code, price factor against RU) -- names as the Russian-language site gives them.
# The live list uses codes that are not ISO 3166: "UK" for the United Kingdom (ISO: GB) and "EN", the code
# seen in the page's get_rent_history example.
_COUNTRIES: tuple[tuple[str, str, str, str], ...] = (
    ("RU", "Россия", "+7", "1"),
    ("KZ", "Казахстан", "+7", "0.9"),
    ("UA", "Украина", "+380", "0.9"),
    ("UK", "Великобритания", "+44", "1.5"),
    ("EN", "Англия", "+44", "1.5"),
    ("US", "США", "+1", "1.4"),
    ("DE", "Германия", "+49", "1.3"),
    ("FR", "Франция", "+33", "1.3"),
    ("NL", "Нидерланды", "+31", "1.3"),
    ("PL", "Польша", "+48", "1.1"),
    ("EE", "Эстония", "+372", "1.2"),
    ("ID", "Индонезия", "+62", "0.8"),
    ("PH", "Филиппины", "+63", "0.8"),
)
# (code, name, RU price per day, RU count); prices elsewhere are scaled by the country's factor.
_SERVICES: tuple[tuple[str, str, str, int], ...] = (
    ("opt46", "Airbnb", "6", 359),  # the page's getdata example
    ("opt16", "Instagram", "1.2", 214),
    ("opt29", "Telegram", "2.5", 87),
    ("opt20", "WhatsApp", "1.5", 142),
    ("opt2", "Facebook", "0.8", 301),
    ("opt1", "Google/Gmail", "0.5", 412),
    ("opt69", "VK", "0.35", 520),
    ("opt59", "Avito", "0.6", 96),
    ("opt15", "Microsoft", "0.4", 233),
    ("opt41", "Twitter", "0.45", 178),
    ("opt9", "Tinder", "0.9", 0),
    ("opt72", "Uber", "0.7", 0),
    ("opt45", "Discord", "0.3", 265),
    ("opt19", "Other", "1", 640),
)
_CIS_ONLY = frozenset({"opt69", "opt59"})  # VK and Avito are only offered for RU, KZ, UA
_CIS = frozenset({"RU", "KZ", "UA"})
_SERVICE_NAMES = {code: name for code, name, _, _ in _SERVICES}


class _ApiError(Exception):
    """A rule said no: becomes ``{"status": 0, "msg": msg}``."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


@dataclass
class Call:
    """One request that reached ``/api/rent.php`` (``http_method`` is an addition: 405s are logged too)."""

    method: str
    params: dict[str, str]
    at: float
    http_method: str = "GET"
    rate_limited: bool = False  # rejected by the rate-limit mode: nothing was done


@dataclass
class Sms:
    text: str
    sender: str
    date: int


@dataclass
class Service:
    code: str
    name: str
    price_day: Decimal  # full price per day, before the long-period discount
    count: int


@dataclass
class Country:
    code: str
    name: str
    ccode: str  # digital code with "+", e.g. "+7"
    services: dict[str, Service]


@dataclass
class Account:
    apikey: str
    balance: Decimal
    order_ids: list[int] = field(default_factory=list)  # live orders
    history_ids: list[int] = field(default_factory=list)  # archived orders
    spent: Decimal = Decimal(0)
    # Account-specific prices (docs.smspva.com marks apikey as required on getdata: prices may depend on
    # the account). Assumption: one factor on every price this account sees and pays; 1 = list prices.
    price_factor: Decimal = Decimal(1)


@dataclass
class Order:
    id: int
    apikey: str
    country: str
    ccode: str
    pnumber: str  # without the country code
    services: list[str]
    state: int  # 0 not active, 1 active, 2 activating, -1 not in the system
    until: int
    begin: int
    lastonline: int
    hasnewsms: bool = False
    sms: list[Sms] = field(default_factory=list)
    other_sms: list[Sms] = field(default_factory=list)  # SMS that came for another service
    price_day: Decimal | None = None  # fixed full price per day; None -> the catalogue's current prices
    canprolong: bool | None = None  # forced "canprolong"; None -> computed from until
    activated_at: float | None = None  # fake-clock time of the running activation, if any

    @property
    def number(self) -> str:
        """The number with its country code and without "+", as add_service_to_order wants it."""
        return self.ccode.lstrip("+") + self.pnumber


@dataclass
class HistoryItem:
    """An archived order: expired (closed at ``end``) or deleted (closed before ``end``)."""

    order: Order
    end: int
    closed: int
    restorable: bool = True
    branch_id: int = 0

    @property
    def order_id(self) -> int:
        return self.order.id


@dataclass
class Variants:
    """Response shapes. The defaults are the shapes SMSPVA's SDK (``smspva-sdk``), docs.smspva.com and the
    independent clients read: ``getdata`` as an object, ``sms`` as SmsList/OtherSms, ``create`` and
    ``activate`` data as lists, ``add_service_to_order`` data as ``{id, pnumber, service, until}``.
    :meth:`page` gives the rent page's flat samples instead; the other knobs are oddities, off by default.
    """

    # --- shapes: on = SDK/docs/clients (default), off = the rent page's samples (see page())
    getdata_object: bool = True  # {"services": [...], "totalAmount": ...}, richer items; off: a flat list
    sms_object: bool = True  # {"SmsList": [...], "OtherSms": [...]}; off: a flat list, OtherSms invisible
    create_list: bool = True  # create data is a one-element list; off: an object
    activate_list: bool = True  # activate data is [{"id": ...}]; off: {"id": ...}
    add_service_data: bool = True  # add_service_to_order data {id, pnumber, service, until}; off: no data
    # --- oddities
    status_as_str: bool = False  # "status": "1" / "0"
    until_str: bool = False  # every timestamp (until, canprolonguntil, lastonline, date, ...) as a string
    restore_object: bool = False  # restore_user data is {"id": ..., "until": ...} instead of true
    # Odd fields (issue "Speak the real SMSPVA" item 5): every one must leave the item readable.
    odd_fields: bool = False  # orders: ids/states as strings, flags "Y"/"N", pnumber "+<code><number>"
    #   without ccode, lastonline as a date string, canprolongmax ""; countries: flags "Y"/"N", strings
    sms_odd: bool = False  # SMS items: date as a "YYYY-MM-DD HH:MM:SS" (UTC) string, no sender
    sms_no_date: bool = False  # SMS items without date
    # with sms_odd: the date string is written in a zone this many hours off UTC (still no zone in it)
    sms_date_zone_hours: int = 0

    # add_service_to_order rents the service as a new order (new id, same number) and answers that id
    add_service_new_order: bool = False
    # a service added in place takes over the SMS that came for it: OtherSms move to SmsList (the fake
    # does not know which service an other SMS was for, so all of them move)
    add_service_moves_other_sms: bool = False
    # restore_user reopens the number under a new order id (the page does not say the id is kept)
    restore_new_id: bool = False

    @classmethod
    def all_on(cls) -> Variants:
        return cls(**{f.name: True for f in fields(cls)})

    @classmethod
    def page(cls) -> Variants:
        """The rent page's flat sample shapes (and nothing odd)."""
        return cls(
            getdata_object=False,
            sms_object=False,
            create_list=False,
            activate_list=False,
            add_service_data=False,
        )

    @classmethod
    def named(cls, name: str) -> Variants:
        """ "sdk" (the default shapes) or "page" (the rent page's flat ones)."""
        if name == "sdk":
            return cls()
        if name == "page":
            return cls.page()
        raise ValueError(f"unknown shape {name!r}, expected 'sdk' or 'page'")


RATE_LIMIT_MODES = frozenset({"status0", "429"})
MSG_TOO_MANY = "Too many requests. Please wait a few seconds between queries"  # assumed wording


@dataclass
class RateLimit:
    """SMSPVA's docs ask for 4-5 s between queries and say faster clients are rejected. A call made with
    one key (keyless calls share one bucket) less than ``interval`` seconds after that key's last
    *accepted* call is rejected and not applied: ``status0`` answers ``{"status": 0, "msg": msg}``,
    ``429`` answers HTTP 429 with the same JSON body and ``Retry-After``."""

    interval: float
    mode: str = "status0"
    msg: str = MSG_TOO_MANY


@dataclass
class _Fault:
    kind: str
    method: str | None
    msg: str
    remaining: int | None = None  # fail_next: calls left
    deadline: float | None = None  # fail_for: time.monotonic() when it ends (real time, not the fake clock)


def _dec(value: Decimal | float | str) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _discount_percent(days: int) -> int:
    """Assumption: the site's long-period discount steps (the page only shows that one exists)."""
    if days >= 60:
        return 15
    if days >= 30:
        return 10
    if days >= 14:
        return 5
    return 0


def _discounted(price_day: Decimal, days: int) -> Decimal:
    return (price_day * (100 - _discount_percent(days)) / 100).quantize(CENT)


def _json_default(value: object) -> int | float:
    if isinstance(value, Decimal):
        cents = value.quantize(CENT)
        return int(cents) if cents == cents.to_integral_value() else float(cents)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _account_price(account: Account | None, price_day: Decimal, days: int) -> Decimal:
    """Price per day for ``days`` as ``account`` sees it (keyless: list prices)."""
    discounted = _discounted(price_day, days)
    if account is None or account.price_factor == 1:
        return discounted
    return (discounted * account.price_factor).quantize(CENT)


def _int_param(params: dict[str, str], name: str, default: int | None = None, *, minimum: int = 0) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        if default is None:
            raise _ApiError(MSG_WRONG_PARAMS)
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _ApiError(MSG_WRONG_PARAMS) from None
    if value < minimum:
        raise _ApiError(MSG_WRONG_PARAMS)
    return value


def _period_days(params: dict[str, str]) -> int:
    """Days of the ``dtype``/``dcount`` period (week and 1 by default), capped at 90."""
    dtype = params.get("dtype") or "week"
    if dtype not in ("week", "month"):
        raise _ApiError(MSG_WRONG_PARAMS)
    days = (7 if dtype == "week" else 30) * _int_param(params, "dcount", 1, minimum=1)
    if days > MAX_RENT_DAYS:
        raise _ApiError(MSG_MAX_PERIOD)
    return days


def _seed_countries(rng: random.Random) -> dict[str, Country]:
    countries: dict[str, Country] = {}
    for code, name, ccode, factor in _COUNTRIES:
        services: dict[str, Service] = {}
        for scode, sname, price, ru_count in _SERVICES:
            if scode in _CIS_ONLY and code not in _CIS:
                continue
            price_day = max((Decimal(price) * Decimal(factor)).quantize(CENT), CENT)
            count = ru_count if code == "RU" else rng.randint(5, 400)
            services[scode] = Service(scode, sname, price_day, count)
        countries[code] = Country(code, name, ccode, services)
    return countries


_Handler = Callable[[dict[str, str], Account], dict[str, Any]]


class FakeSmspva:
    """The SMSPVA rent API with its rules, a call log, fault injection and shape variants.

    Setup helpers (``add_account``, ``add_order``, ``inject_sms``...) act directly on the state and raise
    ``KeyError`` for unknown accounts or orders: a typo in a test should fail loudly.
    """

    def __init__(
        self, *, activation_delay: float = 2.0, online_duration: float = 600.0, seed: int = FIRST_ORDER_ID
    ) -> None:
        self.activation_delay = activation_delay
        self.online_duration = online_duration
        self.latency = 0.0
        self.timeout_sleep = 30.0
        self.clock_offset = 0.0
        self.variants = Variants()
        self.rate_limit: RateLimit | None = None
        # Methods that answer {"status": 0, "data": ...} although they worked, as docs.smspva.com shows for
        # getcountries, getdata, sms, prolong and restore_user_precalc (the call still takes effect).
        self.status0_with_data: set[str] = set()
        self._last_accepted: dict[str, float] = {}
        self.url = ""
        self.balance_url = ""  # SMSPVA's activation API balance endpoint (apikey header)
        self.balance_fails = False  # True: the balance endpoint answers HTTP 500
        self.calls: list[Call] = []
        self.balance_calls: list[Call] = []
        self.accounts: dict[str, Account] = {}
        self.orders: dict[int, Order] = {}
        self.history: dict[int, HistoryItem] = {}
        self._rng = random.Random(seed)
        self.countries = _seed_countries(self._rng)
        self._next_id = FIRST_ORDER_ID
        self._numbers: set[str] = set()
        self._restore_errors: dict[int, str] = {}
        self._faults: list[_Fault] = []
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._keyed: dict[str, _Handler] = {
            "create": self._create,
            "orders": self._orders,
            "activate": self._activate,
            "sms": self._sms,
            "add_service_to_order": self._add_service,
            "prolong": self._prolong,
            "delete": self._delete,
            "get_rent_history": self._rent_history,
            "restore_user_precalc": self._restore_precalc,
            "restore_user": self._restore,
        }

    # ----------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = any free port); return the API URL, also kept in ``url``."""
        if self._runner is not None:
            raise RuntimeError("FakeSmspva is already running")
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/rent.php", self._handle_api)
        app.router.add_route("GET", "/activation/balance", self._handle_balance)
        app.router.add_route("*", "/_admin/{action}", self._handle_admin)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_port = runner.addresses[0][1]
        shown_host = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown_host}:{bound_port}/api/rent.php"
        self.balance_url = f"http://{shown_host}:{bound_port}/activation/balance"
        return self.url

    async def stop(self) -> None:
        """Stop serving; requests held by latency or a "timeout" fault are released first."""
        self._stopping.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeSmspva:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # ----------------------------------------------------------------- clock and call log

    def now(self) -> int:
        """The fake's Unix time: the real one plus ``clock_offset``."""
        return int(self._now_f())

    def _now_f(self) -> float:
        return time.time() + self.clock_offset

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    # ----------------------------------------------------------------- setup helpers

    def add_account(
        self, apikey: str, balance: Decimal | float = 100, *, price_factor: Decimal | float = 1
    ) -> Account:
        account = Account(apikey, _dec(balance), price_factor=_dec(price_factor))
        self.accounts[apikey] = account
        return account

    def balance(self, apikey: str) -> Decimal:
        return self.accounts[apikey].balance

    def set_count(self, country: str, service: str, count: int) -> None:
        self._catalog_service(country, service).count = count

    def set_price(self, country: str, service: str, price_day: Decimal | float) -> None:
        self._catalog_service(country, service).price_day = _dec(price_day)

    def add_order(
        self,
        apikey: str,
        *,
        country: str = "RU",
        service: str = "opt16",
        state: int = 0,
        until: int | None = None,
        days_left: float | None = None,
        pnumber: str | None = None,
        canprolong: bool | None = None,
        price_day: Decimal | float | None = None,
    ) -> Order:
        """A live order, as if rented earlier; by default 7 days left."""
        now = self.now()
        if until is None:
            until = now + int((PROLONG_WINDOW_DAYS if days_left is None else days_left) * DAY)
        order = self._build_order(apikey, country, service, begin=now, until=until, pnumber=pnumber)
        order.state = state
        order.canprolong = canprolong
        order.price_day = None if price_day is None else _dec(price_day)
        self._open(order)
        return order

    def order(self, order_id: int) -> Order:
        """A live order with its time-dependent state brought up to date."""
        self._sweep()
        return self.orders[order_id]

    def inject_sms(
        self,
        order_id: int,
        text: str,
        sender: str = "FACEBOOK",
        *,
        date: int | None = None,
        other: bool = False,
    ) -> Sms:
        """Deliver an SMS to a live order (``other=True``: one that came for another service)."""
        order = self.orders[order_id]
        sms = Sms(text, sender, self.now() if date is None else date)
        (order.other_sms if other else order.sms).append(sms)
        order.hasnewsms = True
        return sms

    def set_state(self, order_id: int, state: int) -> None:
        """Force a state; stops any running activation cycle."""
        order = self.orders[order_id]
        order.state = state
        order.activated_at = None
        if state == 1:
            order.lastonline = self.now()

    def expire_order(self, order_id: int, *, days_ago: float = 1) -> None:
        """Make a live order have expired ``days_ago`` and move it to the archive."""
        order = self.orders[order_id]
        end = self.now() - int(days_ago * DAY)
        order.until = end
        order.begin = min(order.begin, end - PROLONG_WINDOW_DAYS * DAY)  # history rows keep end >= begin
        order.lastonline = min(order.lastonline, end)
        self._archive(order, end=end, closed=end)

    def add_history(
        self,
        apikey: str,
        *,
        count: int = 1,
        restorable: bool = True,
        country: str = "RU",
        service: str = "opt16",
        outdays: int = 5,
        price_day: Decimal | float | None = None,
    ) -> list[HistoryItem]:
        """Archived orders that expired ``outdays`` days ago (each following one a minute earlier)."""
        items: list[HistoryItem] = []
        base_end = self.now() - outdays * DAY
        for i in range(count):
            end = base_end - i * 60
            order = self._build_order(apikey, country, service, begin=end - 7 * DAY, until=end, pnumber=None)
            order.price_day = None if price_day is None else _dec(price_day)
            if i % 2 == 0:
                order.sms.append(Sms(f"Your code: {order.id % 1_000_000:06d}", "FACEBOOK", end - 6 * DAY))
            item = HistoryItem(order, end=end, closed=end, restorable=restorable)
            self._store_history(item)
            items.append(item)
        return items

    def set_restore_error(self, order_id: int, code: str) -> None:
        """Make restore_user_precalc and restore_user answer status 0 with ``code`` for this order."""
        self._restore_errors[order_id] = code

    # ----------------------------------------------------------------- fault injection

    def fail_next(
        self, kind: str, *, method: str | None = None, count: int = 1, msg: str = "Unknown error"
    ) -> None:
        """The next ``count`` calls (of ``method``, or of any method) fail with ``kind``."""
        self._check_kind(kind)
        if count < 1:
            raise ValueError("count must be at least 1")
        self._faults.append(_Fault(kind, method, msg, remaining=count))

    def fail_for(
        self, kind: str, seconds: float, *, method: str | None = None, msg: str = "Unknown error"
    ) -> None:
        """Every matching call fails with ``kind`` for the next ``seconds`` of real time."""
        self._check_kind(kind)
        self._faults.append(_Fault(kind, method, msg, deadline=time.monotonic() + seconds))

    def clear_faults(self) -> None:
        self._faults.clear()

    def set_rate_limit(
        self, interval: float | None, *, mode: str = "status0", msg: str = MSG_TOO_MANY
    ) -> None:
        """Reject calls made with one key less than ``interval`` seconds after its last accepted one (None:
        off). The last call of every key counts, also the ones made before the limit was switched on."""
        if mode not in RATE_LIMIT_MODES:
            raise ValueError(f"unknown rate-limit mode {mode!r}, expected one of {sorted(RATE_LIMIT_MODES)}")
        self.rate_limit = None if interval is None else RateLimit(interval, mode, msg)

    def rate_limited_calls(self) -> list[Call]:
        return [call for call in self.calls if call.rate_limited]

    def _rate_limited(self, call: Call) -> web.Response | None:
        limit = self.rate_limit
        bucket = call.params.get("apikey", "")
        now = time.monotonic()
        last = self._last_accepted.get(bucket)
        if limit is not None and last is not None and now - last < limit.interval:
            call.rate_limited = True
            body = {"status": 0, "msg": limit.msg}
            if limit.mode == "429":
                wait = f"{max(0.0, limit.interval - (now - last)):.2f}"
                return web.json_response(body, status=429, headers={"Retry-After": wait})
            return self._respond(body)
        self._last_accepted[bucket] = now
        return None

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}, expected one of {sorted(FAULT_KINDS)}")

    def _take_fault(self, method: str) -> _Fault | None:
        now = time.monotonic()
        self._faults = [f for f in self._faults if f.deadline is None or f.deadline > now]
        for fault in self._faults:
            if fault.method is not None and fault.method != method:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    # ----------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        method = params.get("method", "")
        call = Call(method, params, self._now_f(), request.method)
        self.calls.append(call)
        if request.method != "GET":
            return web.json_response(
                {"status": 0, "msg": "Only GET requests are accepted"}, status=405, headers={"Allow": "GET"}
            )
        await self._pause(self.latency)
        rejection = self._rate_limited(call)
        if rejection is not None:
            return rejection
        fault = self._take_fault(method)
        if fault is not None:
            if fault.kind == "500":
                html = "<html><body><h1>500 Internal Server Error</h1></body></html>"
                return web.Response(status=500, text=html, content_type="text/html")
            if fault.kind == "invalid_json":
                return web.Response(text="<html>oops", content_type="text/html")
            if fault.kind == "status0":
                return self._respond({"status": 0, "msg": fault.msg})
            if fault.kind == "timeout_after":
                # The call takes effect upstream, but the answer comes far too late: the case where a
                # client cannot know whether its money-moving call went through.
                answer = self._answer(method, params)
                await self._pause(self.timeout_sleep)
                if request.transport is not None and self._stopping.is_set():
                    request.transport.close()
                return self._respond(answer)
            if fault.kind == "disconnect":
                if request.transport is not None:
                    request.transport.close()
                return web.Response()  # never reaches the client
            await self._pause(self.timeout_sleep)  # "timeout": answer normally, but far too late
            if self._stopping.is_set():  # drop it rather than act on a call nobody waits for any more
                if request.transport is not None:
                    request.transport.close()
                return web.Response()
        answer = self._answer(method, params)
        if method in self.status0_with_data and answer.get("status") == 1 and answer.get("data") is not None:
            answer = {**answer, "status": 0}
        return self._respond(answer)

    async def _handle_balance(self, request: web.Request) -> web.Response:
        """``GET /activation/balance`` with the header ``apikey``, as smspva-sdk's activation client calls
        it: ``{"statusCode": 200, "data": {"balance": "12.34"}}`` — the same accounts (and balances the
        rent charges debit) as the rent API. Logged in ``balance_calls`` (``calls`` is the rent API's)."""
        apikey = request.headers.get("apikey", "")
        self.balance_calls.append(Call("balance", {"apikey": apikey}, self._now_f(), request.method))
        await self._pause(self.latency)
        if self.balance_fails:
            return web.Response(status=500, text="<html>500</html>", content_type="text/html")
        account = self.accounts.get(apikey)
        if account is None:
            # Assumption: an unknown key is a 401 in the same envelope (the SDK only reads statusCode).
            return web.json_response({"statusCode": 401, "error": "Unauthorized"}, status=401)
        return web.json_response({"statusCode": 200, "data": {"balance": f"{account.balance:.2f}"}})

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up at once when the server is stopping."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    def _respond(self, body: dict[str, Any]) -> web.Response:
        if self.variants.status_as_str:
            body = {**body, "status": str(body["status"])}
        text = json.dumps(body, default=_json_default, ensure_ascii=False)
        return web.Response(text=text, content_type="application/json")

    def _answer(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            if method == "getcountries":
                return self._ok(self._getcountries())
            if method == "getdata":
                # Keyless getdata answers list prices; with a key, that account's (an unknown key is refused).
                if params.get("apikey") and params["apikey"] not in self.accounts:
                    raise _ApiError(MSG_BAD_KEY)
                return self._ok(self._getdata(params, self.accounts.get(params.get("apikey", ""))))
            handler = self._keyed.get(method)
            if handler is None:
                raise _ApiError(MSG_UNKNOWN_METHOD)
            account = self.accounts.get(params.get("apikey", ""))
            if account is None:
                raise _ApiError(MSG_BAD_KEY)
            self._sweep()
            return handler(params, account)
        except _ApiError as err:
            return {"status": 0, "msg": err.msg}

    @staticmethod
    def _ok(data: Any) -> dict[str, Any]:
        return {"status": 1, "data": data}

    def _ts(self, value: int) -> int | str:
        return str(value) if self.variants.until_str else value

    # ----------------------------------------------------------------- methods

    def _getcountries(self) -> list[dict[str, Any]]:
        if self.variants.odd_fields:  # as smspva-sdk types them: every field a string
            return [
                {"name": c.name, "code": c.code, "rent_switch_type": "1", "rent_avail_prolong": "Y"}
                for c in self.countries.values()
            ]
        return [
            {"name": c.name, "code": c.code, "rent_switch_type": 1, "rent_avail_prolong": True}
            for c in self.countries.values()
        ]

    def _getdata(self, params: dict[str, str], account: Account | None = None) -> Any:
        country = self._country(params.get("country", ""))
        days = _period_days(params)
        step = 30 if params.get("dtype") == "month" else 7
        items: list[dict[str, Any]] = []
        total = Decimal(0)
        for svc in country.services.values():
            price = _account_price(account, svc.price_day, days)
            item: dict[str, Any] = {
                "name": svc.name,
                "service": svc.code,
                "price_day": price,
                "count": svc.count,
            }
            if self.variants.getdata_object:
                item |= {
                    "procent_days": days,
                    "procent": _discount_percent(days),
                    "day_step": step,
                    "img": f"/img/services/{svc.code}.png",
                }
            total += price * days
            items.append(item)
        if self.variants.getdata_object:
            # Assumption: totalAmount = sum of every service's price for the whole period.
            return {"services": items, "totalAmount": total}
        return items

    def _create(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        country = self._country(params.get("country", ""))
        svc = country.services.get(params.get("service", ""))
        if svc is None:
            raise _ApiError(MSG_SERVICE_NOT_FOUND)
        days = _period_days(params)
        if svc.count <= 0:
            raise _ApiError(MSG_NO_NUMBERS)
        self._debit(account, _account_price(account, svc.price_day, days) * days, MSG_NO_BALANCE)
        svc.count -= 1
        now = self.now()
        order = self._build_order(account.apikey, country.code, svc.code, begin=now, until=now + days * DAY)
        self._open(order)
        data = {
            "id": order.id,
            "pnumber": order.pnumber,
            "ccode": order.ccode,
            "service": svc.code,
            "until": self._ts(order.until),
        }
        return self._ok([data] if self.variants.create_list else data)

    def _orders(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        now = self.now()
        cap = now + MAX_RENT_DAYS * DAY
        data = []
        for order_id in sorted(account.order_ids):
            order = self.orders[order_id]
            data.append(
                {
                    "id": order.id,
                    # Assumption: an order with several services lists their codes and names joined by ",".
                    "scode": ",".join(order.services),
                    "sname": ",".join(self._service_name(order.country, s) for s in order.services),
                    "state": order.state,
                    "pnumber": order.pnumber,
                    "ccode": order.ccode,
                    "cname": order.country,
                    "hasnewsms": order.hasnewsms,
                    "until": self._ts(order.until),
                    "canprolong": self._can_prolong(order),
                    "canprolongmax": max(0, (cap - order.until) // DAY),
                    "canprolonguntil": self._ts(cap),
                    "lastonline": self._ts(order.lastonline),
                }
            )
            if self.variants.odd_fields:
                item = data[-1]
                item.update(
                    id=str(order.id),
                    state=str(order.state),
                    pnumber=f"+{order.number}",
                    hasnewsms="Y" if order.hasnewsms else "N",
                    canprolong="Y" if self._can_prolong(order) else "N",
                    canprolongmax="",
                    lastonline=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(order.lastonline)),
                )
                del item["ccode"]
        return self._ok(data)

    def _activate(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        order = self._own_order(params, account)
        if order.state == 1:
            raise _ApiError(MSG_ALREADY_ACTIVE)
        if order.state == 2:
            raise _ApiError(MSG_ACTIVATING)
        if order.state != 0:
            raise _ApiError(MSG_NOT_IN_SYSTEM)
        order.state = 2
        order.activated_at = self._now_f()
        return self._ok([{"id": order.id}] if self.variants.activate_list else {"id": order.id})

    def _sms(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        order = self._own_order(params, account)
        order.hasnewsms = False
        own = self._sms_list(order.sms)
        if self.variants.sms_object:
            return self._ok({"SmsList": own, "OtherSms": self._sms_list(order.other_sms)})
        return self._ok(own)

    def _sms_list(self, messages: list[Sms]) -> list[dict[str, Any]]:
        newest_first = sorted(messages, key=lambda sms: sms.date, reverse=True)
        items: list[dict[str, Any]] = []
        for sms in newest_first:
            item: dict[str, Any] = {"text": sms.text, "sender": sms.sender, "date": self._ts(sms.date)}
            if self.variants.sms_odd:
                shifted = sms.date + self.variants.sms_date_zone_hours * 3600
                item["date"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(shifted))
                del item["sender"]
            if self.variants.sms_no_date:
                del item["date"]
            items.append(item)
        return items

    def _add_service(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        order = self._own_order(params, account)
        rent_days = _int_param(params, "rent_days", PROLONG_WINDOW_DAYS, minimum=1)
        if rent_days > MAX_RENT_DAYS:
            raise _ApiError(MSG_MAX_PERIOD)
        if params.get("pnumber", "").lstrip("+") != order.number:
            raise _ApiError(MSG_WRONG_PHONE)
        svc = self.countries[order.country].services.get(params.get("service", ""))
        if svc is None:
            raise _ApiError(MSG_SERVICE_NOT_FOUND)
        if svc.code in order.services:
            raise _ApiError(MSG_SERVICE_ADDED)
        self._debit(account, _account_price(account, svc.price_day, rent_days) * rent_days, MSG_NO_BALANCE)
        target = order
        if self.variants.add_service_new_order:
            # Assumption: a separate order for the new service on the same number, for rent_days.
            now = self.now()
            target = self._build_order(
                account.apikey,
                order.country,
                svc.code,
                begin=now,
                until=now + rent_days * DAY,
                pnumber=order.pnumber,
            )
            self._open(target)
        else:
            order.services.append(svc.code)
            if order.price_day is not None:
                order.price_day += svc.price_day
            if self.variants.add_service_moves_other_sms:
                order.sms.extend(order.other_sms)
                order.other_sms.clear()
                order.hasnewsms = True
        if not self.variants.add_service_data:
            return {"status": 1}
        return self._ok(
            {"id": target.id, "pnumber": target.number, "service": svc.code, "until": self._ts(target.until)}
        )

    def _prolong(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        order = self._own_order(params, account)
        days = _period_days(params)
        if not self._can_prolong(order):
            raise _ApiError(MSG_PROLONG_NOT_YET)
        new_until = order.until + days * DAY
        if new_until > self.now() + MAX_RENT_DAYS * DAY:
            raise _ApiError(MSG_MAX_PERIOD)
        self._debit(
            account, _account_price(account, self._full_price_day(order), days) * days, MSG_NO_BALANCE
        )
        order.until = new_until
        return self._ok({"id": order.id})

    def _delete(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        order = self._own_order(params, account)
        self._archive(order, end=order.until, closed=self.now())
        return self._ok({"id": order.id})

    def _rent_history(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        skip = _int_param(params, "skip", 0)
        take = _int_param(params, "take", 10)
        items = sorted(
            (self.history[i] for i in account.history_ids), key=lambda h: (h.closed, h.order_id), reverse=True
        )
        now = self.now()
        data = [
            {
                "orderId": h.order_id,
                "resourceCode": ",".join(h.order.services),
                "number": h.order.number,
                "branchId": h.branch_id,
                "haveSms": bool(h.order.sms or h.order.other_sms),
                "days": max(1, round((h.end - h.order.begin) / DAY)),
                "country": h.order.country,
                "begin": self._ts(h.order.begin),
                "end": self._ts(h.end),
                "closed": self._ts(h.closed),
                "isAvailForRestore": h.restorable and h.end <= now,
            }
            for h in items[skip : skip + take]
        ]
        return self._ok(data)

    def _restore_precalc(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        item, price, outdays = self._restore_quote(params, account)
        order = item.order
        return self._ok(
            {
                "ccode": order.country,
                "scode": ",".join(order.services),
                "price": price,
                "sname": ",".join(self._service_name(order.country, s) for s in order.services),
                # odd_fields: "+<code><number>", as `orders` gives it then
                "pnumber": f"+{order.number}" if self.variants.odd_fields else order.number,
                "outdays": outdays,
                "orderid": order.id,
                "prolongTo": RESTORE_PREPAY_DAYS,
            }
        )

    def _restore(self, params: dict[str, str], account: Account) -> dict[str, Any]:
        item, price, _ = self._restore_quote(params, account)
        self._debit(account, price, "NOBALANCE")
        order = item.order
        del self.history[order.id]
        account.history_ids.remove(order.id)
        now = self.now()
        order.begin, order.until, order.lastonline = now, now + RESTORE_PREPAY_DAYS * DAY, now
        order.state, order.activated_at, order.hasnewsms = 0, None, False
        order.sms, order.other_sms = [], []
        if self.variants.restore_new_id:
            order.id = self._next_id
            self._next_id += 1
        self._open(order)
        if self.variants.restore_object:
            return self._ok({"id": order.id, "until": self._ts(order.until)})
        return self._ok(True)

    def _restore_quote(self, params: dict[str, str], account: Account) -> tuple[HistoryItem, Decimal, int]:
        """Check a restore of ``id``: the item, its price and overdue days, or the documented error code."""
        order_id = _int_param(params, "id")
        if order_id in self._restore_errors:
            raise _ApiError(self._restore_errors[order_id])
        live = self.orders.get(order_id)
        if live is not None:
            raise _ApiError("DATEDIFFINVERT" if live.apikey == account.apikey else "NOTOWNER")
        item = self.history.get(order_id)
        if item is None:
            raise _ApiError("NOREMOTEDATA")
        if item.order.apikey != account.apikey:
            raise _ApiError("NOTOWNER")
        if not item.restorable:
            raise _ApiError("NOAVAILDAYS")
        now = self.now()
        if item.end > now:
            raise _ApiError("DATEDIFFINVERT")
        outdays = (now - item.end) // DAY
        price = (self._full_price_day(item.order) * (outdays + RESTORE_PREPAY_DAYS)).quantize(CENT)
        return item, price, outdays

    # ----------------------------------------------------------------- state helpers

    def _country(self, code: str) -> Country:
        country = self.countries.get(code)
        if country is None:
            raise _ApiError(MSG_COUNTRY_NOT_FOUND)
        return country

    def _catalog_service(self, country: str, service: str) -> Service:
        services = self.countries[country].services
        if service not in services:
            services[service] = Service(service, _SERVICE_NAMES.get(service, service), Decimal(1), 0)
        return services[service]

    def _service_name(self, country: str, service: str) -> str:
        svc = self.countries[country].services.get(service) if country in self.countries else None
        return svc.name if svc is not None else _SERVICE_NAMES.get(service, service)

    def _full_price_day(self, order: Order) -> Decimal:
        """Price per day without discount: the order's fixed one, else its services' current prices."""
        if order.price_day is not None:
            return order.price_day
        services = self._country(order.country).services
        if any(s not in services for s in order.services):
            raise _ApiError(MSG_SERVICE_NOT_FOUND)
        return sum((services[s].price_day for s in order.services), Decimal(0))

    def _own_order(self, params: dict[str, str], account: Account) -> Order:
        order = self.orders.get(_int_param(params, "id"))
        if order is None or order.apikey != account.apikey:
            raise _ApiError(MSG_ORDER_NOT_FOUND)
        return order

    def _can_prolong(self, order: Order) -> bool:
        if order.canprolong is not None:
            return order.canprolong
        left = order.until - self.now()
        return 0 < left < PROLONG_WINDOW_DAYS * DAY

    @staticmethod
    def _debit(account: Account, amount: Decimal, msg: str) -> None:
        if account.balance < amount:
            raise _ApiError(msg)
        account.balance -= amount
        account.spent += amount

    def _build_order(
        self, apikey: str, country: str, service: str, *, begin: int, until: int, pnumber: str | None = None
    ) -> Order:
        if apikey not in self.accounts:
            raise KeyError(f"unknown apikey {apikey!r}: call add_account() first")
        ccode = self.countries[country].ccode  # KeyError for an unknown country
        order = Order(
            id=self._next_id,
            apikey=apikey,
            country=country,
            ccode=ccode,
            pnumber=pnumber or self._new_pnumber(),
            services=[service],
            state=0,
            until=until,
            begin=begin,
            lastonline=begin,
        )
        self._next_id += 1
        return order

    def _new_pnumber(self) -> str:
        while True:
            number = str(self._rng.randint(9_000_000_000, 9_999_999_999))
            if number not in self._numbers:
                self._numbers.add(number)
                return number

    def _open(self, order: Order) -> None:
        self.orders[order.id] = order
        self.accounts[order.apikey].order_ids.append(order.id)

    def _archive(self, order: Order, *, end: int, closed: int) -> None:
        del self.orders[order.id]
        self.accounts[order.apikey].order_ids.remove(order.id)
        order.activated_at = None
        self._store_history(HistoryItem(order, end=end, closed=closed))

    def _store_history(self, item: HistoryItem) -> None:
        item.branch_id = item.branch_id or 1000 + item.order_id * 7919 % 9000
        self.history[item.order_id] = item
        self.accounts[item.order.apikey].history_ids.append(item.order_id)

    def _sweep(self) -> None:
        """Bring every live order up to date: activation cycle, then expiry into the archive."""
        now_f = self._now_f()
        for order in list(self.orders.values()):
            self._tick(order, now_f)
            if order.until <= now_f:
                self._archive(order, end=order.until, closed=order.until)

    def _tick(self, order: Order, now_f: float) -> None:
        """Activation: 2 for ``activation_delay`` seconds, then 1 for ``online_duration``, then 0."""
        if order.activated_at is None:
            return
        online_at = order.activated_at + self.activation_delay
        offline_at = online_at + self.online_duration
        if now_f < online_at:
            order.state = 2
        elif now_f < offline_at:
            order.state = 1
            order.lastonline = int(now_f)
        else:
            order.state = 0
            order.lastonline = int(offline_at)
            order.activated_at = None

    # ----------------------------------------------------------------- admin (manual use)

    async def _handle_admin(self, request: web.Request) -> web.Response:
        """Manual control over HTTP (GET /_admin/ACTION?...): every answer is JSON, errors included."""
        if request.method != "GET":
            return web.json_response({"ok": False, "error": "only GET"}, status=405, headers={"Allow": "GET"})
        action = request.match_info["action"]
        handler = self._admin_actions().get(action)
        if handler is None:
            known = sorted(self._admin_actions())
            return web.json_response(
                {"ok": False, "error": f"unknown action {action}", "actions": known}, status=404
            )
        try:
            result = handler(request.query)
        except (KeyError, ValueError, ArithmeticError) as err:
            return web.json_response({"ok": False, "error": repr(err)}, status=400)
        return web.json_response({"ok": True, **result}, dumps=self._dumps)

    def _admin_actions(self) -> dict[str, Callable[[Any], dict[str, Any]]]:
        def flag(q: Any, name: str, default: str = "1") -> bool:
            return str(q.get(name, default)).strip().casefold() in ("1", "true", "yes", "on")

        def inject_sms(q: Any) -> dict[str, Any]:
            text, sender = q.get("text", "Your code: 123456"), q.get("sender", "FACEBOOK")
            sms = self.inject_sms(int(q["id"]), text, sender, other=flag(q, "other", "0"))
            return {"sms": vars(sms)}

        def add_account(q: Any) -> dict[str, Any]:
            account = self.add_account(
                q["apikey"],
                Decimal(q.get("balance", "100")),
                price_factor=Decimal(q.get("price_factor", "1")),
            )
            return {"apikey": account.apikey, "balance": account.balance}

        def set_balance(q: Any) -> dict[str, Any]:
            self.accounts[q["apikey"]].balance = Decimal(q["balance"])
            return {"balance": self.accounts[q["apikey"]].balance}

        def add_order(q: Any) -> dict[str, Any]:
            order = self.add_order(
                q["apikey"],
                country=q.get("country", "RU"),
                service=q.get("service", "opt16"),
                state=int(q.get("state", "0")),
                days_left=float(q.get("days_left", "7")),
            )
            return {"id": order.id, "number": order.number, "until": order.until}

        def add_history(q: Any) -> dict[str, Any]:
            items = self.add_history(
                q["apikey"],
                count=int(q.get("count", "1")),
                restorable=flag(q, "restorable"),
                country=q.get("country", "RU"),
                service=q.get("service", "opt16"),
                outdays=int(q.get("outdays", "5")),
            )
            return {"ids": [item.order_id for item in items]}

        def restore_error(q: Any) -> dict[str, Any]:
            order_id = int(q["id"])
            if q.get("code"):
                self.set_restore_error(order_id, q["code"])
            else:
                self._restore_errors.pop(order_id, None)
            return {}

        def shape(q: Any) -> dict[str, Any]:
            self.variants = Variants.named(q.get("name", "sdk"))
            return {"variants": vars(self.variants)}

        def variant(q: Any) -> dict[str, Any]:
            name = q["name"]
            if name not in {f.name for f in fields(Variants)}:
                raise ValueError(f"unknown variant {name!r}, expected one of {sorted(vars(Variants()))}")
            setattr(self.variants, name, flag(q, "on"))
            return {"variants": vars(self.variants)}

        def rate_limit(q: Any) -> dict[str, Any]:
            interval = float(q.get("interval", "0") or "0")
            self.set_rate_limit(interval if interval > 0 else None, mode=q.get("mode", "status0"))
            return {"rate_limit": vars(self.rate_limit) if self.rate_limit else None}

        def status0_data(q: Any) -> dict[str, Any]:
            self.status0_with_data = {m for m in q.get("methods", "").split(",") if m}
            return {"methods": sorted(self.status0_with_data)}

        def simple(action: Callable[[Any], object]) -> Callable[[Any], dict[str, Any]]:
            def run(q: Any) -> dict[str, Any]:
                action(q)
                return {}

            return run

        return {
            "state": lambda q: self._admin_state(),
            "inject_sms": inject_sms,
            "set_state": simple(lambda q: self.set_state(int(q["id"]), int(q["state"]))),
            "expire": simple(
                lambda q: self.expire_order(int(q["id"]), days_ago=float(q.get("days_ago", "1")))
            ),
            "fail": simple(
                lambda q: self.fail_next(
                    q["kind"], method=q.get("method") or None, count=int(q.get("count", "1"))
                )
            ),
            "clear_faults": simple(lambda q: self.clear_faults()),
            "add_account": add_account,
            "set_balance": set_balance,
            "add_order": add_order,
            "add_history": add_history,
            "restore_error": restore_error,
            "shape": shape,
            "variant": variant,
            "rate_limit": rate_limit,
            "status0_data": status0_data,
        }

    @staticmethod
    async def _handle_unknown_path(request: web.Request) -> web.Response:
        return web.json_response({"status": 0, "msg": "Not found"}, status=404)

    def _admin_state(self) -> dict[str, Any]:
        self._sweep()
        return {
            "now": self.now(),
            "calls": len(self.calls),
            "calls_by_method": Counter(call.method for call in self.calls),
            "accounts": [
                {"apikey": a.apikey, "balance": a.balance, "orders": a.order_ids, "history": a.history_ids}
                for a in self.accounts.values()
            ],
            "orders": [
                {"id": o.id, "apikey": o.apikey, "number": o.number, "services": o.services, "state": o.state}
                | {"until": o.until, "sms": len(o.sms), "other_sms": len(o.other_sms)}
                for o in self.orders.values()
            ],
            "history": sorted(self.history),
            "faults": len(self._faults),
            "variants": vars(self.variants),
            "rate_limit": vars(self.rate_limit) if self.rate_limit else None,
            "status0_with_data": sorted(self.status0_with_data),
        }

    @staticmethod
    def _dumps(obj: Any) -> str:
        return json.dumps(obj, default=_json_default, ensure_ascii=False)


# --------------------------------------------------------------------- standalone


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.smspva", description="Fake SMSPVA rent API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--apikey", default="demo-key", help="account created at start (default demo-key)")
    parser.add_argument("--balance", type=Decimal, default=Decimal(50), help="its balance in USD")
    parser.add_argument("--activation-delay", type=float, default=2.0, help="seconds in state 2")
    parser.add_argument("--online-duration", type=float, default=600.0, help="seconds in state 1")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeSmspva(activation_delay=args.activation_delay, online_duration=args.online_duration)
    fake.add_account(args.apikey, args.balance)
    url = await fake.start(args.host, args.port)
    admin = url.removesuffix("/api/rent.php") + "/_admin"
    print(f"Fake SMSPVA rent API: {url}  (apikey {args.apikey}, balance {args.balance})", flush=True)
    for line in (
        f"  state:        curl '{admin}/state'",
        f"  account:      curl '{admin}/add_account?apikey=KEY&balance=20'   /set_balance?apikey=KEY&balance=5",
        f"  order:        curl '{admin}/add_order?apikey=KEY&country=RU&service=opt16&state=1&days_left=3'",
        f"  inject SMS:   curl '{admin}/inject_sms?id=ORDER_ID&text=Code+123456&sender=FACEBOOK&other=0'",
        f"  history:      curl '{admin}/add_history?apikey=KEY&count=3&outdays=5&restorable=1'",
        f"  restore err:  curl '{admin}/restore_error?id=ORDER_ID&code=NOAVAILDAYS'  (no code: clear)",
        f"  shapes:       curl '{admin}/shape?name=page'  (sdk: the default)   /variant?name=odd_fields&on=1",
        f"  rate limit:   curl '{admin}/rate_limit?interval=4&mode=status0'  (mode 429; interval=0: off)",
        f"  status 0+data: curl '{admin}/status0_data?methods=getcountries,prolong'",
        f"  also:         {admin}/set_state?id=&state=  /expire?id=&days_ago=  /fail?kind=500&count=1  /clear_faults",
    ):
        print(line, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
