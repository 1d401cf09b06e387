"""One money-moving operation at a time per user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class UserLocks:
    def __init__(self) -> None:
        self._busy: set[int] = set()

    def busy(self, user_id: int) -> bool:
        return user_id in self._busy

    @contextmanager
    def hold(self, user_id: int) -> Iterator[None]:
        """Mark the user busy; callers check `busy()` first (no waiting: a second tap is refused)."""
        self._busy.add(user_id)
        try:
            yield
        finally:
            self._busy.discard(user_id)
