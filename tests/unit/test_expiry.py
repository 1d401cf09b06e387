"""Expiry warnings without servers: which threshold is due, and how the time left reads."""

from __future__ import annotations

import pytest

from bot.i18n import create_i18n
from bot.pushes import time_left
from bot.services.expiry import CLOCK_SLACK_SECONDS, due_threshold

HOUR = 3600
NOW = 1_800_000_000.0
THRESHOLDS = (168, 24, 1)


def test_a_week_rented_a_moment_ago_is_not_due() -> None:
    until = NOW + 7 * 24 * HOUR
    assert due_threshold(THRESHOLDS, frozenset(), until, NOW + 1, NOW) is None
    # SMSPVA's clock a little ahead of ours: still the rental's own week, not a warning.
    assert due_threshold(THRESHOLDS, frozenset(), until + 60, NOW + 61, NOW) is None
    # Known for days: the 168 h threshold is due when it passes.
    assert due_threshold(THRESHOLDS, frozenset(), until, NOW + 1, NOW - 3 * 86400) == 168


def test_first_seen_late_waits_for_the_next_threshold() -> None:
    known = NOW
    until = NOW + 2 * HOUR
    assert due_threshold(THRESHOLDS, frozenset(), until, NOW, known) is None
    assert due_threshold(THRESHOLDS, frozenset(), until, until - HOUR, known) == 1
    assert due_threshold(THRESHOLDS, frozenset(), until, until - HOUR + 1, None) == 1
    # Within the clock slack of the first sight counts as passed then.
    close = NOW + HOUR + CLOCK_SLACK_SECONDS - 1
    assert due_threshold(THRESHOLDS, frozenset(), close, close - HOUR, known) is None


def test_switched_off_nearest_never_falls_back_to_a_larger_one() -> None:
    until = NOW + 12 * HOUR
    known = NOW - 30 * 86400
    assert due_threshold(THRESHOLDS, frozenset({24}), until, NOW, known) is None
    assert due_threshold(THRESHOLDS, frozenset({168}), until, NOW, known) == 24
    assert due_threshold(THRESHOLDS, frozenset({24}), until, until - HOUR, known) == 1


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (7 * 86400 - 3, "7 days"),
        (6 * 86400 + 23 * HOUR + 10, "6 days and 23 hours"),
        (2 * HOUR + 50 * 60, "2 hours and 50 minutes"),
        (3 * HOUR - 20, "3 hours"),
        (HOUR + 29 * 60 + 50, "1 hour and 30 minutes"),
        (59 * 60 + 40, "1 hour"),
        (35 * 60 + 10, "35 minutes"),
        (5, "1 minute"),
    ],
)
def test_time_left_is_never_understated(seconds: float, expected: str) -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert time_left(seconds) == expected


def test_time_left_in_russian_and_arabic() -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        assert time_left(2 * HOUR + 50 * 60) == "2 часа 50 минут"
    with i18n.context(), i18n.use_locale("ar"):
        assert "و" in time_left(2 * HOUR + 50 * 60)
