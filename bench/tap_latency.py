"""Tap latency: with the catalog cached, a button press is answered (answerCallbackQuery + edit) fast and
without any SMSPVA call.

The real bot (assembled by ``bot.app.create_app``, exactly as ``python -m bot`` does) runs in this process
against the two fakes. The benchmark adds two probes before polling starts:

* an outer middleware on ``dp.update`` timing the whole handling of each update (middlewares, filters,
  handler, its Bot API calls) -- "handler time";
* a Bot API session middleware adding up the time spent waiting on Telegram (the fake) inside that
  update -- "api time". handler - api = "own time" (our code, SQLite, rendering).

One user sends /rent and then presses through a cycle of six cached screens: countries page ▶️, a country
(services), services page ▶️, a service (the period screen: 15 period prices), ◀️ Back to services,
◀️ Back to countries. Two warm-up cycles fill the catalog cache first. Measured taps stay inside the
30-second cache window: when a segment would outlive it, the run waits for the cache to expire and warms
it again (those calls are not counted). The SMSPVA fake's call log must not grow during measured taps.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update

from bench._common import summarize, verdict, write_result
from bot.app import create_app
from bot.callbacks import RentAction, RentCb
from bot.services.catalog import CACHE_SECONDS
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.harness import ErrorCollector, make_settings

TARGET_P95_MS = 20.0


@dataclass
class UpdateRecord:
    update_id: int
    total: float = 0.0
    api: float = 0.0
    gc: float = 0.0  # garbage-collector pauses while this update was being handled
    gc_full: int = 0  # of which generation-2 (full) collections
    api_methods: list[str] = field(default_factory=list)


class GcClock:
    """Adds up the collector's pauses (gc.callbacks), to tell GC outliers from slow code."""

    def __init__(self) -> None:
        self.total = 0.0
        self.full = 0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._began
            if info.get("generation") == 2:
                self.full += 1


GC_CLOCK = GcClock()


_current: ContextVar[UpdateRecord | None] = ContextVar("bench_update", default=None)


class UpdateTimer(BaseMiddleware):
    """Outer middleware on dp.update: wall time of each update's whole handling."""

    def __init__(self) -> None:
        self.records: dict[int, UpdateRecord] = {}
        self._waiters: dict[int, asyncio.Future[UpdateRecord]] = {}

    def expect(self, update_id: int) -> asyncio.Future[UpdateRecord]:
        future: asyncio.Future[UpdateRecord] = asyncio.get_running_loop().create_future()
        self._waiters[update_id] = future
        return future

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        record = UpdateRecord(update_id=event.update_id)
        token = _current.set(record)
        gc_before, full_before = GC_CLOCK.total, GC_CLOCK.full
        began = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            record.total = time.perf_counter() - began
            record.gc = GC_CLOCK.total - gc_before
            record.gc_full = GC_CLOCK.full - full_before
            _current.reset(token)
            self.records[event.update_id] = record
            waiter = self._waiters.pop(event.update_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(record)


class ApiTimer(BaseRequestMiddleware):
    """Bot API session middleware: time spent waiting on Telegram, charged to the current update."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        record = _current.get()
        began = time.perf_counter()
        try:
            return await make_request(bot, method)
        finally:
            if record is not None:
                record.api += time.perf_counter() - began
                record.api_methods.append(method.__api_method__)


def _rent_buttons(message: BotMessage) -> list[tuple[str, RentCb]]:
    found: list[tuple[str, RentCb]] = []
    for row in message.buttons():
        for button in row:
            data = button.get("callback_data")
            if isinstance(data, str) and data.startswith(RentCb.__prefix__ + RentCb.__separator__):
                with contextlib.suppress(ValueError, TypeError):
                    found.append((str(button.get("text", "")), RentCb.unpack(data)))
    return found


def _pick(message: BotMessage, step: str) -> str:
    """The callback data of the button a person would press next in the cycle."""
    buttons = _rent_buttons(message)

    def first(predicate: Callable[[str, RentCb], bool]) -> str:
        for label, cb in buttons:
            if predicate(label, cb):
                return cb.pack()
        labels = [label for label, _ in buttons]
        raise AssertionError(f"step {step!r}: no matching button on {message.text[:60]!r}; {labels}")

    if step == "countries ▶️":
        return first(lambda label, cb: cb.action == RentAction.COUNTRIES and label == "▶️")
    if step == "country":
        return first(lambda label, cb: cb.action == RentAction.COUNTRY)
    if step == "services ▶️":
        return first(lambda label, cb: cb.action == RentAction.SERVICES and label == "▶️")
    if step == "service → periods":
        return first(lambda label, cb: cb.action == RentAction.SERVICE and not label.startswith("⛔"))
    if step in ("◀️ back to services", "◀️ back to countries"):
        return first(lambda label, cb: label.startswith("◀️") and label != "◀️")
    raise ValueError(step)


CYCLE = (
    "countries ▶️",
    "country",
    "services ▶️",
    "service → periods",
    "◀️ back to services",
    "◀️ back to countries",
)


@dataclass
class Tap:
    step: str
    handler_ms: float
    api_ms: float
    own_ms: float
    gc_ms: float
    gc_full: int
    answer_ms: float | None  # press -> answerCallbackQuery reached the fake (includes long-poll pickup)
    edit_ms: float | None  # press -> editMessageText reached the fake
    api_methods: list[str]


class Driver:
    def __init__(self, tg: FakeTelegram, timer: UpdateTimer, user: FakeUser, message_id: int) -> None:
        self.tg = tg
        self.timer = timer
        self.user = user
        self.message_id = message_id

    def message(self) -> BotMessage:
        return next(m for m in self.tg.messages(self.user.id) if m.message_id == self.message_id)

    async def tap(self, step: str) -> Tap:
        data = _pick(self.message(), step)
        calls_before = len(self.tg.calls)
        edits_before = self.message().edits
        pressed = time.monotonic()
        query_id = self.tg.press(self.user, self.message_id, data)
        update_id = self.tg.pending_updates[-1]["update_id"]
        record = await asyncio.wait_for(self.timer.expect(update_id), timeout=30)
        if self.tg.answered(query_id) is None:
            raise AssertionError(f"step {step!r}: callback query was not answered")
        if self.message().edits <= edits_before:
            raise AssertionError(f"step {step!r}: the screen was not edited ({record.api_methods})")
        answer_at = edit_at = None
        for call in self.tg.calls[calls_before:]:
            name = call.method.lower()
            if name == "answercallbackquery" and call.params.get("callback_query_id") == query_id:
                answer_at = call.at
            elif name == "editmessagetext" and edit_at is None:
                edit_at = call.at
        return Tap(
            step=step,
            handler_ms=record.total * 1000,
            api_ms=record.api * 1000,
            own_ms=(record.total - record.api) * 1000,
            gc_ms=record.gc * 1000,
            gc_full=record.gc_full,
            answer_ms=(answer_at - pressed) * 1000 if answer_at is not None else None,
            edit_ms=(edit_at - pressed) * 1000 if edit_at is not None else None,
            api_methods=record.api_methods,
        )

    async def cycle(self) -> list[Tap]:
        return [await self.tap(step) for step in CYCLE]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    errors = ErrorCollector()
    logging.getLogger().addHandler(errors)
    gc.callbacks.append(GC_CLOCK)
    smspva = FakeSmspva()
    tg = FakeTelegram()
    await smspva.start()
    await tg.start()
    tmp = tempfile.TemporaryDirectory(prefix="bench-tap-")
    app = None
    serve: asyncio.Task[None] | None = None
    try:
        settings = make_settings(
            Path(tmp.name),
            tg,
            smspva,
            poll_active_seconds=5.0,
            poll_idle_seconds=30.0,
            smspva_min_interval_seconds=1.0,
            smspva_timeout_seconds=20.0,
            log_level="WARNING",
            # One bench user taps far faster than a person: THROTTLE_PER_MINUTE (40) would answer most
            # taps with "you're going a bit fast". The middleware still runs (its cost is measured).
            throttle_per_minute=1_000_000,
        )
        app = await create_app(settings)
        timer = UpdateTimer()
        app.dp.update.outer_middleware(timer)
        app.bot.session.middleware(ApiTimer())
        serve = asyncio.create_task(app.serve(handle_signals=False))
        await tg.wait_for(lambda: tg.calls_of("getUpdates") or serve.done(), timeout=15)
        if serve.done():
            serve.result()

        user = FakeUser(id=1001, first_name="Bench", language_code=args.language)
        command_id = tg.send_text(user, "/rent")
        screen = await tg.wait_message(user.id, after=command_id, timeout=15)
        driver = Driver(tg, timer, user, screen.message_id)

        async def warm_up() -> None:
            for _ in range(args.warmup_cycles):
                await driver.cycle()

        warm_began = time.monotonic()
        await warm_up()
        warmup_calls = len(smspva.calls)
        taps: list[Tap] = []
        upstream_during_taps = 0
        segments = 1
        rewarm_calls = 0
        segment_limit = CACHE_SECONDS - args.cache_margin
        started = time.monotonic()
        baseline = len(smspva.calls)
        step_index = 0
        while len(taps) < args.taps:
            if time.monotonic() - warm_began > segment_limit:
                # Let every cached entry expire, then fill the cache again (not counted).
                upstream_during_taps += len(smspva.calls) - baseline
                await asyncio.sleep(max(0.0, warm_began + CACHE_SECONDS + 0.5 - time.monotonic()))
                before = len(smspva.calls)
                warm_began = time.monotonic()
                # Finish the cycle we are in (refilling the cache), then warm up from the countries page.
                while step_index % len(CYCLE):
                    await driver.tap(CYCLE[step_index % len(CYCLE)])
                    step_index += 1
                await warm_up()
                rewarm_calls += len(smspva.calls) - before
                baseline = len(smspva.calls)
                segments += 1
            taps.append(await driver.tap(CYCLE[step_index % len(CYCLE)]))
            step_index += 1
        upstream_during_taps += len(smspva.calls) - baseline
        elapsed = time.monotonic() - started
    finally:
        if app is not None and serve is not None:
            if not serve.done():
                with contextlib.suppress(RuntimeError):
                    await app.dp.stop_polling()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serve, timeout=15)
            await app.close()
        await tg.stop()
        await smspva.stop()
        tmp.cleanup()
        logging.getLogger().removeHandler(errors)
        gc.callbacks.remove(GC_CLOCK)

    per_step = {
        step: {
            "handler_ms": summarize([t.handler_ms for t in taps if t.step == step]),
            "own_ms": summarize([t.own_ms for t in taps if t.step == step]),
        }
        for step in CYCLE
    }
    handler = summarize([t.handler_ms for t in taps])
    methods = sorted({"+".join(t.api_methods) for t in taps})
    return {
        "config": {
            "taps": args.taps,
            "warmup_cycles": args.warmup_cycles,
            "language": args.language,
            "cache_seconds": CACHE_SECONDS,
            "cycle": list(CYCLE),
        },
        "handler_ms": handler,
        "api_wait_ms": summarize([t.api_ms for t in taps]),
        "own_ms": summarize([t.own_ms for t in taps]),
        "handler_minus_gc_ms": summarize([t.handler_ms - t.gc_ms for t in taps]),
        "gc": {
            "taps_with_a_pause_over_1ms": sum(t.gc_ms > 1 for t in taps),
            "taps_with_a_full_collection": sum(t.gc_full > 0 for t in taps),
            "max_pause_in_a_tap_ms": round(max((t.gc_ms for t in taps), default=0.0), 2),
        },
        "press_to_answer_ms": summarize([t.answer_ms for t in taps if t.answer_ms is not None]),
        "press_to_edit_ms": summarize([t.edit_ms for t in taps if t.edit_ms is not None]),
        "per_step": per_step,
        "bot_api_calls_per_tap": methods,
        "smspva_calls": {
            "warmup": warmup_calls,
            "rewarm_between_segments": rewarm_calls,
            "during_measured_taps": upstream_during_taps,
        },
        "segments": segments,
        "elapsed_seconds": round(elapsed, 2),
        "error_logs": [f"{r.name}: {r.getMessage()}"[:300] for r in errors.records][:10],
        "target": {"handler_p95_ms_below": TARGET_P95_MS},
        "pass": {
            "p95": handler.get("p95", 1e9) < TARGET_P95_MS,
            "no_upstream_calls": upstream_during_taps == 0,
        },
    }


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tap_latency",
        description="Handler time per button tap on cached rent screens (target p95 < 20 ms, no SMSPVA calls).",
    )
    parser.add_argument("--taps", type=int, default=300, help="measured taps (default 300)")
    parser.add_argument(
        "--warmup-cycles", type=int, default=2, help="unmeasured cycles of 6 taps (default 2)"
    )
    parser.add_argument("--language", default="en", choices=["en", "ru", "ar"], help="the user's language")
    parser.add_argument(
        "--cache-margin",
        type=float,
        default=5.0,
        help="start a new segment this many seconds before the 30 s cache would expire (default 5)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    result = asyncio.run(run(args))
    path = write_result("tap_latency", result)
    h, own, edit = result["handler_ms"], result["own_ms"], result["press_to_edit_ms"]
    calls = result["smspva_calls"]["during_measured_taps"]
    print(f"tap latency: {h['n']} taps in {result['segments']} segment(s), {result['elapsed_seconds']} s")
    print(f"  handler time  p50 {h['p50']:.1f} ms  p95 {h['p95']:.1f} ms  max {h['max']:.1f} ms")
    print(f"  own (minus Bot API wait)  p50 {own['p50']:.1f}  p95 {own['p95']:.1f}  max {own['max']:.1f} ms")
    print(
        f"  press -> edit at the fake  p50 {edit['p50']:.1f}  p95 {edit['p95']:.1f}  max {edit['max']:.1f} ms"
    )
    for step, stats in result["per_step"].items():
        s = stats["handler_ms"]
        print(f"    {step:<22} p50 {s['p50']:6.1f}  p95 {s['p95']:6.1f}  max {s['max']:6.1f} ms")
    g, nogc = result["gc"], result["handler_minus_gc_ms"]
    print(
        f"  GC: {g['taps_with_a_full_collection']} tap(s) hit a full collection, longest pause in a tap"
        f" {g['max_pause_in_a_tap_ms']} ms; handler minus GC  p95 {nogc['p95']:.1f}  max {nogc['max']:.1f} ms"
    )
    print(f"  SMSPVA calls during measured taps: {calls}")
    print(
        f"  target p95 < {TARGET_P95_MS:.0f} ms: {verdict(result['pass']['p95'])};"
        f" no upstream calls: {verdict(result['pass']['no_upstream_calls'])}"
    )
    if result["error_logs"]:
        print(f"  ERROR logs: {result['error_logs']}")
    print(f"  result: {path}")


if __name__ == "__main__":
    main()
