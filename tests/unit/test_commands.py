"""The bot's description and short description: per language, within Telegram's limits, and a
failure to set them is a warning, never a failed start."""

from __future__ import annotations

import logging
import re
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNotFound
from aiogram.methods import SetMyDescription
from aiogram.utils.i18n import I18n

from bot.commands import (
    DESCRIPTION_LIMIT,
    SHORT_DESCRIPTION_LIMIT,
    description,
    set_descriptions,
    short_description,
)
from bot.i18n import LANGUAGES, create_i18n

ARABIC = re.compile("[\u0600-\u06ff]")
CYRILLIC = re.compile("[\u0400-\u04ff]")


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n()


def texts(i18n: I18n, locale: str) -> tuple[str, str]:
    with i18n.context(), i18n.use_locale(locale):
        return description(), short_description()


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_descriptions_fit_telegrams_limits(i18n: I18n, locale: str) -> None:
    long, short = texts(i18n, locale)
    assert 0 < len(long) <= DESCRIPTION_LIMIT
    assert 0 < len(short) <= SHORT_DESCRIPTION_LIMIT
    assert "SMSPVA" in long
    assert "SMSPVA" in short
    assert "<" not in long  # plain text: Telegram shows no HTML there


def test_descriptions_are_translated(i18n: I18n) -> None:
    english, russian, arabic = (texts(i18n, locale) for locale in ("en", "ru", "ar"))
    assert "SMS" in english[0]
    assert all(CYRILLIC.search(text) for text in russian)
    assert all(ARABIC.search(text) for text in arabic)


class RecordingBot:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[tuple[str, str, str | None]] = []

    async def set_my_description(self, text: str, language_code: str | None = None, **_: Any) -> bool:
        if self.fail:
            raise TelegramNotFound(method=SetMyDescription(description=text), message="Not Found")
        self.calls.append(("description", text, language_code))
        return True

    async def set_my_short_description(self, text: str, language_code: str | None = None, **_: Any) -> bool:
        self.calls.append(("short", text, language_code))
        return True


async def test_set_per_language_and_a_default(i18n: I18n) -> None:
    bot = RecordingBot()
    await set_descriptions(cast(Bot, bot), i18n)
    described = {code: text for kind, text, code in bot.calls if kind == "description"}
    shorts = {code: text for kind, text, code in bot.calls if kind == "short"}
    assert set(described) == set(shorts) == {"en", "ru", "ar", None}
    assert described["ar"] == texts(i18n, "ar")[0]
    assert shorts["ru"] == texts(i18n, "ru")[1]
    assert described[None] == described["en"]  # users of other languages get English


async def test_a_failure_is_a_warning_not_a_failed_start(
    i18n: I18n, caplog: pytest.LogCaptureFixture
) -> None:
    bot = RecordingBot(fail=True)
    with caplog.at_level(logging.WARNING, logger="bot.commands"):
        await set_descriptions(cast(Bot, bot), i18n)
    warnings = [r for r in caplog.records if r.name == "bot.commands"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "TelegramNotFound" in warnings[0].getMessage()
