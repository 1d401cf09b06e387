"""Push latency: from an SMS becoming visible in the SMSPVA fake to the bot's sendMessage reaching the
Telegram fake.

Both fakes run in this process; the bot runs as ``python -m bot`` in a child process with
POLL_ACTIVE_SECONDS / SMSPVA_MIN_INTERVAL_SECONDS as given (defaults 5 and 1, the production defaults).
Users are seeded straight into the bot's database with linked keys, each with one active (state 1) order
in the fake. After the poller has taken its baseline of every order (user_orders.sms_synced = 1), SMS are
injected one at a time at random moments (uniform 0..--max-gap seconds apart) into random users' orders.

Latency = ApiCall.at of the matching sendMessage (time.monotonic() when it reached the Telegram fake)
minus time.monotonic() right after ``inject_sms`` returned (same process, same clock). The SMSPVA fake's own
clock (time.time(), used for the SMS "date") plays no part in the figure. Every SMS carries a unique
reference, so duplicates and losses are counted too.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import (
    BotProcess,
    ProcMonitor,
    SendWatcher,
    bot_process_for,
    chat_of,
    seed_users,
    summarize,
    text_of,
    verdict,
    wait_synced,
    write_result,
)
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser

TARGET_P95_SECONDS = 6.0
FIRST_USER_ID = 200_001


def apikey_for(index: int) -> str:
    return f"benchPush{index:06d}".ljust(32, "x")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    smspva = FakeSmspva()
    tg = FakeTelegram()
    await smspva.start()
    await tg.start()
    tmp = tempfile.TemporaryDirectory(prefix="bench-push-")
    workdir = Path(tmp.name)
    db_path = workdir / "data" / "bot.sqlite3"
    bot: BotProcess | None = None
    monitor: ProcMonitor | None = None
    try:
        orders: dict[int, int] = {}  # user id -> order id
        entries: list[tuple[int, str]] = []
        for index in range(args.users):
            user_id = FIRST_USER_ID + index
            key = apikey_for(index)
            smspva.add_account(key, balance=100)
            orders[user_id] = smspva.add_order(key, service="opt16", state=1, days_left=30).id
            tg.add_user(FakeUser(id=user_id, first_name=f"U{index}"))
            entries.append((user_id, key))
        seed_seconds = await seed_users(db_path, entries)

        bot = bot_process_for(args, workdir, tg.base_url, smspva.url, db_path)
        await bot.start(tg)
        monitor = ProcMonitor(bot.pid)
        monitor.start()
        baseline_seconds = await wait_synced(db_path, args.users, timeout=args.baseline_timeout)
        print(f"  baseline of {args.users} order(s) taken {baseline_seconds:.1f} s after polling started")

        watcher = SendWatcher(tg)
        watcher.skip_existing()
        injected: dict[str, tuple[int, float]] = {}  # ref -> (user id, monotonic when injected)
        delivered: dict[str, list[float]] = {}
        unmatched: list[str] = []

        def collect() -> None:
            for call in watcher.poll():
                text = text_of(call)
                ref = next((r for r in injected if r in text), None)
                if ref is None:
                    unmatched.append(text[:80])
                    continue
                if chat_of(call) != injected[ref][0]:
                    unmatched.append(f"wrong chat {chat_of(call)} for {ref}")
                delivered.setdefault(ref, []).append(call.at)

        user_ids = list(orders)
        codes = rng.sample(range(100_000, 1_000_000), args.count)
        started = time.monotonic()
        for n in range(args.count):
            deadline = time.monotonic() + rng.uniform(0.0, args.max_gap)
            while time.monotonic() < deadline:
                collect()
                await asyncio.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
            user_id = rng.choice(user_ids)
            ref = f"ref:{n:05d}:end"
            smspva.inject_sms(orders[user_id], f"Your code is {codes[n]}. {ref}", "BENCH")
            injected[ref] = (user_id, time.monotonic())
            if (n + 1) % 10 == 0:
                print(f"  injected {n + 1}/{args.count}, delivered {len(delivered)}")
        wait_until = time.monotonic() + args.timeout
        while len(delivered) < len(injected) and time.monotonic() < wait_until:
            collect()
            await asyncio.sleep(0.01)
        await asyncio.sleep(args.settle)  # a few more polls: nothing may come twice
        collect()
        elapsed = time.monotonic() - started
        bot_sample = monitor.samples[-1] if monitor.samples else None
    finally:
        if monitor is not None:
            await monitor.stop()
        if bot is not None:
            await bot.stop()
        await tg.stop()
        await smspva.stop()

    latencies = [times[0] - injected[ref][1] for ref, times in delivered.items()]
    duplicates = sum(len(times) - 1 for times in delivered.values())
    missing = len(injected) - len(delivered)
    stats = summarize(latencies, digits=3)
    result = {
        "config": {
            "sms": args.count,
            "users": args.users,
            "poll_active_seconds": args.poll_active,
            "poll_idle_seconds": args.poll_idle,
            "smspva_min_interval_seconds": args.min_interval,
            "max_gap_seconds": args.max_gap,
            "seed": args.seed,
        },
        "latency_seconds": stats,
        "latencies_seconds": [round(value, 3) for value in latencies],
        "delivered": len(delivered),
        "missing": missing,
        "duplicates": duplicates,
        "unmatched_sends": unmatched[:10],
        "seed_seconds": round(seed_seconds, 2),
        "baseline_seconds": round(baseline_seconds, 2),
        "run_seconds": round(elapsed, 1),
        "bot": {
            "peak_rss_mb": round(monitor.peak_rss_mb, 1) if monitor else None,
            "cpu_seconds": round(bot_sample.cpu_seconds, 2) if bot_sample else None,
            "exit_code": bot.returncode if bot else None,
            "log_levels": bot.log_levels() if bot else {},
            "error_lines": bot.error_lines() if bot else [],
        },
        "target": {"p95_seconds_at_most": TARGET_P95_SECONDS},
        "pass": {
            "p95": stats.get("p95", 1e9) <= TARGET_P95_SECONDS,
            "exactly_once": missing == 0 and duplicates == 0,
        },
    }
    tmp.cleanup()
    return result


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.push_latency",
        description="SMS visible upstream -> sendMessage at Telegram, p50/p95/max (target p95 <= 6 s).",
    )
    parser.add_argument("--count", type=int, default=50, help="SMS to inject (default 50)")
    parser.add_argument("--users", type=int, default=1, help="users, one active order each (default 1)")
    parser.add_argument("--poll-active", type=float, default=5.0, help="POLL_ACTIVE_SECONDS (default 5)")
    parser.add_argument("--poll-idle", type=float, default=30.0, help="POLL_IDLE_SECONDS (default 30)")
    parser.add_argument(
        "--min-interval", type=float, default=1.0, help="SMSPVA_MIN_INTERVAL_SECONDS (default 1)"
    )
    parser.add_argument("--max-gap", type=float, default=7.0, help="SMS are 0..this many seconds apart (7)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--timeout", type=float, default=120.0, help="wait for stragglers (default 120 s)")
    parser.add_argument("--settle", type=float, default=6.0, help="extra wait for duplicates (default 6 s)")
    parser.add_argument("--baseline-timeout", type=float, default=600.0, help="default 600 s")
    parser.add_argument("--log-level", default="INFO", help="the bot's LOG_LEVEL (default INFO)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    print(
        f"push latency: {args.count} SMS over {args.users} user(s), POLL_ACTIVE_SECONDS={args.poll_active},"
        f" SMSPVA_MIN_INTERVAL_SECONDS={args.min_interval}"
    )
    result = asyncio.run(run(args))
    path = write_result("push_latency", result)
    s = result["latency_seconds"]
    print(
        f"  latency  p50 {s.get('p50', float('nan')):.2f} s  p95 {s.get('p95', float('nan')):.2f} s"
        f"  max {s.get('max', float('nan')):.2f} s  (n={s['n']})"
    )
    print(
        f"  delivered {result['delivered']}/{args.count}, missing {result['missing']},"
        f" duplicates {result['duplicates']}; bot peak RSS {result['bot']['peak_rss_mb']} MB"
    )
    print(
        f"  target p95 <= {TARGET_P95_SECONDS:.0f} s: {verdict(result['pass']['p95'])};"
        f" exactly once: {verdict(result['pass']['exactly_once'])}"
    )
    if result["bot"]["error_lines"]:
        print(f"  bot ERROR lines: {result['bot']['error_lines']}")
    print(f"  result: {path}")


if __name__ == "__main__":
    main()
