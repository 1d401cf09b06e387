"""Pure formatting helpers: SMS codes, money, dates, phone numbers."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import Settings
from bot.formatting import extract_code, local_datetime, money, phone, phone_html

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Code Instagram: 671 094.", "671094"),
        ("Your code is 671-094", "671094"),
        ("G-123456 is your Google verification code.", "G-123456"),
        ("Telegram code: AB12CD", "AB12CD"),
        ("Ваш код: 4821", "4821"),
        ("رمز التحقق الخاص بك هو 827364", "827364"),
        ("<b>Code</b> 1234 & <script>x</script>", "1234"),
        ("Use 1234 or 5678 to log in", None),  # two candidates: no guess
        ("Hello there, welcome!", None),
        ("Call +7 909 603 7108 now", None),
    ],
)
def test_extract_code(text: str, code: str | None) -> None:
    assert extract_code(text) == code


def test_money_is_locale_aware_with_two_decimals() -> None:
    assert money(Decimal("12.5"), "en") == "$12.50"
    assert money(Decimal("12.5"), "ru").replace("\u00a0", " ") == "12,50 $"
    assert "12.50" in money(Decimal("12.5"), "ar")


def test_dates_use_the_users_zone() -> None:
    assert local_datetime(0, "UTC", "en") == "Jan 1, 1970 00:00"
    assert local_datetime(0, "Asia/Dubai", "en") == "Jan 1, 1970 04:00"
    assert local_datetime(0, "Not/AZone", "en") == "Jan 1, 1970 00:00"  # unknown zone: UTC


def test_phone_numbers() -> None:
    assert phone("+7", "9096037108") == "+7 9096037108"
    assert phone("7", "9096037108") == "+7 9096037108"
    html = phone_html("+7", "9096037108")
    assert "<code>+7 9096037108</code>" in html  # the isolates stay outside the copied text


def test_every_setting_is_documented_in_env_example() -> None:
    env = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        match = re.search(rf"^# .+\n{name.upper()}=", env, re.MULTILINE)
        assert match, f"{name.upper()} is missing from .env.example or has no comment line"


def test_archive_numbers_split_like_orders() -> None:
    from bot.formatting import plain_phone, split_full_number

    assert split_full_number("RU", "79020831944") == ("+7", "9020831944")
    assert split_full_number("uk", "447911123456") == ("+44", "7911123456")
    assert split_full_number("EN", "447911123456") == ("+44", "7911123456")
    # Unknown country, or a number that does not start with its code: "+" and the digits, as is.
    assert split_full_number("XX", "12345") == ("", "+12345")
    assert split_full_number("RU", "380501234567") == ("", "+380501234567")
    assert plain_phone(*split_full_number("RU", "79020831944")) == plain_phone("+7", "9020831944")
    assert plain_phone(*split_full_number("XX", "12345")) == "+12345"


def test_screen_tracker_hands_back_the_previous_screen_once() -> None:
    from bot.handlers.screen import ScreenTracker

    tracker = ScreenTracker(limit=2)
    assert tracker.swap(1, 10) is None
    assert tracker.swap(1, 10) is None  # the same message: nothing to tidy
    assert tracker.swap(1, 11) == 10
    assert tracker.swap(2, 20) is None
    assert tracker.swap(3, 30) is None  # over the limit: the oldest chat is forgotten
    assert tracker.swap(1, 12) is None
