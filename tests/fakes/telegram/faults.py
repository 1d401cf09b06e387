"""Why a call fails: injected failures (``fail_next``), users who blocked the bot, and flood limits."""

from __future__ import annotations

import math
import time
from typing import Any

from tests.fakes.telegram.errors import BLOCKED, FAILURE_PREFIXES, ApiError, too_many_requests
from tests.fakes.telegram.records import Bucket, FailRule
from tests.fakes.telegram.state import FakeState


class FaultsMixin(FakeState):
    """Failures a call can meet before it takes effect: injected, blocked user, flood limit."""

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (optionally only for ``chat_id``) fail like Telegram."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = FAILURE_PREFIXES.get(error_code, "Error")
        error = ApiError(error_code, description, retry_after=retry_after)
        self._fail_rules.append(FailRule(method.lower(), error, count, chat_id))

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sending to their chat answers 403 from now on."""
        if user_id in self._blocked:
            return
        self._blocked.add(user_id)
        self._chat_member_update(user_id, old="member", new="kicked")

    def unblock(self, user_id: int) -> None:
        if user_id not in self._blocked:
            return
        self._blocked.discard(user_id)
        self._chat_member_update(user_id, old="kicked", new="member")

    def _chat_member_update(self, user_id: int, *, old: str, new: str) -> None:
        user = self._users.get(user_id)
        if user is None:
            return

        def member(status: str) -> dict[str, Any]:
            state: dict[str, Any] = {"status": status, "user": self._bot_user()}
            if status == "kicked":
                state["until_date"] = 0
            return state

        self._enqueue(
            {
                "my_chat_member": {
                    "chat": user.as_chat(),
                    "from": user.as_user(),
                    "date": int(time.time()),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def _injected_failure(self, method: str, params: dict[str, Any]) -> None:
        for rule in self._fail_rules:
            if rule.method != method.lower():
                continue
            if rule.chat_id is not None and params.get("chat_id") != rule.chat_id:
                continue
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._fail_rules.remove(rule)
            raise rule.error

    def _check_can_send(self, chat_id: int, *, rate_limited: bool) -> None:
        if chat_id in self._blocked:
            raise ApiError(403, BLOCKED)
        if rate_limited and self.enforce_rate_limits:
            self._take_rate_token(chat_id)

    def _take_rate_token(self, chat_id: int) -> None:
        now = time.monotonic()
        bucket = self._chat_buckets.setdefault(chat_id, Bucket(tokens=float(self.chat_burst), updated=now))
        bucket.tokens = min(
            float(self.chat_burst), bucket.tokens + (now - bucket.updated) * self.chat_rate_per_second
        )
        bucket.updated = now
        overall = self._global_bucket
        if overall.updated == 0.0:
            overall.tokens, overall.updated = self.global_rate_per_second, now
        overall.tokens = min(
            self.global_rate_per_second,
            overall.tokens + (now - overall.updated) * self.global_rate_per_second,
        )
        overall.updated = now
        if bucket.tokens < 1.0:
            raise too_many_requests(max(1, math.ceil((1.0 - bucket.tokens) / self.chat_rate_per_second)))
        if overall.tokens < 1.0:
            raise too_many_requests(max(1, math.ceil((1.0 - overall.tokens) / self.global_rate_per_second)))
        bucket.tokens -= 1.0
        overall.tokens -= 1.0
