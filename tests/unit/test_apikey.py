"""What counts as a pasted API key: keys and key URLs do, ordinary input never does."""

from __future__ import annotations

from zoneinfo import available_timezones

import pytest

from bot.apikey import KEY_RE, looks_like_key
from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva


@pytest.mark.parametrize(
    "text",
    [
        API_KEY,
        f"  {API_KEY}\n",
        f"here is my key «{API_KEY}», thanks",
        "wrongKey000000000000000000",
        "https://smspva.com/api/rent.php?method=orders&apikey=abcDEF123",
        "4f3a9c0e-1b2d-4e5f-8a7b-6c5d4e3f2a1b",
    ],
)
def test_keys_are_recognised(text: str) -> None:
    assert looks_like_key(text)


@pytest.mark.parametrize(
    "text",
    [
        "INSTA",
        "инст",
        "WhatsApp Business",
        "Supercalifragilisticexpialidocious",
        "Europe/Istanbul",
        "+7 912 345 67 89",
        "40370",
        "12345678901234567890123",
        "Code: 123456",
        "/key",
        "",
    ],
)
def test_ordinary_input_is_not_a_key(text: str) -> None:
    assert not looks_like_key(text)


def test_no_time_zone_and_no_service_name_looks_like_a_key() -> None:
    names = set(available_timezones())
    for country in FakeSmspva().countries.values():
        names.add(country.name)
        names.update(service.name for service in country.services.values())
    assert [name for name in names if looks_like_key(name)] == []


def test_key_regex_accepts_what_looks_like_a_key() -> None:
    assert KEY_RE.match(API_KEY)
    assert not KEY_RE.match("not a key")
