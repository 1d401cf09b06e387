"""Long-running loops started with the dispatcher and stopped (cancelled and awaited) with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(seconds: float, step: Callable[[], Awaitable[None]], name: str) -> None:
    """Run `step` forever, `seconds` apart; a failing step is logged and the loop goes on."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:  # one bad round must not end the service for everyone
            log.exception("background step failed service=%s", name)
        await asyncio.sleep(seconds)


class BackgroundTasks:
    def __init__(self) -> None:
        self._factories: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stoppers: list[Callable[[], Awaitable[None]]] = []

    def add(
        self,
        name: str,
        factory: Callable[[], Awaitable[None]],
        stop: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`stop` (optional) is awaited before cancelling, for a graceful finish."""
        self._factories.append((name, factory))
        if stop is not None:
            self._stoppers.append(stop)

    def start(self) -> None:
        for name, factory in self._factories:
            self._tasks.append(asyncio.create_task(self._guard(name, factory), name=name))

    @staticmethod
    async def _guard(name: str, factory: Callable[[], Awaitable[None]]) -> None:
        try:
            await factory()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background service crashed service=%s", name)

    async def stop(self) -> None:
        for stopper in self._stoppers:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopper(), timeout=15)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
