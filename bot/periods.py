"""Rental periods as the rent page offers them: 1-12 weeks or 1-3 months, never over 90 days."""

from __future__ import annotations

from dataclasses import dataclass

from bot.smspva import PeriodType

MAX_RENT_DAYS = 90  # the page's FAQ: the longest rental is 90 days
DAYS_PER = {PeriodType.WEEK: 7, PeriodType.MONTH: 30}


@dataclass(frozen=True, slots=True, order=True)
class Period:
    dtype: PeriodType
    dcount: int

    @property
    def days(self) -> int:
        return DAYS_PER[self.dtype] * self.dcount

    @classmethod
    def parse(cls, dtype: str, dcount: int) -> Period | None:
        """From callback data: None unless it is one of the periods we offer."""
        try:
            period = cls(PeriodType(dtype), int(dcount))
        except ValueError:
            return None
        return period if period in ALL_PERIODS else None


ALL_PERIODS: tuple[Period, ...] = tuple(
    [Period(PeriodType.WEEK, n) for n in range(1, 13)] + [Period(PeriodType.MONTH, n) for n in range(1, 4)]
)
assert all(period.days <= MAX_RENT_DAYS for period in ALL_PERIODS)
