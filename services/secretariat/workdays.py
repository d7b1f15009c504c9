"""The Jalali working-day calendar that due dates and waiting times follow.

Fridays (or the days `WEEKEND_DAYS` names) and the holidays of `HOLIDAYS` are not working days.
`HOLIDAYS` is a comma-separated list of Jalali dates: `MM/DD` for a holiday every year (Nowruz,
13 Farvardin…), `YYYY/MM/DD` for one year's holiday (the lunar ones move every year). A holiday
file (`HOLIDAYS_FILE`, one date a line, `#` comments) may hold the same list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import TypeVar

import jdatetime

from contracts.persian import latin_digits
from infra.settings import SecretariatSettings

TEHRAN = timezone(timedelta(hours=3, minutes=30))

# The official solar holidays that fall on the same Jalali day every year.
DEFAULT_HOLIDAYS = "01/01,01/02,01/03,01/04,01/12,01/13,03/14,03/15,11/22,12/29"
WEEKDAY_NAMES = {"sat": 5, "sun": 6, "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4}


def local_date(moment: str | datetime) -> date:
    """The Tehran calendar day of an ISO timestamp (or datetime)."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TEHRAN).date()


def today() -> date:
    """Today in Tehran."""
    return datetime.now(TEHRAN).date()


def parse_jalali(text: str) -> date:
    """A Jalali `YYYY/MM/DD` (any digits, `/` or `-`) as a Gregorian date; ValueError if invalid."""
    parts = latin_digits(text.strip()).replace("-", "/").split("/")
    if len(parts) != 3:
        raise ValueError(f"not a Jalali date: {text!r}")
    year, month, day = (int(p) for p in parts)
    gregorian: date = jdatetime.date(year, month, day).togregorian()
    return gregorian


def to_jalali(day: date) -> str:
    """A Gregorian date as Jalali `YYYY/MM/DD` (Latin digits)."""
    return str(jdatetime.date.fromgregorian(date=day).strftime("%Y/%m/%d"))


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days."""

    weekend: frozenset[int] = frozenset({4})  # Friday
    yearly: frozenset[tuple[int, int]] = frozenset()  # (Jalali month, day) every year
    dated: frozenset[date] = frozenset()
    _cache: dict[date, bool] = field(default_factory=dict, compare=False, hash=False, repr=False)
    # A cartable page asks for (submission day, today) of every row: rows of one day share it,
    # and walking a year of days per row made the page slow (see bench/reads.py).
    _between: dict[tuple[date, date], int] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    _after: dict[tuple[date, int], date] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def parse(cls, holidays: str, weekend: str = "fri") -> WorkingCalendar:
        """A calendar from the `HOLIDAYS` and `WEEKEND_DAYS` notations."""
        yearly: set[tuple[int, int]] = set()
        dated: set[date] = set()
        for item in latin_digits(holidays).replace("\n", ",").split(","):
            item = item.split("#")[0].strip()
            if not item:
                continue
            parts = item.replace("-", "/").split("/")
            if len(parts) == 2:
                yearly.add((int(parts[0]), int(parts[1])))
            else:
                dated.add(parse_jalali(item))
        days = frozenset(WEEKDAY_NAMES[d.strip().lower()[:3]] for d in weekend.split(",") if d.strip())
        return cls(weekend=days, yearly=frozenset(yearly), dated=frozenset(dated))

    def is_working(self, day: date) -> bool:
        """True on a working day."""
        known = self._cache.get(day)
        if known is None:
            jalali = jdatetime.date.fromgregorian(date=day)
            known = not (
                day.weekday() in self.weekend
                or (jalali.month, jalali.day) in self.yearly
                or day in self.dated
            )
            self._cache[day] = known
        return known

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (`start` itself when `days` is 0)."""
        known = self._after.get((start, days))
        if known is not None:
            return known
        current, left = start, days
        while left > 0:
            current += timedelta(days=1)
            if self.is_working(current):
                left -= 1
        return _kept(self._after, (start, days), current)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when `end` is not later)."""
        known = self._between.get((start, end))
        if known is not None:
            return known
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_working(current):
                count += 1
        return _kept(self._between, (start, end), count)


K = TypeVar("K")
V = TypeVar("V")


def _kept(memo: dict[K, V], key: K, value: V) -> V:
    """Remember `value` under `key`, in a memo a long-running service keeps bounded."""
    if len(memo) > 100_000:
        memo.clear()
    memo[key] = value
    return value


@lru_cache(maxsize=1)
def _configured(holidays: str, weekend: str) -> WorkingCalendar:
    return WorkingCalendar.parse(holidays, weekend)


def configured_calendar() -> WorkingCalendar:
    """The calendar of `HOLIDAYS`/`HOLIDAYS_FILE` and `WEEKEND_DAYS` (default: Fridays and the
    fixed solar holidays)."""
    settings = SecretariatSettings.load()
    holidays = DEFAULT_HOLIDAYS if settings.HOLIDAYS is None else settings.HOLIDAYS  # "": none
    file = settings.HOLIDAYS_FILE
    if file and file.exists():
        holidays = holidays + "," + file.read_text(encoding="utf-8")
    return _configured(holidays, settings.WEEKEND_DAYS)


def default_expected_days() -> int:
    """`DEFAULT_EXPECTED_DAYS`: the working days a service gets when the catalogue names none."""
    return SecretariatSettings.load().DEFAULT_EXPECTED_DAYS
