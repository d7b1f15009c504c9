"""The Jalali working-day calendar: Fridays, holidays, due dates, paused clocks."""

from __future__ import annotations

from datetime import date

import pytest

from services.secretariat.workdays import WorkingCalendar, local_date, parse_jalali, to_jalali


@pytest.fixture
def calendar() -> WorkingCalendar:
    # Nowruz every year, and one year's lunar holiday.
    return WorkingCalendar.parse("01/01,01/02,01/03,01/04,01/12,01/13, ۱۴۰۵/۰۱/۱۹")


def test_jalali_dates_read_in_any_digits() -> None:
    assert parse_jalali("۱۴۰۵/۰۱/۰۱") == date(2026, 3, 21)
    assert parse_jalali("1405-01-01") == date(2026, 3, 21)
    assert to_jalali(date(2026, 3, 21)) == "1405/01/01"
    with pytest.raises(ValueError):
        parse_jalali("1405/13/01")


def test_fridays_and_holidays_are_not_working_days(calendar: WorkingCalendar) -> None:
    assert not calendar.is_working(date(2026, 11, 20))  # a Friday
    assert calendar.is_working(date(2026, 11, 21))  # a Saturday
    assert not calendar.is_working(parse_jalali("1405/01/03"))  # Nowruz
    assert not calendar.is_working(parse_jalali("1406/01/03"))  # Nowruz, the next year too
    assert not calendar.is_working(parse_jalali("1405/01/19"))  # that year's dated holiday
    assert calendar.is_working(parse_jalali("1406/01/19"))  # not the next year


def test_due_date_skips_fridays_and_holidays(calendar: WorkingCalendar) -> None:
    wednesday = date(2026, 11, 18)
    # Thursday 19 is the 1st working day; Friday 20 is skipped; Saturday 21 the 2nd.
    assert calendar.add_working_days(wednesday, 2) == date(2026, 11, 21)
    assert calendar.add_working_days(wednesday, 0) == wednesday
    # Filed the day before Nowruz: the holidays and the Friday in between do not count.
    eve = parse_jalali("1404/12/28")
    assert calendar.add_working_days(eve, 1) == parse_jalali("1405/01/05")


def test_working_days_between_counts_after_start_up_to_end(calendar: WorkingCalendar) -> None:
    assert calendar.working_days_between(date(2026, 11, 18), date(2026, 11, 22)) == 3  # Thu, Sat, Sun
    assert calendar.working_days_between(date(2026, 11, 22), date(2026, 11, 18)) == 0
    start = date(2026, 11, 1)
    for days in range(0, 40, 7):
        due = calendar.add_working_days(start, days)
        assert calendar.working_days_between(start, due) == days


def test_the_weekend_is_configurable() -> None:
    calendar = WorkingCalendar.parse("", "thu,fri")
    assert not calendar.is_working(date(2026, 11, 19))  # Thursday
    assert calendar.add_working_days(date(2026, 11, 18), 1) == date(2026, 11, 21)


def test_local_date_is_tehran_time() -> None:
    # 21:00 UTC is 00:30 the next day in Tehran.
    assert local_date("2026-11-18T21:00:00+00:00") == date(2026, 11, 19)
    assert local_date("2026-11-18T20:00:00+00:00") == date(2026, 11, 18)
