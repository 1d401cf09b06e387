"""Upstream cost: SMSPVA calls per user per hour made by the bot's background polling, by kind of user.

Three kinds of linked users, --per-kind of each (seeded straight into the bot's database):

* ``no_orders``  -- a key but no live order (polled only to discover numbers rented on the website);
* ``idle``       -- one live order, not active (state 0): polled every POLL_IDLE_SECONDS;
* ``active``     -- one active order (state 1): its ``sms`` is read every 0.94 x POLL_ACTIVE_SECONDS (the
  ``sms`` ticks), ``orders`` every 3 x POLL_IDLE_SECONDS.

The bot runs as ``python -m bot`` in a child process with the production defaults (POLL_ACTIVE_SECONDS=5,
POLL_IDLE_SECONDS=30, SMSPVA_MIN_INTERVAL_SECONDS=1) unless told otherwise; the SMSPVA fake (in this
process) logs every call with its API key and the fake's clock (``Call.at``, time.time()). After every
order's baseline is taken and --settle seconds have passed, calls whose key belongs to each kind are
counted over --window seconds and extrapolated to one hour. Keyless catalog calls (getcountries/getdata)
are reported apart: nobody browses during the window, so there should be none.

The SMSPVA web page refreshes every 30 s: 120 calls per hour per open tab.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench._common import BotProcess, ProcMonitor, bot_process_for, seed_users, wait_synced, write_result
from bot.services.poller import DISCOVERY_SECONDS, ONLINE_ORDERS_IDLE_FACTOR, SMS_GAP_FACTOR
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser

WEB_PAGE_PER_HOUR = 120.0  # the SMSPVA page refreshes every 30 s
KINDS = ("no_orders", "idle", "active")
FIRST_USER_ID = 300_001


def apikey_for(kind: str, index: int) -> str:
    return f"benchCost{kind[:2]}{index:04d}".ljust(32, "x")


def expected_per_hour(kind: str, active: float, idle: float, min_interval: float) -> float:
    """What the poller's schedule implies (calls per user per hour)."""
    if kind == "no_orders":
        return 3600 / DISCOVERY_SECONDS  # orders only
    if kind == "idle":
        return 3600 / idle  # orders only: no sms call for an offline order without hasnewsms
    # `sms` ticks every SMS_GAP_FACTOR x active (never faster than the key's pace), `orders` every
    # ONLINE_ORDERS_IDLE_FACTOR x idle: 766 + 40 = 806/h with the defaults.
    tick = max(SMS_GAP_FACTOR * active, min_interval)
    return 3600 / tick + 3600 / (ONLINE_ORDERS_IDLE_FACTOR * idle)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    smspva = FakeSmspva()
    tg = FakeTelegram()
    await smspva.start()
    await tg.start()
    tmp = tempfile.TemporaryDirectory(prefix="bench-cost-")
    workdir = Path(tmp.name)
    db_path = workdir / "data" / "bot.sqlite3"
    bot: BotProcess | None = None
    monitor: ProcMonitor | None = None
    kind_of_key: dict[str, str] = {}
    try:
        entries: list[tuple[int, str]] = []
        with_orders = 0
        user_id = FIRST_USER_ID
        for kind in KINDS:
            for index in range(args.per_kind):
                key = apikey_for(kind, index)
                kind_of_key[key] = kind
                smspva.add_account(key, balance=100)
                if kind != "no_orders":
                    smspva.add_order(key, service="opt16", state=1 if kind == "active" else 0, days_left=30)
                    with_orders += 1
                tg.add_user(FakeUser(id=user_id))
                entries.append((user_id, key))
                user_id += 1
        await seed_users(db_path, entries)
        bot = bot_process_for(args, workdir, tg.base_url, smspva.url, db_path)
        await bot.start(tg)
        monitor = ProcMonitor(bot.pid)
        monitor.start()
        baseline = await wait_synced(db_path, with_orders, timeout=args.baseline_timeout)
        print(
            f"  baseline of {with_orders} orders taken after {baseline:.1f} s; settling {args.settle:.0f} s"
        )
        await asyncio.sleep(args.settle)
        window_start = smspva._now_f()
        cpu_start = monitor.samples[-1].cpu_seconds if monitor.samples else 0.0
        print(f"  counting calls for {args.window:.0f} s")
        await asyncio.sleep(args.window)
        window_end = smspva._now_f()
        cpu_end = monitor.samples[-1].cpu_seconds if monitor.samples else 0.0
        calls = [c for c in smspva.calls if window_start <= c.at < window_end]
    finally:
        if monitor is not None:
            await monitor.stop()
        if bot is not None:
            await bot.stop()
        await tg.stop()
        await smspva.stop()

    seconds = window_end - window_start
    per_kind: dict[str, Any] = {}
    for kind in KINDS:
        mine = [c for c in calls if kind_of_key.get(c.params.get("apikey", "")) == kind]
        by_method = Counter(c.method for c in mine)
        per_user_hour = len(mine) / args.per_kind / seconds * 3600
        expected = expected_per_hour(kind, args.poll_active, args.poll_idle, args.min_interval)
        per_kind[kind] = {
            "calls_in_window": len(mine),
            "by_method": dict(by_method),
            "per_user_per_hour": round(per_user_hour, 1),
            "expected_per_user_per_hour": round(expected, 1),
            "vs_web_page": round(per_user_hour / WEB_PAGE_PER_HOUR, 2),
        }
    keyless = Counter(c.method for c in calls if not c.params.get("apikey"))
    result = {
        "config": {
            "per_kind": args.per_kind,
            "window_seconds": round(seconds, 1),
            "settle_seconds": args.settle,
            "poll_active_seconds": args.poll_active,
            "poll_idle_seconds": args.poll_idle,
            "smspva_min_interval_seconds": args.min_interval,
            "discovery_seconds": DISCOVERY_SECONDS,
        },
        "web_page_per_hour": WEB_PAGE_PER_HOUR,
        "per_kind": per_kind,
        "keyless_calls_in_window": dict(keyless),
        "bot": {
            "cpu_seconds_in_window": round(cpu_end - cpu_start, 2),
            "peak_rss_mb": round(monitor.peak_rss_mb, 1) if monitor else None,
            "log_levels": bot.log_levels() if bot else {},
            "error_lines": bot.error_lines() if bot else [],
        },
    }
    tmp.cleanup()
    return result


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.upstream_cost",
        description="SMSPVA calls per user per hour (no orders / idle order / active order) vs the web page's 120/h.",
    )
    parser.add_argument(
        "--window", type=float, default=120.0, help="counting window in seconds (default 120)"
    )
    parser.add_argument("--per-kind", type=int, default=3, help="users of each kind (default 3)")
    parser.add_argument("--settle", type=float, default=5.0, help="wait after the baseline (default 5 s)")
    parser.add_argument("--poll-active", type=float, default=5.0, help="POLL_ACTIVE_SECONDS (default 5)")
    parser.add_argument("--poll-idle", type=float, default=30.0, help="POLL_IDLE_SECONDS (default 30)")
    parser.add_argument(
        "--min-interval", type=float, default=1.0, help="SMSPVA_MIN_INTERVAL_SECONDS (default 1)"
    )
    parser.add_argument("--baseline-timeout", type=float, default=300.0, help="default 300 s")
    parser.add_argument("--log-level", default="INFO", help="the bot's LOG_LEVEL (default INFO)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    print(f"upstream cost: {args.per_kind} user(s) per kind, window {args.window:.0f} s")
    started = time.monotonic()
    result = asyncio.run(run(args))
    path = write_result("upstream_cost", result)
    print(f"  {'kind':<10} {'calls/user/h':>13} {'expected':>9} {'vs web page (120/h)':>20}  methods")
    for kind, row in result["per_kind"].items():
        print(
            f"  {kind:<10} {row['per_user_per_hour']:>13.1f} {row['expected_per_user_per_hour']:>9.1f}"
            f" {row['vs_web_page']:>19.2f}x  {row['by_method']}"
        )
    if result["keyless_calls_in_window"]:
        print(f"  keyless calls in the window: {result['keyless_calls_in_window']}")
    if result["bot"]["error_lines"]:
        print(f"  bot ERROR lines: {result['bot']['error_lines']}")
    print(f"  ({time.monotonic() - started:.0f} s) result: {path}")


if __name__ == "__main__":
    main()
