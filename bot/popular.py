"""What the pickers show first: popular countries and services, and the period picker's grouping.

Pure functions of data (no aiogram, no I/O), so the pickers stay thin and the orderings are tested
on their own. Country names come in already translated (bot/formatting.py country_name).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.formatting import strip_bidi
from bot.periods import Period
from bot.smspva import PeriodType, Service

# Curated: the countries most rented for verification, most popular first. SMSPVA's own codes
# ("UK" is the live API's code for the United Kingdom; "GB" is kept for an API that uses ISO).
POPULAR_COUNTRIES: tuple[str, ...] = ("US", "UK", "GB", "RU", "DE", "FR", "NL", "PL", "KZ", "UA")
# Curated: matched on the service's name (SMSPVA's codes differ per service and are not documented
# as stable), case-insensitively, on its first word ("Google/Gmail" is Google).
POPULAR_SERVICES: tuple[str, ...] = (
    "telegram",
    "whatsapp",
    "google",
    "instagram",
    "facebook",
    "tiktok",
    "twitter",
    "microsoft",
    "amazon",
    "apple",
)
# The period picker: these first (1-4 weeks, 1-3 months), every other period under "More".
FIRST_PERIODS: tuple[Period, ...] = (
    *(Period(PeriodType.WEEK, n) for n in range(1, 5)),
    *(Period(PeriodType.MONTH, n) for n in range(1, 4)),
)
CENT = Decimal("0.01")


def sort_key(name: str) -> str:
    """Alphabetical in any script: no bidi marks, no accents in the way, case-insensitive."""
    decomposed = unicodedata.normalize("NFKD", strip_bidi(name))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def order_countries(
    entries: Iterable[tuple[str, str]],
    recent: Sequence[str],
    popular: Sequence[str] = POPULAR_COUNTRIES,
) -> list[tuple[str, str]]:
    """(code, name in the user's language) in picker order: the user's recent countries (most
    recent first), then the curated popular ones (in their curated order), then every other
    country alphabetically by name. Each country once; codes compare case-insensitively."""
    items = list(entries)
    by_code = {code.upper(): (code, name) for code, name in items}
    ordered: list[tuple[str, str]] = []
    seen: set[str] = set()
    for code in (*recent, *popular):
        key = code.upper()
        if key in by_code and key not in seen:
            seen.add(key)
            ordered.append(by_code[key])
    rest = [item for item in items if item[0].upper() not in seen]
    rest.sort(key=lambda item: (sort_key(item[1]), item[0].upper()))
    return ordered + rest


def distinct_names(entries: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """No look-alike duplicates: when two codes end up with the same name (say an API listing both
    "UK" and "GB"), each of them gets its code appended ("United Kingdom (UK)")."""
    items = list(entries)
    counts: dict[str, int] = {}
    for _code, name in items:
        counts[sort_key(name)] = counts.get(sort_key(name), 0) + 1
    return [
        (code, f"{name} ({code.upper()})" if counts[sort_key(name)] > 1 else name) for code, name in items
    ]


def _popular_rank(name: str, popular: Sequence[str]) -> int | None:
    words = sort_key(name).replace("/", " ").split()
    if not words:
        return None
    for rank, wanted in enumerate(popular):
        if words[0] == wanted:
            return rank
    return None


def order_services(
    services: Iterable[Service],
    recent: Sequence[str],
    popular: Sequence[str] = POPULAR_SERVICES,
) -> list[Service]:
    """Services in picker order: the user's recent services (codes, most recent first), then the
    curated popular ones (by name, in their curated order), then the rest as before: rentable
    first, then by name. Pinned services stay pinned even with no free numbers: the user looks for
    them, and pressing one offers "Notify me when available"."""
    items = list(services)
    by_code = {service.code: service for service in items}
    pinned: list[Service] = []
    seen: set[str] = set()
    for code in recent:
        if code in by_code and code not in seen:
            seen.add(code)
            pinned.append(by_code[code])
    ranked = [
        (rank, service) for service in items if (rank := _popular_rank(service.name, popular)) is not None
    ]
    for _rank, service in sorted(ranked, key=lambda pair: pair[0]):
        if service.code not in seen:
            seen.add(service.code)
            pinned.append(service)
    rest = [service for service in items if service.code not in seen]
    rest.sort(key=lambda s: (s.count <= 0, sort_key(s.name)))
    return pinned + rest


@dataclass(frozen=True, slots=True)
class PeriodOption:
    period: Period
    total: Decimal | None  # None: SMSPVA listed no price for this period
    per_day: Decimal | None
    best: bool = False


@dataclass(frozen=True, slots=True)
class PeriodPicker:
    first: list[PeriodOption]  # shown at once
    more: list[PeriodOption]  # behind "More"

    @property
    def best(self) -> PeriodOption | None:
        return next((option for option in self.first if option.best), None)


def per_day(period: Period, total: Decimal) -> Decimal:
    return (total / period.days).quantize(CENT, rounding=ROUND_HALF_UP)


def period_picker(totals: Iterable[tuple[Period, Decimal | None]]) -> PeriodPicker:
    """Split priced periods into the ones shown first (FIRST_PERIODS, in their order) and "More"
    (the rest, shortest first), and mark the best value among those shown first: the lowest price
    per day, the shorter period on a tie. No mark when nothing is cheaper per day than the shortest
    priced period (a "best value" that saves nothing would mislead)."""
    options = {
        period: PeriodOption(period, total, per_day(period, total) if total is not None else None)
        for period, total in totals
    }
    first = [options[period] for period in FIRST_PERIODS if period in options]
    more = sorted((o for p, o in options.items() if p not in FIRST_PERIODS), key=lambda o: o.period.days)
    priced = [option for option in first if option.per_day is not None]
    if priced:
        baseline = min(priced, key=lambda o: o.period.days)
        best = min(priced, key=lambda o: (o.per_day, o.period.days))
        if best.per_day is not None and baseline.per_day is not None and best.per_day < baseline.per_day:
            first = [PeriodOption(o.period, o.total, o.per_day, best=True) if o is best else o for o in first]
    return PeriodPicker(first=first, more=more)
