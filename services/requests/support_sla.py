"""The support folder's deadline: a ticket waiting for support is due within `SUPPORT_ANSWER_DAYS`
working days of the citizen's message it has not answered.

Working days follow the secretariat's rule and its settings (`HOLIDAYS`, `HOLIDAYS_FILE`,
`WEEKEND_DAYS`, Tehran's calendar day): a service does not import another service, so the few
lines of that rule the deadline needs live here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

import jdatetime

from contracts.persian import latin_digits
from infra.settings import RequestsSettings, SecretariatSettings

TEHRAN = timezone(timedelta(hours=3, minutes=30))
DEFAULT_HOLIDAYS = "01/01,01/02,01/03,01/04,01/12,01/13,03/14,03/15,11/22,12/29"
WEEKDAYS = {"sat": 5, "sun": 6, "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4}


def local_date(moment: str) -> date:
    """The Tehran calendar day of an ISO timestamp."""
    value = datetime.fromisoformat(moment)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TEHRAN).date()


@dataclass(frozen=True)
class Calendar:
    """Which days are working days: not a weekend day, not a yearly (month, day), not a dated
    holiday."""

    weekend: frozenset[int]
    yearly: frozenset[tuple[int, int]]
    dated: frozenset[date]

    def is_working(self, day: date) -> bool:
        jalali = jdatetime.date.fromgregorian(date=day)
        return not (
            day.weekday() in self.weekend or (jalali.month, jalali.day) in self.yearly or day in self.dated
        )

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start`."""
        current, left = start, days
        while left > 0:
            current += timedelta(days=1)
            if self.is_working(current):
                left -= 1
        return current


@lru_cache(maxsize=4)
def parse_calendar(holidays: str, weekend: str) -> Calendar:
    """A calendar from the `HOLIDAYS` (`MM/DD` yearly, `YYYY/MM/DD` once) and `WEEKEND_DAYS`
    notations."""
    yearly: set[tuple[int, int]] = set()
    dated: set[date] = set()
    for item in latin_digits(holidays).replace("\n", ",").split(","):
        parts = item.split("#")[0].strip().replace("-", "/").split("/")
        if len(parts) == 2:
            yearly.add((int(parts[0]), int(parts[1])))
        elif len(parts) == 3:
            year, month, day = (int(p) for p in parts)
            dated.add(jdatetime.date(year, month, day).togregorian())
    days = frozenset(WEEKDAYS[d.strip().lower()[:3]] for d in weekend.split(",") if d.strip())
    return Calendar(weekend=days, yearly=frozenset(yearly), dated=frozenset(dated))


def configured_calendar() -> Calendar:
    """The calendar the secretariat's settings describe."""
    settings = SecretariatSettings.load()
    holidays = DEFAULT_HOLIDAYS if settings.HOLIDAYS is None else settings.HOLIDAYS
    file = settings.HOLIDAYS_FILE
    if file and file.exists():
        holidays = holidays + "," + file.read_text(encoding="utf-8")
    return parse_calendar(holidays, settings.WEEKEND_DAYS)


def deadline(awaiting_since: str | None, today: date, calendar: Calendar, days: int) -> dict[str, object]:
    """When a ticket waiting since `awaiting_since` is due (Gregorian ISO date) and whether it is
    overdue on `today`; nothing is due for a ticket that waits for no answer."""
    if not awaiting_since:
        return {"due": None, "overdue": False}
    due = calendar.add_working_days(local_date(awaiting_since), days)
    return {"due": due.isoformat(), "overdue": today > due}


def answer_days() -> int:
    """`SUPPORT_ANSWER_DAYS`."""
    return RequestsSettings.load().SUPPORT_ANSWER_DAYS


def today() -> date:
    """Today in Tehran."""
    return datetime.now(TEHRAN).date()
