"""Formatting for people: money, dates, numbers, phone numbers and SMS codes, in the user's locale."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram.utils.i18n import get_i18n
from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_currency, format_decimal

CENT = Decimal("0.01")


def current_locale() -> str:
    try:
        return get_i18n().current_locale
    except LookupError:  # outside an i18n context (e.g. a unit test of a formatter)
        return "en"


def zone(name: str | None) -> ZoneInfo | timezone:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def money(amount: Decimal, locale: str | None = None) -> str:
    """USD with exactly two decimals, e.g. "$12.50", "12,50 $", "‏12.50 US$"."""
    value = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return format_currency(value, "USD", locale=locale or current_locale(), format_type="standard")


def number(value: int | Decimal, locale: str | None = None) -> str:
    return format_decimal(value, locale=locale or current_locale())


def local_datetime(timestamp: int | float, tz_name: str | None, locale: str | None = None) -> str:
    """A date and 24 h time in the user's zone, e.g. "Nov 26, 2026 20:05"."""
    moment = datetime.fromtimestamp(timestamp, tz=zone(tz_name))
    loc = locale or current_locale()
    date_part = format_skeleton("yMMMd", moment, locale=loc)
    time_part = format_skeleton("Hm", moment, locale=loc)
    return f"{date_part} {time_part}"


def local_date(timestamp: int | float, tz_name: str | None, locale: str | None = None) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=zone(tz_name))
    return format_skeleton("yMMMd", moment, locale=locale or current_locale())


def phone(ccode: str, pnumber: str) -> str:
    """ "+7" and "9096037108" -> "+7 9096037108" (ccode digits only, whatever the API sent)."""
    digits = re.sub(r"\D", "", ccode)
    return f"+{digits} {pnumber}" if digits else pnumber


def masked_key(last4: str) -> str:
    return f"••••••••{last4}"


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def code_html(text: str) -> str:
    """Tap-to-copy in Telegram: <code> with escaped content."""
    return f"<code>{escape(text)}</code>"


def ltr_code(text: str) -> str:
    """Tap-to-copy text that keeps its order inside Arabic (right-to-left) sentences ("+7 909…"):
    the left-to-right isolate marks sit outside <code>, so they are never copied with it."""
    return f"\u2066{code_html(text)}\u2069"


def phone_html(ccode: str, pnumber: str) -> str:
    return ltr_code(phone(ccode, pnumber))


# --- SMS codes -------------------------------------------------------------------------------
# A code is a run of 4-8 digits, optionally split once by a space or hyphen ("671 094", "671-094"),
# or a short alphanumeric token with at least one digit near a "code" keyword ("G-123456", "AB12CD").
_DIGITS = re.compile(r"(?<![\w+])(\d{3,4})[ -](\d{3,4})(?![\w])|(?<![\w+])(\d{4,8})(?![\w])")
_PREFIXED = re.compile(r"(?<![\w-])([A-Z]{1,3})-(\d{4,8})(?![\w])")
_KEYWORD = re.compile(
    r"(?:code|код|كود|رمز|pin|otp|password|пароль|passcode)\W{0,3}(?:is|:|-|—|–)?\s*([A-Za-z0-9]{4,10})(?![\w])",
    re.IGNORECASE,
)


def extract_code(text: str) -> str | None:
    """Pull the one-time code out of an SMS; None rather than a guess when it is ambiguous."""
    prefixed = _PREFIXED.findall(text)
    if len(prefixed) == 1:
        letters, digits = prefixed[0]
        return f"{letters}-{digits}"
    keyword = _KEYWORD.search(text)
    if keyword and any(ch.isdigit() for ch in keyword.group(1)):
        candidate = keyword.group(1)
        # "Code Instagram: 671 094" -> keyword grabs "Instagram"; the digit test above skips it.
        return candidate
    candidates: list[str] = []
    for split_a, split_b, plain in _DIGITS.findall(text):
        candidates.append(f"{split_a}{split_b}" if split_a else plain)
    unique = list(dict.fromkeys(candidates))
    if len(unique) == 1:
        return unique[0]
    return None


# --- countries -------------------------------------------------------------------------------


def flag(code: str) -> str:
    """Regional-indicator flag for ISO 3166 alpha-2 codes; a neutral globe otherwise."""
    if len(code) == 2 and code.isalpha() and code.upper() in _iso_territories():
        return "".join(chr(0x1F1E6 + ord(ch) - ord("A")) for ch in code.upper())
    return "🌐"


def country_name(code: str, api_name: str, locale: str | None = None) -> str:
    """Babel's name in the user's language for ISO codes, else the API's own name (plain text:
    escape it for HTML, it may come from upstream)."""
    if len(code) == 2 and code.upper() in _iso_territories():
        try:
            name = Locale.parse(locale or current_locale()).territories.get(code.upper())
        except (ValueError, LookupError):
            name = None
        if name:
            return str(name)
    return api_name or code


_ISO_CACHE: set[str] = set()


def _iso_territories() -> set[str]:
    if not _ISO_CACHE:
        codes = (str(code) for code in Locale("en").territories)
        _ISO_CACHE.update(code for code in codes if len(code) == 2 and code.isalpha())
        # "EN" is SMSPVA's code for England (see the page's restore example), not an ISO country.
        _ISO_CACHE.discard("EN")
    return _ISO_CACHE
