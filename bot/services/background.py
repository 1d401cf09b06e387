"""Long-running loops started with the dispatcher, supervised, and stopped (cancelled and awaited) with it.

Supervision. A loop that raises — or returns while the bot is not stopping — is logged with its traceback
and started again after a backoff (1 s, doubling up to a minute; back to 1 s once it completes a round
again). Nothing a loop does can end it for good: one database error used to stop the outbox sender
for the life of the process while /healthz kept answering 200.

Heartbeats. Each loop reports every successful round to its `Heartbeat`; /healthz shows each loop's
last successful round and answers 503 when one is older than that loop's `stale_after` — a loop that
keeps crashing, or hangs, is visible from outside.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

RESTART_MIN_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0


@dataclass
class Heartbeat:
    """One loop's liveness: when it last completed a round, how often it was restarted."""

    name: str
    stale_after: float
    started: float = field(default_factory=time.monotonic)
    last_round: float | None = None
    restarts: int = 0
    last_error: str | None = None

    def beat(self) -> None:
        self.last_round = time.monotonic()

    def age(self, now: float | None = None) -> float:
        """Seconds since the last successful round (since start, before the first one)."""
        now = time.monotonic() if now is None else now
        return now - (self.last_round if self.last_round is not None else self.started)

    def stale(self, now: float | None = None) -> bool:
        return self.age(now) > self.stale_after

    def report(self) -> dict[str, object]:
        now = time.monotonic()
        return {
            "last_round_seconds_ago": round(now - self.last_round, 1)
            if self.last_round is not None
            else None,
            "stale": self.stale(now),
            "restarts": self.restarts,
            "last_error": self.last_error,
        }


LoopFactory = Callable[[Heartbeat], Awaitable[None]]


async def every(seconds: float, step: Callable[[], Awaitable[None]], heartbeat: Heartbeat) -> None:
    """Run `step` forever, `seconds` apart, beating after each successful round.

    A failing step propagates: the supervisor logs it and restarts the loop with backoff.
    """
    while True:
        await step()
        heartbeat.beat()
        await asyncio.sleep(seconds)


@dataclass
class _Loop:
    factory: LoopFactory
    heartbeat: Heartbeat
    stop: Callable[[], Awaitable[None]] | None


class BackgroundTasks:
    def __init__(self) -> None:
        self._loops: list[_Loop] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def heartbeats(self) -> dict[str, Heartbeat]:
        return {loop.heartbeat.name: loop.heartbeat for loop in self._loops}

    def add(
        self,
        name: str,
        factory: LoopFactory,
        *,
        stale_after: float,
        stop: Callable[[], Awaitable[None]] | None = None,
    ) -> Heartbeat:
        """Register a loop. `factory(heartbeat)` runs it (and calls `heartbeat.beat()` after each good
        round); `stale_after` is how old its last good round may get before /healthz says 503; `stop`
        (optional) is awaited before cancelling, for a graceful finish."""
        heartbeat = Heartbeat(name=name, stale_after=stale_after)
        self._loops.append(_Loop(factory, heartbeat, stop))
        return heartbeat

    def start(self) -> None:
        self._stopping = False
        for loop in self._loops:
            loop.heartbeat.started = time.monotonic()
            self._tasks.append(asyncio.create_task(self._supervise(loop), name=loop.heartbeat.name))

    async def _supervise(self, loop: _Loop) -> None:
        heartbeat = loop.heartbeat
        delay = RESTART_MIN_SECONDS
        while True:
            began = time.monotonic()
            try:
                await loop.factory(heartbeat)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure: log it whole, then start the loop again
                if self._stopping:
                    return
                heartbeat.last_error = type(error).__name__
                log.exception(
                    "background loop crashed, restarting service=%s restarts=%s delay=%.0f",
                    heartbeat.name,
                    heartbeat.restarts,
                    delay,
                )
            else:
                if self._stopping:
                    return
                log.error("background loop ended unexpectedly, restarting service=%s", heartbeat.name)
            if heartbeat.last_round is not None and heartbeat.last_round >= began:
                delay = RESTART_MIN_SECONDS  # it worked for a while: this is a fresh failure
            await asyncio.sleep(delay)
            delay = min(RESTART_MAX_SECONDS, delay * 2)
            heartbeat.restarts += 1

    async def stop(self) -> None:
        self._stopping = True
        for loop in self._loops:
            if loop.stop is None:
                continue
            try:
                await asyncio.wait_for(loop.stop(), timeout=15)
            except TimeoutError:
                log.warning("background loop did not stop in time service=%s", loop.heartbeat.name)
            except Exception:  # shutting down anyway: the other loops still get their graceful stop
                log.exception("background loop failed to stop cleanly service=%s", loop.heartbeat.name)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
