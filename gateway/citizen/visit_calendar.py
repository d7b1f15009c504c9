"""The Jalali calendar of the wizard's «مراجعه به سازمان» step (seed 003: «تاریخ مراجعه خود را از
طریق تقویم انتخاب میکنیم»), rendered by the server as a month grid of submit buttons, so it
works without JavaScript: a day's button saves what was typed and puts the day in «تاریخ
مراجعه»; the month buttons save and show another month. The date is the citizen's visit, so a
day after today cannot be chosen (the rule `services.requests.forms` checks again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jdatetime

MONTHS = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip
WEEKDAYS = ("ش", "ی", "د", "س", "چ", "پ", "ج")
"""Saturday first, as Iranian calendars are printed (jdatetime's weekday 0 is Saturday)."""


@dataclass(frozen=True)
class Day:
    text: str  # yyyy/mm/dd, as the field holds it
    number: int
    selectable: bool
    chosen: bool


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    name: str
    weeks: tuple[tuple[Day | None, ...], ...]
    previous: str  # yyyy/mm
    next: str | None  # None: the month after holds no day that may be chosen


def _parse_month(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(1[34]\d\d)/(\d{1,2})", text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return int(match.group(1)), int(match.group(2))


def _parse_day(text: str) -> jdatetime.date | None:
    match = re.fullmatch(r"(1[34]\d\d)[/\-](\d{1,2})[/\-](\d{1,2})", text or "")
    if not match:
        return None
    try:
        return jdatetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def month_grid(shown: str | None, chosen: str, today: jdatetime.date) -> Month:
    """The month `shown` ("yyyy/mm"; else the chosen day's, else today's) as weeks of days, the
    chosen day marked, the days after `today` not selectable."""
    picked = _parse_day(chosen)
    year, month = _parse_month(shown or "") or (
        (picked.year, picked.month) if picked else (today.year, today.month)
    )
    if (year, month) > (today.year, today.month):
        year, month = today.year, today.month
    first = jdatetime.date(year, month, 1)
    length = jdatetime.j_days_in_month[month - 1] + (1 if month == 12 and first.isleap() else 0)
    cells: list[Day | None] = [None] * first.weekday()
    for number in range(1, length + 1):
        day = jdatetime.date(year, month, number)
        cells.append(Day(day.strftime("%Y/%m/%d"), number, day <= today, picked == day))
    cells += [None] * (-len(cells) % 7)
    weeks = tuple(tuple(cells[i : i + 7]) for i in range(0, len(cells), 7))
    after = _shift(year, month, 1)
    before = _shift(year, month, -1)
    return Month(
        year=year,
        month=month,
        name=MONTHS[month - 1],
        weeks=weeks,
        previous=f"{before[0]}/{before[1]:02d}",
        next=f"{after[0]}/{after[1]:02d}" if after <= (today.year, today.month) else None,
    )
