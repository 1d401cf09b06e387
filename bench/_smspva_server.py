"""Bench-only SMSPVA fake for many users, in its own process (so the fake is not the bottleneck and its CPU
is measured apart from the benchmark's and the bot's).

It is ``tests.fakes.smspva.FakeSmspva`` with two changes that matter only at scale:

* the call log only counts (per method, per key) instead of keeping every request for ever;
* ``_sweep`` (which walks every live order on every keyed call: O(users) per call) does nothing -- bench
  orders have forced states (``set_state``-like, no activation cycle) and expire in 30 days, so the sweep
  would never change anything.

Accounts ``key_for(i)`` for i in 0..users-1, each with one order in ``--state``. Extra endpoints:

* ``/_bench/stats``           -- {"monotonic", "total", "by_method", "keys_seen", "cpu_seconds"}
* ``/_bench/inject_all``      -- one SMS into every order in one go, text "... ref:<i:06d>:end"
* ``/_bench/set_state_all``   -- ?state=0|1

Prints ``READY <api url>`` on stdout once it serves. ``python -m bench._smspva_server --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections import Counter
from collections.abc import Sequence

from aiohttp import web

from tests.fakes.smspva import Call, FakeSmspva


def key_for(index: int) -> str:
    return f"benchScale{index:06d}".ljust(32, "x")


def ref_for(index: int) -> str:
    return f"ref:{index:06d}:end"


def code_for(index: int) -> str:
    return f"{(index * 7919 + 104_729) % 900_000 + 100_000}"


class CountingCalls(list[Call]):
    """Stands in for FakeSmspva.calls: counts instead of keeping (memory stays flat at 2,000 calls/s)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.by_method: Counter[str] = Counter()
        self.by_key: Counter[str] = Counter()

    def append(self, call: Call) -> None:
        self.total += 1
        self.by_method[call.method] += 1
        key = call.params.get("apikey")
        if key:
            self.by_key[key] += 1


class BenchSmspva(FakeSmspva):
    def __init__(self, users: int, state: int) -> None:
        super().__init__()
        self.counting = CountingCalls()
        self.calls = self.counting
        self.bench_orders: list[int] = []
        for index in range(users):
            key = key_for(index)
            self.add_account(key, balance=100)
            self.bench_orders.append(self.add_order(key, service="opt16", state=state, days_left=30).id)

    def _sweep(self) -> None:
        """Nothing to bring up to date: see the module docstring."""

    def inject_all(self) -> tuple[float, float]:
        first = time.monotonic()
        for index, order_id in enumerate(self.bench_orders):
            self.inject_sms(order_id, f"Your code is {code_for(index)}. {ref_for(index)}", "BENCH")
        return first, time.monotonic()


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


async def _serve(args: argparse.Namespace) -> None:
    fake = BenchSmspva(args.users, args.state)

    async def stats(request: web.Request) -> web.Response:
        counting = fake.counting
        return web.json_response(
            {
                "monotonic": time.monotonic(),
                "total": counting.total,
                "by_method": dict(counting.by_method),
                "keys_seen": len(counting.by_key),
                "cpu_seconds": _cpu_seconds(),
            }
        )

    async def inject_all(request: web.Request) -> web.Response:
        first, last = fake.inject_all()
        return web.json_response({"first": first, "last": last, "count": len(fake.bench_orders)})

    async def set_state_all(request: web.Request) -> web.Response:
        state = int(request.query["state"])
        for order_id in fake.bench_orders:
            fake.set_state(order_id, state)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/api/rent.php", fake._handle_api)
    app.router.add_get("/_bench/stats", stats)
    app.router.add_get("/_bench/inject_all", inject_all)
    app.router.add_get("/_bench/set_state_all", set_state_all)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024).start()
    port = runner.addresses[0][1]
    print(f"READY http://127.0.0.1:{port}/api/rent.php", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench._smspva_server", description="SMSPVA fake with N bench accounts (bench only)"
    )
    parser.add_argument("--users", type=int, default=1000, help="accounts, one order each (default 1000)")
    parser.add_argument("--state", type=int, default=1, help="state of every order (default 1: active)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
