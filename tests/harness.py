"""Runs the real bot — assembled exactly as `python -m bot` assembles it — against the two fakes."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any

from bot.app import App, create_app
from bot.config import Settings
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:TEST-token"


class ErrorCollector(logging.Handler):
    """Collects every record from DEBUG up: ERRORs fail the test (aiogram's handler-exception logs
    and our errors router alike), and all of them are searched for secrets."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.all: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("tests."):
            return  # the fakes' own logs are test code, not the bot's output
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.all.append(f"{record.name}: {text}")
        if record.levelno >= logging.ERROR:
            self.records.append(record)


def secrets_in_logs(lines: list[str], smspva: FakeSmspva) -> list[str]:
    """API keys, SMS texts and full phone numbers the fake handed out, found in any log line."""
    keys = {call.params["apikey"] for call in smspva.calls if call.params.get("apikey")}
    orders = list(smspva.orders.values()) + [item.order for item in smspva.history.values()]
    numbers: set[str] = set()
    texts: set[str] = set()
    for order in orders:
        numbers.add(order.pnumber)
        texts.update(sms.text for sms in [*order.sms, *order.other_sms])
    needles = {n for n in keys | numbers | texts if len(n) >= 6}
    return sorted({needle for needle in needles for line in lines if needle in line})


def make_settings(tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "telegram_api_url": tg.base_url,
        "smspva_api_url": smspva.url,
        "smspva_balance_url": smspva.balance_url,
        "database_path": tmp_path / "bot.sqlite3",
        "smspva_min_interval_seconds": 0.0,
        "smspva_timeout_seconds": 2.0,
        "poll_active_seconds": 0.3,
        "poll_idle_seconds": 1.0,
        "log_level": "DEBUG",
        "throttle_per_minute": 10_000,  # tests and benchmarks tap fast; throttling has its own test
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_overrides() -> dict[str, Any]:
    port = free_port()
    return {
        "webhook_url": f"http://127.0.0.1:{port}/tg/webhook",
        "webhook_secret": "test-secret_123",
        "webhook_host": "127.0.0.1",
        "webhook_port": port,
    }


class BotRunner:
    """Start, stop and restart the bot process-equivalent inside the test's event loop."""

    def __init__(self, settings: Settings, tg: FakeTelegram) -> None:
        self.settings = settings
        self.tg = tg
        self.app: App | None = None
        self._task: asyncio.Task[None] | None = None

    def _ready_marker(self) -> int:
        method = "setWebhook" if self.settings.webhook_url else "getUpdates"
        return len(self.tg.calls_of(method))

    async def start(self) -> App:
        before = self._ready_marker()
        self.app = await create_app(self.settings)
        self._task = asyncio.create_task(self.app.serve(handle_signals=False))
        await self.tg.wait_for(
            lambda: self._ready_marker() > before or (self._task and self._task.done()),
            timeout=10,
        )
        if self._task.done():
            self._task.result()  # re-raise a startup failure
        return self.app

    async def stop(self) -> None:
        if self.app is None or self._task is None:
            return
        if not self._task.done():
            await self.app.stop()
        await asyncio.wait_for(self._task, timeout=15)
        await self.app.close()
        self.app = None
        self._task = None

    async def restart(self) -> App:
        await self.stop()
        return await self.start()
