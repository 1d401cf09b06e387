"""Formatting for people: money, dates, numbers, phone numbers and SMS codes, in the user's locale.

Right-to-left (Arabic). Telegram lays out every line of a message and every button label as its own
bidi paragraph whose direction comes from its first strong character. Left-to-right pieces inside an
Arabic sentence (amounts, counts, phone numbers, commands, Latin service names) are therefore wrapped
in Unicode isolates (LRI/FSI … PDI) in right-to-left locales, so they keep their own order and never
glue to their neighbours; flags (regional indicators are strong left-to-right characters) get a
right-to-left mark in front. In left-to-right locales every helper returns plain text, unchanged.
Isolates never go inside tap-to-copy `<code>` (code_html strips them) or into callback data.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_currency, format_decimal

from bot.periods import Period

CENT = Decimal("0.01")

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
LRM, RLM, ALM = "\u200e", "\u200f", "\u061c"
# Every bidi control character: marks, embeddings/overrides and isolates.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})


def current_locale() -> str:
    try:
        return get_i18n().current_locale
    except LookupError:  # outside an i18n context (e.g. a unit test of a formatter)
        return "en"


def is_rtl(locale: str | None = None) -> bool:
    base = (locale or current_locale()).replace("-", "_").split("_")[0].lower()
    return base in RTL_LANGUAGES


def strip_bidi(text: str) -> str:
    """Text without any bidi control character (for copied text, comparisons and sorting)."""
    return _BIDI_CONTROLS.sub("", text)


def isolate(text: str, locale: str | None = None, *, ltr: bool = True) -> str:
    """`text` as one unit inside a right-to-left line: a left-to-right isolate (amounts, numbers,
    phone numbers, commands) or, with ltr=False, a first-strong isolate (names in any script).
    Unchanged in left-to-right locales."""
    if not text or not is_rtl(locale):
        return text
    return f"{LRI if ltr else FSI}{text}{PDI}"


def rtl_line(text: str, locale: str | None = None) -> str:
    """Every line of `text` that starts with a flag (or another emoji or a left-to-right isolate)
    gets a right-to-left mark in front in right-to-left locales, so the line runs right to left and
    its full stop lands at its end. Lines that start with a letter keep their natural direction."""
    if not is_rtl(locale):
        return text
    return "\n".join(RLM + line if _starts_ltr_symbol(line) else line for line in text.split("\n"))


def _starts_ltr_symbol(line: str) -> bool:
    plain = re.sub(r"^(?:\s|<[^>]*>)+", "", line)  # leading spaces and HTML tags do not count
    if not plain or plain[0] in (RLM, ALM):
        return False
    first = ord(plain[0])
    # Regional indicators (flags) are strong left-to-right; other emoji and the isolates are
    # neutral, and then the first letter after them (often Latin: "🌐 England", "Airbnb") decides.
    emoji = 0x1F000 <= first <= 0x1FAFF or 0x2300 <= first <= 0x23FF or 0x2600 <= first <= 0x27BF
    return emoji or plain[0] in (LRI, FSI)


def back_arrow(locale: str | None = None) -> str:
    """The arrow of Back/previous: it points against the reading direction."""
    return "▶️" if is_rtl(locale) else "◀️"


def forward_arrow(locale: str | None = None) -> str:
    """The arrow of next: it points along the reading direction."""
    return "◀️" if is_rtl(locale) else "▶️"


def command(name: str, argument: str | None = None, locale: str | None = None, *, copy: bool = False) -> str:
    """A bot command for an HTML text ("/help"; with copy=True tap-to-copy "<code>/key YOUR_KEY</code>"),
    isolated left-to-right in right-to-left locales (the isolates stay outside <code>)."""
    text = f"/{name}" + (f" {argument}" if argument else "")
    return isolate(code_html(text) if copy else escape(text), locale)


def zone(name: str | None) -> ZoneInfo | timezone:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def money(amount: Decimal, locale: str | None = None) -> str:
    """USD with exactly two decimals, e.g. "$12.50", "12,50 $", and in Arabic "17.50 US$" isolated
    left-to-right (Babel's own right-to-left mark would turn it into "$US 17.50")."""
    loc = locale or current_locale()
    value = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    text = format_currency(value, "USD", locale=loc, format_type="standard")
    return isolate(strip_bidi(text), loc)


def number(value: int | Decimal, locale: str | None = None) -> str:
    """A count in the user's locale, isolated in right-to-left locales (never glued to a neighbour)."""
    loc = locale or current_locale()
    return isolate(strip_bidi(format_decimal(value, locale=loc)), loc)


def local_datetime(timestamp: int | float, tz_name: str | None, locale: str | None = None) -> str:
    """A date and 24 h time in the user's zone, e.g. "Nov 26, 2026 20:05"."""
    moment = datetime.fromtimestamp(timestamp, tz=zone(tz_name))
    loc = locale or current_locale()
    date_part = format_skeleton("yMMMd", moment, locale=loc)
    time_part = format_skeleton("Hm", moment, locale=loc)
    return f"{date_part} {time_part}"


def short_time(timestamp: int | float, tz_name: str | None, now: float, locale: str | None = None) -> str:
    """When an SMS came, briefly, in the user's zone: "03:40" today, "Nov 29 03:40" another day
    this year, "Dec 31, 2025 23:59" before that."""
    where = zone(tz_name)
    moment = datetime.fromtimestamp(timestamp, tz=where)
    today = datetime.fromtimestamp(now, tz=where)
    loc = locale or current_locale()
    time_part = format_skeleton("Hm", moment, locale=loc)
    if moment.date() == today.date():
        return time_part
    date_part = format_skeleton("MMMd" if moment.year == today.year else "yMMMd", moment, locale=loc)
    return f"{date_part} {time_part}"


def local_date(timestamp: int | float, tz_name: str | None, locale: str | None = None) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=zone(tz_name))
    return format_skeleton("yMMMd", moment, locale=locale or current_locale())


def plain_phone(ccode: str, pnumber: str) -> str:
    """ "+7" and "9096037108" -> "+7 9096037108" (ccode digits only, whatever the API sent)."""
    digits = re.sub(r"\D", "", ccode)
    return f"+{digits} {pnumber}" if digits else pnumber


def phone(ccode: str, pnumber: str, locale: str | None = None) -> str:
    """The number for a label: "+7 9096037108", isolated left-to-right in right-to-left locales
    (there "+" would otherwise move to the far end)."""
    return isolate(plain_phone(ccode, pnumber), locale)


# Dialling codes of SMSPVA's country codes, to split the archive's full numbers ("79020831944") the
# way orders give them (ccode "+7", pnumber "9020831944"). A country not listed keeps "+" + digits.
DIAL_CODES: dict[str, str] = {
    "RU": "7",
    "KZ": "7",
    "UA": "380",
    "UK": "44",
    "GB": "44",
    "EN": "44",
    "US": "1",
    "CA": "1",
    "DE": "49",
    "FR": "33",
    "NL": "31",
    "PL": "48",
    "EE": "372",
    "LV": "371",
    "LT": "370",
    "FI": "358",
    "SE": "46",
    "ES": "34",
    "IT": "39",
    "PT": "351",
    "RO": "40",
    "CZ": "420",
    "ID": "62",
    "PH": "63",
    "MY": "60",
    "VN": "84",
    "TH": "66",
    "IN": "91",
    "IL": "972",
    "TR": "90",
    "BR": "55",
    "MX": "52",
}


def split_full_number(country: str, full: str) -> tuple[str, str]:
    """ "RU", "79020831944" -> ("+7", "9020831944"): one phone format everywhere (plain_phone).
    Unknown countries, or a number that does not start with the country's code: ("", "+digits")."""
    digits = re.sub(r"\D", "", full)
    dial = DIAL_CODES.get(country.upper())
    if dial and digits.startswith(dial) and len(digits) > len(dial):
        return "+" + dial, digits[len(dial) :]
    return "", "+" + digits if digits else full


def masked_key(last4: str) -> str:
    return f"••••••••{last4}"


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def code_html(text: str) -> str:
    """Tap-to-copy in Telegram: <code> with escaped content (never a bidi control: it would be copied)."""
    return f"<code>{escape(strip_bidi(text))}</code>"


def ltr_code(text: str) -> str:
    """Tap-to-copy text that keeps its order inside Arabic (right-to-left) sentences ("+7 909…"):
    the left-to-right isolate marks sit outside <code>, so they are never copied with it."""
    return f"\u2066{code_html(text)}\u2069"


def phone_html(ccode: str, pnumber: str, locale: str | None = None) -> str:
    """The number in tap-to-copy form. In right-to-left locales a right-to-left mark goes first, so
    a line that starts with the number ("{number} · {service} · until {date}") still runs right to
    left (the isolate itself does not count when the line's direction is chosen)."""
    html_number = ltr_code(plain_phone(ccode, pnumber))
    return RLM + html_number if is_rtl(locale) else html_number


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


# SMSPVA's codes that are not ISO 3166 (or not the ISO code of that country), to what they mean.
# "UK" is the real API's code for the United Kingdom (ISO: GB). "EN" is England (the page's
# get_rent_history example): it sits next to the United Kingdom in the list, so it gets its own
# flag and name rather than a second "United Kingdom" or the API's Russian "Англия".
_ALIASES = {"UK": "GB"}
_ENGLAND_FLAG = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"


def _england(locale: str | None) -> str:
    try:
        return _("England", locale=locale or current_locale())
    except LookupError:  # outside an i18n context
        return "England"


def _iso(code: str) -> str | None:
    upper = _ALIASES.get(code.upper(), code.upper())
    return upper if len(upper) == 2 and upper.isalpha() and upper in _iso_territories() else None


def flag(code: str, locale: str | None = None) -> str:
    """Regional-indicator flag for ISO 3166 alpha-2 codes (and SMSPVA's "UK"), England's flag for
    "EN", a neutral globe otherwise. In right-to-left locales a right-to-left mark goes first: the
    regional indicators are strong left-to-right characters, and a line that starts with the flag
    would otherwise run left to right."""
    iso = _iso(code)
    if iso is not None:
        symbol = "".join(chr(0x1F1E6 + ord(ch) - ord("A")) for ch in iso)
    elif code.upper() == "EN":
        symbol = _ENGLAND_FLAG
    else:
        symbol = "🌐"
    return RLM + symbol if is_rtl(locale) else symbol


def country_name(code: str, api_name: str, locale: str | None = None) -> str:
    """Babel's name in the user's language for ISO codes (and "UK"), a translated "England" for
    "EN", else the API's own name (plain text: escape it for HTML, it may come from upstream)."""
    iso = _iso(code)
    if iso is not None:
        try:
            name = Locale.parse(locale or current_locale()).territories.get(iso)
        except (ValueError, LookupError):
            name = None
        if name:
            return str(name)
    if code.upper() == "EN":
        return _england(locale)
    return api_name or code


_ISO_CACHE: set[str] = set()


def _iso_territories() -> set[str]:
    if not _ISO_CACHE:
        codes = (str(code) for code in Locale("en").territories)
        _ISO_CACHE.update(code for code in codes if len(code) == 2 and code.isalpha())
        # "EN" is SMSPVA's code for England (see the page's restore example), not an ISO country.
        _ISO_CACHE.discard("EN")
    return _ISO_CACHE


def period_label(period: Period) -> str:
    """ "2 weeks", "1 month", in the user's language."""
    if period.dtype == "week":
        return ngettext("{count} week", "{count} weeks", period.dcount).format(count=period.dcount)
    return ngettext("{count} month", "{count} months", period.dcount).format(count=period.dcount)
