"""Registration numbers: gapless per secretariat and year, once per request, formatted per secretariat."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from contracts.catalogue import PROVINCE_CODES, PROVINCES
from contracts.envelope import RecordedEvent
from contracts.errors import DomainError
from contracts.events import registry
from infra.decider import read_last
from infra.eventstore.sql import SqlEventStore
from services.secretariat.numbering import BOOK, book_stream, format_number, render_number, take_number


def book_end(store: SqlEventStore, secretariat: str, year: int) -> tuple[int, int | None]:
    """The book's last sequence and revision, as numbering loads it: from its last event alone."""
    last = read_last(store, book_stream(secretariat, year))
    book = BOOK.fold(registry.decode(recorded) for recorded in last)
    return book.last_sequence, (last[-1].revision if last else None)


def test_numbers_follow_each_other_per_secretariat_and_year(store: SqlEventStore) -> None:
    first = take_number(store, "tehran", "r1", "c1", year=1405)
    second = take_number(store, "tehran", "r2", "c1", year=1405)
    other = take_number(store, "isfahan", "r3", "c1", year=1405)
    next_year = take_number(store, "tehran", "r4", "c1", year=1406)
    assert [first.sequence, second.sequence, other.sequence, next_year.sequence] == [1, 2, 1, 1]
    assert (second.registration_number, other.registration_number) == ("1405/23/2", "1405/10/1")


def test_a_request_is_numbered_once_in_any_book(store: SqlEventStore) -> None:
    take_number(store, "tehran", "r1", "c1", year=1405)
    take_number(store, "tehran", "r2", "c1", year=1405)
    for secretariat, year in (("tehran", 1405), ("tehran", 1406), ("isfahan", 1405)):
        with pytest.raises(DomainError) as refused:
            take_number(store, secretariat, "r1", "c2", year=year)
        assert refused.value.code == "already_numbered"
    assert book_end(store, "tehran", 1405)[0] == 2
    assert len(store.read_stream(book_stream("tehran", 1405))) == 2


def test_loading_the_book_reads_only_its_end(store: SqlEventStore) -> None:
    for index in range(30):
        take_number(store, "tehran", f"r{index}", "c", year=1405)
    assert book_end(store, "tehran", 1405) == (30, 29)
    assert book_end(store, "qom", 1405)[1] is None


def test_racing_clerks_get_distinct_gapless_numbers(store: SqlEventStore) -> None:
    numbers: list[int] = []
    lock = threading.Lock()

    def clerk(name: str) -> None:
        for index in range(15):
            event = take_number(store, "tehran", f"{name}-{index}", name, year=1405)
            with lock:
                numbers.append(event.sequence)

    threads = [threading.Thread(target=clerk, args=(f"c{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 61))
    recorded = [e.data["sequence"] for e in store.read_stream(book_stream("tehran", 1405))]
    assert recorded == list(range(1, 61))


def test_the_format_is_configurable_per_secretariat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRATION_NUMBER_FORMAT", "{year}-{sequence:05d}")
    monkeypatch.setenv("REGISTRATION_NUMBER_FORMATS", '{"tehran": "{yy}/T/{sequence:06d}"}')
    assert format_number("tehran", 1405, 42) == "05/T/000042"
    assert format_number("isfahan", 1405, 42) == "1405-00042"


def test_the_default_number_is_digits_only_with_the_province_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRATION_NUMBER_FORMAT", raising=False)
    monkeypatch.delenv("REGISTRATION_NUMBER_FORMATS", raising=False)
    assert format_number("azarbaijan-west", 1405, 7) == "1405/04/7"
    assert all(format_number(p, 1405, 1).replace("/", "").isdigit() for p in PROVINCE_CODES)


def test_a_format_may_name_the_code_or_the_secretariat_as_numbers_were_printed_before() -> None:
    assert render_number("{yy}-{code}-{sequence:04d}", "tehran", 1405, 3) == "05-23-0003"
    assert render_number("{year}/{secretariat}/{sequence}", "tehran", 1405, 3) == "1405/tehran/3"


def test_every_province_has_its_own_code() -> None:
    assert set(PROVINCE_CODES) == set(PROVINCES)
    assert len(set(PROVINCE_CODES.values())) == len(PROVINCES)
    assert all(len(code) == 2 and code.isdigit() for code in PROVINCE_CODES.values())


class _StaleBookOnce(SqlEventStore):
    """Another process's view: its first read of a book's end is the one taken before `number`."""

    stale: list[RecordedEvent] | None = None

    def read_stream(self, stream: str, *args: Any, **kwargs: Any) -> list[RecordedEvent]:
        if stream.startswith("registry-") and kwargs.get("backwards") and self.stale is not None:
            stale, self.stale = self.stale, None
            return stale
        return super().read_stream(stream, *args, **kwargs)


def test_a_clerk_who_read_the_same_end_of_the_book_is_told_already_numbered(store: SqlEventStore) -> None:
    take_number(store, "tehran", "r0", "c1", year=1405)
    racing = _StaleBookOnce(store.url)
    racing.stale = read_last(store, book_stream("tehran", 1405))
    first = take_number(store, "tehran", "r1", "c1", year=1405)
    # The other clerk decided on the end before r1's number: the same sequence, the same event id.
    with pytest.raises(DomainError) as refused:
        take_number(racing, "tehran", "r1", "c2", year=1405)
    assert refused.value.code == "already_numbered"
    assert first.sequence == 2
    assert book_end(store, "tehran", 1405) == (2, 1)
