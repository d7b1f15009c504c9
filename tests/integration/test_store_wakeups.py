"""PostgreSQL's store tells each commit's event types with its NOTIFY: a waiter for some types
sleeps through commits of others (an idle service does not wake at every append of a busy one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from contracts.envelope import NewEvent
from contracts.eventstore import EventStore
from infra.eventstore import open_store
from tests.pg import required_database

pytestmark = pytest.mark.integration


@pytest.fixture
def store() -> Iterator[EventStore]:
    with required_database() as url:
        opened = open_store(url)
        yield opened
        opened.close()


def _append_later(store: EventStore, delay: float, *types: str) -> threading.Timer:
    events = [NewEvent(name, {"n": n}) for n, name in enumerate(types)]
    timer = threading.Timer(delay, lambda: store.append(f"s-{time.monotonic_ns()}", events))
    timer.start()
    return timer


def test_a_waiter_sleeps_through_other_types_and_wakes_for_its_own(store: EventStore) -> None:
    position = store.last_position()
    store.wait_for_events(position, 0.2, types=["Wanted"])  # begins listening
    others = [_append_later(store, 0.05 * n, "Other") for n in range(1, 6)]
    began = time.monotonic()
    assert store.wait_for_events(position, 0.6, types=["Wanted"]) is False
    assert time.monotonic() - began >= 0.55  # five commits of other types did not wake it
    for timer in others:
        timer.join()

    position = store.last_position()
    wanted = _append_later(store, 0.1, "Other", "Wanted")
    began = time.monotonic()
    assert store.wait_for_events(position, 10, types=["Wanted"]) is True
    assert time.monotonic() - began < 5
    wanted.join()
    assert store.wait_for_events(position, 0.01) is True  # untyped: any event past the position
