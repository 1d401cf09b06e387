"""CPU per SMSPVA call of the client's HTTP transports, side by side in one run.

The SMSPVA fake runs in its own process (``bench._smspva_server``); this process runs the real
``SmspvaClient`` (no pacing) with each transport in turn -- httpx's own (httpcore + anyio) and
``bot.smspva.transport.AiohttpTransport`` -- making ``orders`` and ``sms`` calls for many keys with
``--concurrency`` in flight, the way the poller does. Rounds alternate (A, B, A, B, ...) so a
noisy neighbour hits both alike; reported per transport: CPU milliseconds of this process per call
(median over rounds, parse included) and calls per second.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._common import write_result
from bench._smspva_server import key_for
from bench.scale import FakeProcess, fake_get
from bot.smspva import SmspvaClient
from bot.smspva.transport import AiohttpTransport


def _transport(name: str) -> httpx.AsyncBaseTransport | None:
    if name == "aiohttp":
        return AiohttpTransport()
    return httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=256, max_keepalive_connections=256))


async def _round(
    client: SmspvaClient, keys: int, calls: int, concurrency: int, order_ids: list[int]
) -> float:
    """CPU ms per call of one round."""
    queue = list(range(calls))
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            index = i % keys
            if i % 2:
                await client.sms(key_for(index), order_ids[index])
            else:
                await client.orders(key_for(index))

    start = time.process_time()
    await asyncio.gather(*(one(i) for i in queue))
    return 1000 * (time.process_time() - start) / calls


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    fake = FakeProcess(workdir, args.keys)
    await fake.start()
    try:
        clients = {
            name: SmspvaClient(fake.url, min_interval=0, transport=_transport(name))
            for name in args.transports
        }
        # One order per key: learn the ids once (not measured).
        probe = clients[args.transports[0]]
        order_ids = [(await probe.orders(key_for(i)))[0].id for i in range(args.keys)]
        for client in clients.values():  # warm the pools
            await _round(client, args.keys, 200, args.concurrency, order_ids)
        per_call: dict[str, list[float]] = {name: [] for name in clients}
        walls: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, client in clients.items():
                wall = time.monotonic()
                per_call[name].append(
                    await _round(client, args.keys, args.calls, args.concurrency, order_ids)
                )
                walls[name].append(args.calls / (time.monotonic() - wall))
        for client in clients.values():
            await client.aclose()
        stats = await fake_get(fake.base, "/_bench/stats")
    finally:
        await fake.stop()
    return {
        "keys": args.keys,
        "calls_per_round": args.calls,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "fake_calls": stats.get("total"),
        "transports": {
            name: {
                "cpu_ms_per_call_median": round(statistics.median(values), 3),
                "cpu_ms_per_call_rounds": [round(v, 3) for v in values],
                "calls_per_second_median": round(statistics.median(walls[name]), 1),
            }
            for name, values in per_call.items()
        },
    }


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.http_transport", description=__doc__)
    parser.add_argument("--keys", type=int, default=500, help="accounts, one order each (500)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per round (2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per transport, alternating (5)")
    parser.add_argument("--concurrency", type=int, default=64, help="calls in flight (64)")
    parser.add_argument("--transports", nargs="+", default=["httpx", "aiohttp"], choices=["httpx", "aiohttp"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    result = asyncio.run(run(args))
    path = write_result("http_transport", result)
    for name, figures in result["transports"].items():
        print(
            f"  {name:8s} CPU per call {figures['cpu_ms_per_call_median']} ms (rounds"
            f" {figures['cpu_ms_per_call_rounds']}), {figures['calls_per_second_median']} calls/s"
        )
    print(f"  result: {path}")


if __name__ == "__main__":
    main()
