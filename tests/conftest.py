"""Shared fixtures: the two fakes and the real bot running against them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.logs import tame_libraries
from bot.smspva import install_redaction
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.harness import BotRunner, ErrorCollector, make_settings, secrets_in_logs, webhook_overrides

API_KEY = "demoKey1234567890abcdefABCDEF12"


@pytest.fixture
async def smspva() -> AsyncIterator[FakeSmspva]:
    fake = FakeSmspva(activation_delay=0.5, online_duration=600)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def error_logs() -> Iterator[ErrorCollector]:
    """Every log record of the test, at DEBUG, with the production redaction filter in place."""
    collector = ErrorCollector()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    tame_libraries(logging.DEBUG)  # exactly what setup_logging does in production
    root.addHandler(collector)
    flt = install_redaction()
    collector.addFilter(flt)
    yield collector
    root.removeHandler(collector)
    root.setLevel(level)


@pytest.fixture
def bot_overrides() -> dict[str, object]:
    """Override in a test module (or with indirect parametrisation) to change Settings."""
    return {}


@pytest.fixture(params=["polling", "webhook"])
def bot_mode(request: pytest.FixtureRequest) -> str:
    """Every end-to-end test runs in both modes: long polling, and webhook delivery by the fake."""
    return str(request.param)


@pytest.fixture
async def runner(
    tmp_path: Path,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    error_logs: ErrorCollector,
    bot_overrides: dict[str, object],
    bot_mode: str,
    request: pytest.FixtureRequest,
) -> AsyncIterator[BotRunner]:
    mode_overrides = webhook_overrides() if bot_mode == "webhook" else {}
    settings = make_settings(tmp_path, tg, smspva, **mode_overrides, **bot_overrides)
    bot_runner = BotRunner(settings, tg)
    await bot_runner.start()
    yield bot_runner
    await bot_runner.stop()
    if request.node.get_closest_marker("allow_error_logs") is None:
        messages = [f"{r.name}: {r.getMessage()}" for r in error_logs.records]
        assert not messages, f"the bot logged errors: {messages}"
    leaked = secrets_in_logs(error_logs.all, smspva)
    assert not leaked, f"secrets reached the logs: {leaked}"


@pytest.fixture
def alice() -> FakeUser:
    return FakeUser(id=1001, first_name="Alice", language_code="en")


@pytest.fixture
def boris() -> FakeUser:
    return FakeUser(id=1002, first_name="Борис", language_code="ru")


@pytest.fixture
def amal() -> FakeUser:
    return FakeUser(id=1003, first_name="أمل", language_code="ar")
