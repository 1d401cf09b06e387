"""Why a call fails: injected failures (``fail_next``, ``bad_gateway_next``, ``disconnect_next`` and their
``*_for`` time windows), users who blocked the bot, and flood limits."""

from __future__ import annotations

import math
import time
from typing import Any

from tests.fakes.telegram.errors import BLOCKED, FAILURE_PREFIXES, ApiError, too_many_requests
from tests.fakes.telegram.records import Bucket, FailRule
from tests.fakes.telegram.state import FakeState


class FaultsMixin(FakeState):
    """Failures a call can meet: injected (before or after it takes effect), blocked user, flood limit."""

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | None = None,
        skip: int = 0,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (optionally only for ``chat_id``) fail like Telegram.

        The answer is Telegram's JSON error (429 with ``retry_after``, 5xx, 400, ...); the call has no effect.
        ``skip`` lets that many matching calls through first (e.g. fail the second edit of a message).
        """
        error = _api_error(error_code, description, retry_after)
        self._add_rule(FailRule(method.lower(), "error", error, chat_id, remaining=count, skip=skip))

    def fail_for(
        self,
        method: str,
        seconds: float,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Like ``fail_next``, but every matching call fails for the next ``seconds`` of real time."""
        error = _api_error(error_code, description, retry_after)
        self._add_rule(FailRule(method.lower(), "error", error, chat_id, deadline=_deadline(seconds)))

    def bad_gateway_next(
        self,
        method: str,
        *,
        count: int = 1,
        chat_id: int | None = None,
        skip: int = 0,
        applied: bool = False,
    ) -> None:
        """The next ``count`` calls of ``method`` get a proxy's HTML page: status 502, ``text/html``,
        ``BAD_GATEWAY_PAGE`` (aiogram raises ``ClientDecodeError``, not a Telegram error).

        ``applied=True``: Telegram executed the call (the message is sent or edited) and only the answer
        was lost on the way back, so the bot cannot know whether it went through.
        """
        rule = FailRule(
            method.lower(), "bad_gateway", None, chat_id, remaining=count, skip=skip, applied=applied
        )
        self._add_rule(rule)

    def bad_gateway_for(
        self, method: str, seconds: float, *, chat_id: int | None = None, applied: bool = False
    ) -> None:
        """Like ``bad_gateway_next``, for every matching call in the next ``seconds`` of real time."""
        rule = FailRule(
            method.lower(), "bad_gateway", None, chat_id, deadline=_deadline(seconds), applied=applied
        )
        self._add_rule(rule)

    def disconnect_next(
        self,
        method: str,
        *,
        count: int = 1,
        chat_id: int | None = None,
        skip: int = 0,
        applied: bool = False,
    ) -> None:
        """The next ``count`` calls of ``method`` have their connection closed without an answer (aiogram
        raises ``TelegramNetworkError``). ``applied=True``: the call took effect before the drop."""
        rule = FailRule(
            method.lower(), "disconnect", None, chat_id, remaining=count, skip=skip, applied=applied
        )
        self._add_rule(rule)

    def disconnect_for(
        self, method: str, seconds: float, *, chat_id: int | None = None, applied: bool = False
    ) -> None:
        """Like ``disconnect_next``, for every matching call in the next ``seconds`` of real time."""
        rule = FailRule(
            method.lower(), "disconnect", None, chat_id, deadline=_deadline(seconds), applied=applied
        )
        self._add_rule(rule)

    def clear_faults(self) -> None:
        """Forget every injected failure still pending (blocked users and rate limits stay)."""
        self._fail_rules.clear()

    def _add_rule(self, rule: FailRule) -> None:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError("count must be at least 1")
        if rule.skip < 0:
            raise ValueError("skip must not be negative")
        self._fail_rules.append(rule)

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sending to their chat answers 403 from now on, and a ``my_chat_member``
        update (``member`` -> ``kicked``) goes out if the fake knows the user (``add_user``/``send_text``)."""
        if user_id in self._blocked:
            return
        self._blocked.add(user_id)
        self._chat_member_update(user_id, old="member", new="kicked")

    def unblock(self, user_id: int) -> None:
        """The user unblocks the bot: sending works again; ``my_chat_member`` ``kicked`` -> ``member``."""
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

    def _take_fault(self, method: str, params: dict[str, Any]) -> FailRule | None:
        """The injected failure this call meets, if any; counts it against the rule."""
        now = time.monotonic()
        self._fail_rules = [r for r in self._fail_rules if r.deadline is None or r.deadline > now]
        wanted = method.lower()
        chosen: FailRule | None = None
        for rule in self._fail_rules:
            if rule.method != wanted:
                continue
            if rule.chat_id is not None and params.get("chat_id") != rule.chat_id:
                continue
            if rule.skip > 0:
                rule.skip -= 1  # every rule counts the matching calls it lets through on its own
                continue
            if chosen is None:
                chosen = rule
        if chosen is not None and chosen.remaining is not None:
            chosen.remaining -= 1
            if chosen.remaining <= 0:
                self._fail_rules.remove(chosen)
        return chosen

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


def _api_error(error_code: int, description: str | None, retry_after: int | None) -> ApiError:
    if error_code == 429 and retry_after is None:
        retry_after = 1
    if description is None:
        if error_code == 429:
            description = f"Too Many Requests: retry after {retry_after}"
        else:
            description = FAILURE_PREFIXES.get(error_code, "Error")
    return ApiError(error_code, description, retry_after=retry_after)


def _deadline(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    return time.monotonic() + seconds
