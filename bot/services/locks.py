"""One money-moving operation at a time per user, one activation at a time per order, and the
shutdown grace that lets a money call in flight finish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

# After an `activate` went through, another tap within this time is the same activation (SMSPVA's
# order list may still say "not active" for a moment); a failed one frees the order at once.
ACTIVATION_HOLD_SECONDS = 60.0


class UserLocks:
    def __init__(self) -> None:
        self._running: dict[int, str] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._activating: dict[int, float] = {}  # order id -> when its activation started

    def running(self, user_id: int) -> str | None:
        """The confirmation token being carried out for this user, if any."""
        return self._running.get(user_id)

    @contextmanager
    def hold(self, user_id: int, token: str) -> Iterator[None]:
        """Mark the user busy; callers check `running()` first (no waiting: a second tap is refused)."""
        self._running[user_id] = token
        self._idle.clear()
        try:
            yield
        finally:
            self._running.pop(user_id, None)
            if not self._running:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """At shutdown: wait up to `timeout` for every confirmation in flight to finish. False when
        some were still running (their tokens stay `running` and are reconciled at the next start)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def begin_activation(self, order_id: int) -> bool:
        """Claim this order's activation; False while another one is running or just went through."""
        started = self._activating.get(order_id)
        now = time.monotonic()
        if started is not None and now - started < ACTIVATION_HOLD_SECONDS:
            return False
        self._activating[order_id] = now
        return True

    def end_activation(self, order_id: int, *, succeeded: bool) -> None:
        """A failed activation frees the order at once; a successful one holds it a little longer."""
        if not succeeded:
            self._activating.pop(order_id, None)
        now = time.monotonic()
        for stale in [o for o, t in self._activating.items() if now - t >= ACTIVATION_HOLD_SECONDS]:
            del self._activating[stale]
