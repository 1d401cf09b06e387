"""Picker orderings: popular countries and services first, and the period picker's grouping."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from aiogram.utils.i18n import I18n

from bot.formatting import country_name, flag, strip_bidi
from bot.i18n import create_i18n
from bot.periods import ALL_PERIODS, Period
from bot.popular import (
    FIRST_PERIODS,
    distinct_names,
    order_countries,
    order_services,
    period_picker,
)
from bot.smspva import PeriodType, Service

WEEK, MONTH = PeriodType.WEEK, PeriodType.MONTH


def names(locale: str, codes: list[str]) -> list[tuple[str, str]]:
    return [(code, country_name(code, f"api-{code}", locale)) for code in codes]


API_CODES = ["RU", "KZ", "UA", "UK", "EN", "US", "DE", "FR", "NL", "PL", "EE", "ID", "PH", "XX"]


def test_countries_recent_then_popular_then_alphabetical() -> None:
    ordered = [code for code, _ in order_countries(names("en", API_CODES), recent=["ID", "RU"])]
    assert ordered[:2] == ["ID", "RU"]  # the user's recent ones, most recent first
    assert ordered[2:10] == ["US", "UK", "DE", "FR", "NL", "PL", "KZ", "UA"]  # curated, RU not twice
    rest = ordered[10:]
    labels = dict(names("en", API_CODES))
    assert [labels[code] for code in rest] == ["api-XX", "England", "Estonia", "Philippines"]
    assert sorted(ordered) == sorted(API_CODES)  # every country exactly once


def test_countries_alphabetical_in_the_users_language() -> None:
    i18n = create_i18n()
    with i18n.context():
        entries = names("ru", ["EE", "PH", "ID", "EN"])
    ordered = [name for _code, name in order_countries(entries, recent=[], popular=())]
    assert ordered == ["Англия", "Индонезия", "Филиппины", "Эстония"]


def test_no_look_alike_duplicates() -> None:
    # The live API's "UK" is the United Kingdom (flag included); "EN" is England, not a second UK.
    assert flag("UK") == flag("GB") == "🇬🇧"
    assert country_name("UK", "Великобритания", "en") == "United Kingdom"
    assert country_name("EN", "Англия", "en") == "England"
    assert flag("EN") != flag("UK")
    assert flag("EN") != "🌐"
    entries = distinct_names(names("en", ["UK", "GB", "EN", "US"]))
    assert entries == [
        ("UK", "United Kingdom (UK)"),
        ("GB", "United Kingdom (GB)"),
        ("EN", "England"),
        ("US", "United States"),
    ]


@pytest.fixture
def arabic() -> Iterator[I18n]:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ar"):
        yield i18n


@pytest.mark.usefixtures("arabic")
def test_england_is_translated() -> None:
    assert country_name("EN", "Англия") == "إنجلترا"
    assert country_name("UK", "Великобритания") == "المملكة المتحدة"


def svc(code: str, name: str, count: int = 10) -> Service:
    return Service.model_validate({"service": code, "name": name, "price_day": "1", "count": count})


SERVICES = [
    svc("opt46", "Airbnb"),
    svc("opt16", "Instagram", 0),
    svc("opt29", "Telegram"),
    svc("opt20", "WhatsApp"),
    svc("opt1", "Google/Gmail"),
    svc("opt69", "VK"),
    svc("opt59", "Avito", 0),
    svc("opt9", "Tinder"),
]


def test_services_recent_then_popular_then_as_before() -> None:
    ordered = [s.name for s in order_services(SERVICES, recent=["opt69", "opt29"])]
    assert ordered == [
        "VK",  # recent, most recent first
        "Telegram",
        "WhatsApp",  # curated, in curated order; Telegram not twice
        "Google/Gmail",
        "Instagram",  # pinned even with no free numbers
        "Airbnb",  # the rest: rentable first, then by name
        "Tinder",
        "Avito",
    ]


def test_services_unknown_recent_codes_are_ignored() -> None:
    ordered = order_services(SERVICES, recent=["opt999"], popular=())
    rentable = ["Airbnb", "Google/Gmail", "Telegram", "Tinder", "VK", "WhatsApp"]
    assert [s.name for s in ordered] == [*rentable, "Avito", "Instagram"]


def priced(per_day: dict[Period, str]) -> list[tuple[Period, Decimal | None]]:
    """Every offered period, priced at its per-day rate (1 week's rate where not given)."""
    base = Decimal(per_day.get(Period(WEEK, 1), "1"))
    return [(p, Decimal(per_day.get(p, str(base))) * p.days) for p in ALL_PERIODS]


def test_period_picker_shows_weeks_1_to_4_and_months_first() -> None:
    picker = period_picker(priced({}))
    assert [o.period for o in picker.first] == list(FIRST_PERIODS)
    assert [(o.period.dtype, o.period.dcount) for o in picker.first] == [
        (WEEK, 1),
        (WEEK, 2),
        (WEEK, 3),
        (WEEK, 4),
        (MONTH, 1),
        (MONTH, 2),
        (MONTH, 3),
    ]
    assert [o.period.dcount for o in picker.more] == list(range(5, 13))  # 5-12 weeks, shortest first
    assert all(o.period.dtype == WEEK for o in picker.more)
    assert picker.first[1].total == Decimal(14)
    assert picker.first[1].per_day == Decimal("1.00")
    assert picker.best is None  # the same price per day everywhere: nothing to recommend


def test_best_value_is_the_lowest_price_per_day_shown() -> None:
    picker = period_picker(
        priced(
            {
                Period(WEEK, 1): "2",
                Period(WEEK, 4): "1.50",
                Period(MONTH, 1): "1.40",
                Period(MONTH, 3): "1.40",  # a tie: the shorter period wins
                Period(WEEK, 12): "0.50",  # cheaper, but under "More": not marked
            }
        )
    )
    assert picker.best is not None
    assert picker.best.period == Period(MONTH, 1)
    assert picker.best.per_day == Decimal("1.40")
    assert [o.best for o in picker.first].count(True) == 1
    assert not any(o.best for o in picker.more)


def test_unpriced_periods_are_kept_but_never_best() -> None:
    totals: list[tuple[Period, Decimal | None]] = [
        (Period(WEEK, 1), Decimal("14")),
        (Period(WEEK, 2), None),
        (Period(MONTH, 1), Decimal("30")),
    ]
    picker = period_picker(totals)
    assert [o.period for o in picker.first] == [Period(WEEK, 1), Period(WEEK, 2), Period(MONTH, 1)]
    assert picker.first[1].per_day is None
    assert picker.best is not None
    assert picker.best.period == Period(MONTH, 1)
    assert period_picker([]).first == []


def test_country_picker_entries_from_the_live_codes() -> None:
    # The picker's labels: flag + name in the user's language, recent, popular, then A-Z.
    from bot.handlers.rent.countries import country_entries
    from bot.smspva import Country

    listing = [
        Country(code=code, name=name)
        for code, name in (
            ("RU", "Россия"),
            ("UK", "Великобритания"),
            ("EN", "Англия"),
            ("EE", "Эстония"),
            ("US", "США"),
            ("ID", "Индонезия"),
        )
    ]
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        entries = country_entries(listing, recent=["ID"])
    assert entries == [
        ("ID", "🇮🇩 Indonesia"),
        ("US", "🇺🇸 United States"),
        ("UK", "🇬🇧 United Kingdom"),
        ("RU", "🇷🇺 Russia"),
        ("EN", f"{flag('EN')} England"),
        ("EE", "🇪🇪 Estonia"),
    ]
    with i18n.context(), i18n.use_locale("ar"):
        arabic = country_entries(listing, recent=[])
    assert [code for code, _label in arabic][:3] == ["US", "UK", "RU"]
    assert strip_bidi(dict(arabic)["UK"]) == "🇬🇧 المملكة المتحدة"


def test_service_picker_pins_within_a_search_too() -> None:
    from bot.handlers.rent.services import picker_services

    listed = [s.name for s in picker_services(SERVICES, "", recent=["opt9"])]
    assert listed[:5] == ["Tinder", "Telegram", "WhatsApp", "Google/Gmail", "Instagram"]
    # A typed search filters (case-insensitive); what is left keeps the pinned order.
    found = [s.name for s in picker_services(SERVICES, "A", recent=["opt46"])]
    assert found == ["Airbnb", "Telegram", "WhatsApp", "Google/Gmail", "Instagram", "Avito"]
