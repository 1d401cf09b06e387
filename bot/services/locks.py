"""One money-moving operation at a time per user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class UserLocks:
    def __init__(self) -> None:
        self._running: dict[int, str] = {}

    def running(self, user_id: int) -> str | None:
        """The confirmation token being carried out for this user, if any."""
        return self._running.get(user_id)

    @contextmanager
    def hold(self, user_id: int, token: str) -> Iterator[None]:
        """Mark the user busy; callers check `running()` first (no waiting: a second tap is refused)."""
        self._running[user_id] = token
        try:
            yield
        finally:
            self._running.pop(user_id, None)
