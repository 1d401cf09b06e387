"""Pydantic models of the SMSPVA rent API (``rent.php``) answers.

Tolerance rules, because the live API differs from its page in small ways:

* unknown fields are ignored (``extra="ignore"``); every model is frozen;
* attributes are snake_case, wire names are aliases; both are accepted on input (``populate_by_name``);
* integers and timestamps may arrive as ints, floats or numeric strings (``"1587633960"``,
  ``"1587633960.0"``); fractional parts are truncated;
* flags may arrive as bools, numbers (0 is False, any other count such as 2 is True), or the strings
  "0"/"1"/"2"/"true"/"false"/"Y"/"N"/"yes"/"no"; a null flag is False (``None`` for ``bool | None``);
* timestamps may also arrive as date strings ("2024-05-01 12:00:00", ISO 8601), read as UTC when they carry
  no offset (assumption: SMSPVA's clock is not documented);
* one odd field never drops an order, a country or an SMS: a descriptive field (flag, optional number or
  timestamp, name) that cannot be read gets its default, an unreadable ``state`` becomes
  :data:`UNKNOWN_STATE`, and each (model, field) is logged once per process (names only, never values);
* ``pnumber`` may carry "+" and the country code ("+79096037108"): when it starts with ``ccode``'s digits
  that prefix is split off, so the number is never shown or sent with the code twice;
* money arrives as a number or a numeric string and becomes a :class:`~decimal.Decimal` built from
  ``str(value)`` -- never through float arithmetic;
* strings may arrive as numbers (a phone number sent as a JSON number) and are turned into text.

Which fields are required (assumption, the page does not say): the ones the bot cannot act without --
ids, phone numbers, expiry timestamps, prices, service/country codes. An SMS needs nothing: without
``date`` it has ``date=None``, without ``sender`` an empty sender. Descriptive fields (names, flags, optional
limits) default to ""/False/None when missing or unreadable.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator

__all__ = [
    "UNKNOWN_STATE",
    "AddedService",
    "Country",
    "CreatedOrder",
    "HistoryItem",
    "Order",
    "OrderState",
    "PeriodType",
    "RestoreQuote",
    "RestoreResult",
    "Service",
    "ServiceCatalog",
    "Sms",
    "SmsBatch",
]

_log = logging.getLogger("bot.smspva")

_NON_DIGITS = re.compile(r"\D+")
_TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", ""})
_DATE_FORMATS: Final = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")
UNKNOWN_STATE: Final = -99  # an ``orders[].state`` that could not be read at all
_logged_fields: set[tuple[str, str]] = set()


class PeriodType(StrEnum):
    """``dtype`` of getdata / create / prolong."""

    WEEK = "week"
    MONTH = "month"


class OrderState(IntEnum):
    """Documented values of ``orders[].state``."""

    NOT_IN_SYSTEM = -1  # the phone number is not in the system any more
    NOT_ACTIVE = 0  # must be activated before SMS can be received
    ACTIVE = 1  # can receive SMS
    ACTIVATING = 2  # activation in progress


# --- lenient scalar coercion (applied before pydantic's own validation) ---------------------------------


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return int(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("not a numeric string") from None
        if not number.is_finite():
            raise ValueError("not a finite number")
        return int(number)
    return value  # let pydantic reject it with its usual message


def _to_timestamp(value: Any) -> Any:
    """A Unix timestamp from a number, a numeric string or a date string (UTC unless it says otherwise)."""
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return _to_int(text)
        except ValueError:
            pass
        moment: datetime | None = None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for fmt in _DATE_FORMATS:
                try:
                    moment = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if moment is None:
            raise ValueError("not a timestamp")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    return _to_int(value)


def _zoneless_date_string(value: Any) -> bool:
    """True for a date string (not a number) that names no zone: the zone it was written in is a guess."""
    if not isinstance(value, str) or not value.strip():
        return False
    text = value.strip()
    try:
        _to_int(text)
        return False  # a Unix timestamp as a string: no zone involved
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is None
    except ValueError:
        return True  # one of _DATE_FORMATS (none carries a zone), or unreadable (then the date is None)


def _to_timestamp_or_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _to_timestamp(value)


def _to_int_or_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _to_int(value)


def _to_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float | str):
        try:
            number = Decimal(str(value).strip())  # str() first: Decimal(0.1) would keep float noise
        except InvalidOperation:
            raise ValueError("not a numeric amount") from None
    else:
        return value
    if not number.is_finite():
        raise ValueError("not a finite amount")
    return number


def _to_decimal_or_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _to_decimal(value)


def _to_bool_or_none(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and math.isfinite(value) and value >= 0:
        return bool(value)  # a count such as hasnewsms=2 is "yes"
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        if word.isdigit():
            return int(word) > 0
    raise ValueError("not a recognisable flag")


def _to_bool(value: Any) -> Any:
    result = _to_bool_or_none(value)
    return False if result is None else result


def _to_text(value: Any) -> Any:
    return "" if value is None else value


def _note_odd_field(info: ValidationInfo, reason: str) -> None:
    """Log an odd field once per (model, field): names only, never the value."""
    model = str(info.config.get("title", "?")) if info.config else "?"
    field = info.field_name or "?"
    if (model, field) not in _logged_fields:
        _logged_fields.add((model, field))
        _log.warning("smspva odd field model=%s field=%s outcome=%s (logged once)", model, field, reason)


def _lenient(convert: Callable[[Any], Any], default: Any) -> Callable[[Any, ValidationInfo], Any]:
    """``convert``, or ``default`` (logged once) when the value cannot be read: never drops the item."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        try:
            result = convert(value)
        except ValueError:
            _note_odd_field(info, "default")
            return default
        if not isinstance(result, bool | int | float | Decimal | str | type(None)):
            _note_odd_field(info, "default")  # e.g. a list or an object where a scalar belongs
            return default
        return result

    return validate


def _to_lenient_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | Decimal):
        return str(value)
    if not isinstance(value, str):
        raise ValueError("not text")
    return value


Int = Annotated[int, BeforeValidator(_to_int)]
Timestamp = Annotated[int, BeforeValidator(_to_timestamp)]
State = Annotated[int, BeforeValidator(_lenient(_to_int, UNKNOWN_STATE))]
OptInt = Annotated[int | None, BeforeValidator(_lenient(_to_int_or_none, None))]
OptTimestamp = Annotated[int | None, BeforeValidator(_lenient(_to_timestamp_or_none, None))]
Money = Annotated[Decimal, BeforeValidator(_to_decimal)]
OptMoney = Annotated[Decimal | None, BeforeValidator(_lenient(_to_decimal_or_none, None))]
Count = Annotated[int, BeforeValidator(_lenient(_to_int, 0))]
Flag = Annotated[bool, BeforeValidator(_lenient(_to_bool, False))]
OptFlag = Annotated[bool | None, BeforeValidator(_lenient(_to_bool_or_none, None))]
Text = Annotated[str, BeforeValidator(_lenient(_to_lenient_text, ""))]


def _digits(text: str) -> str:
    return _NON_DIGITS.sub("", text)


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        coerce_numbers_to_str=True,
    )


class _PhoneNumbered(_Model):
    """A number as SMSPVA returns it: ``pnumber`` without the country code, ``ccode`` like "+7"."""

    pnumber: str = Field(repr=False)  # repr=False: numbers must not reach logs through a repr()
    ccode: Text = ""

    @model_validator(mode="before")
    @classmethod
    def _split_country_code(cls, data: Any) -> Any:
        """ "+79096037108" with ccode "+7" -> pnumber "9096037108" (the page's form: without the code)."""
        if not isinstance(data, dict):
            return data
        pnumber, ccode = data.get("pnumber"), data.get("ccode")
        if isinstance(pnumber, str) and pnumber.strip().startswith("+"):
            digits, code = _digits(pnumber), _digits(str(ccode)) if isinstance(ccode, str | int) else ""
            if code and digits.startswith(code) and len(digits) > len(code):
                if ("_PhoneNumbered", "pnumber") not in _logged_fields:
                    _logged_fields.add(("_PhoneNumbered", "pnumber"))
                    _log.warning("smspva odd field model=%s field=pnumber outcome=code_split", cls.__name__)
                return {**data, "pnumber": digits[len(code) :]}
        return data

    @property
    def full_number(self) -> str:
        """Human form, "+7 9096037108"; just ``pnumber`` when ``ccode`` holds no digits."""
        code = _digits(self.ccode)
        return f"+{code} {self.pnumber}" if code else self.pnumber

    @property
    def pnumber_with_code(self) -> str:
        """Digits only, country code first ("79096037108"), as ``add_service_to_order`` wants it."""
        return _digits(self.ccode) + _digits(self.pnumber)


class Country(_Model):
    """An item of ``getcountries``."""

    code: str
    name: Text = ""
    rent_avail_prolong: OptFlag = None  # undocumented extra field of the live API


class Service(_Model):
    """An item of ``getdata``: a service rentable in the requested country and period."""

    code: str = Field(alias="service")
    name: Text = ""
    price_day: Money
    count: Count = 0  # unreadable or missing: none offered
    # Undocumented extras of the live API (discount percentage and the days it applies from, presumably).
    procent: OptMoney = None
    procent_days: OptInt = None


class ServiceCatalog(_Model):
    """``getdata``: the services plus, in the live API's object form, ``totalAmount``."""

    services: list[Service]
    total_amount: OptMoney = Field(default=None, alias="totalAmount")


class CreatedOrder(_PhoneNumbered):
    """``create``: the rented number."""

    id: Int
    until: Timestamp  # UNIX timestamp of expiry -- the provider's clock, never compute it ourselves
    service: Text = ""


class AddedService(_Model):
    """``add_service_to_order``: smspva-sdk types the answer as ``data {id, pnumber, service, until}``; the
    rent page shows none. ``id`` is the order that now holds the service -- it may differ from the order
    the request named (then the caller must follow it); it is the requested id when the answer has none.
    ``requested_id`` is that requested id, so ``moved`` tells the two apart."""

    id: Int
    requested_id: Int
    pnumber: Text = Field(default="", repr=False)  # as SMSPVA gives it (with country code, no "+")
    service: Text = ""
    until: OptTimestamp = None  # the new service's end, when given

    @property
    def moved(self) -> bool:
        """True when SMSPVA put the service on another order id than the one requested."""
        return self.id != self.requested_id


class Order(_PhoneNumbered):
    """An item of ``orders``.

    ``state`` is kept as the raw int so that an undocumented value does not break parsing; use
    :attr:`state_enum` for the documented ones.
    """

    id: Int
    state: State  # unreadable -> UNKNOWN_STATE (the order is kept: dropping it would mark it gone)
    until: Timestamp
    scode: Text = ""
    sname: Text = ""
    cname: Text = ""  # letter country code, e.g. "RU"
    hasnewsms: Flag = False
    canprolong: Flag = False
    canprolongmax: OptInt = None  # max days for prolongation
    canprolonguntil: OptTimestamp = None
    lastonline: OptTimestamp = None

    @property
    def state_enum(self) -> OrderState | None:
        """The documented state, or None for a value the page does not list."""
        try:
            return OrderState(self.state)
        except ValueError:
            return None


class Sms(_Model):
    """One SMS of an order."""

    text: Text = Field(default="", repr=False)  # never in a repr (logs)
    date: OptTimestamp = None  # UNIX timestamp of reception; None when SMSPVA gave none (or none readable)
    sender: Text = ""
    # The date came as a date string without a zone ("2026-11-30 06:00:00"), read as UTC. Assumption,
    # unconfirmed: SMSPVA's string dates may be in another zone (Moscow time, say), so such a date can
    # be hours off. First sight does not trust it to call an SMS old (see poller.is_old).
    date_doubtful: bool = False

    @model_validator(mode="before")
    @classmethod
    def _mark_zoneless_date(cls, data: Any) -> Any:
        if isinstance(data, dict) and _zoneless_date_string(data.get("date")):
            data = {**data, "date_doubtful": True}
        return data


class SmsBatch(_Model):
    """``sms``: SMS for the order's service, and (live API ``OtherSms``) SMS that came for other services."""

    sms: list[Sms]
    other: list[Sms] = Field(default_factory=list)


class HistoryItem(_Model):
    """An item of ``get_rent_history`` (the archive of finished rents)."""

    order_id: Int = Field(alias="orderId")
    resource_code: Text = Field(default="", alias="resourceCode")  # service code
    number: Text = Field(default="", repr=False)  # full number, country code included, no "+"
    branch_id: OptInt = Field(default=None, alias="branchId")
    have_sms: Flag = Field(default=False, alias="haveSms")
    days: OptInt = None
    country: Text = ""
    begin: OptTimestamp = None
    end: OptTimestamp = None
    closed: OptTimestamp = None
    is_avail_for_restore: OptFlag = Field(default=None, alias="isAvailForRestore")


class RestoreQuote(_Model):
    """``restore_user_precalc``: what restoring an archived rent would cost.

    The page's example shows ``ccode`` as a letter country code ("EN") here, unlike ``create``/``orders``.
    """

    price: Money
    orderid: Int
    outdays: Int  # days since expiry, paid without discount
    prolong_to: Int = Field(alias="prolongTo")  # days of rent paid in advance
    ccode: Text = ""
    scode: Text = ""
    sname: Text = ""
    pnumber: Text = Field(default="", repr=False)


class RestoreResult(_Model):
    """``restore_user``: the page shows ``data: true``; the live API may send an object. Kept as it came."""

    raw: Any

    @property
    def order_id(self) -> int | None:
        """Best effort: an order id found in an object answer (keys "id", "orderid", "orderId"), else None."""
        if isinstance(self.raw, dict):
            for key in ("id", "orderid", "orderId", "order_id"):
                try:
                    value = _to_int_or_none(self.raw.get(key))
                except ValueError:
                    continue
                if isinstance(value, int):
                    return value
        return None
