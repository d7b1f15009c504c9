"""PostgreSQL's store tells each commit's event types with its NOTIFY: a waiter for some types
sleeps through commits of others (an idle service does not wake at every append of a busy one)."""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from contracts.envelope import NewEvent
from contracts.eventstore import EventStore
from infra.eventstore import open_store
from infra.eventstore import sql as sql_store
from infra.eventstore.schema import ANY_TYPE_CHANNEL, type_channel
from infra.eventstore.sql import SqlEventStore
from tests.pg import required_database

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_store(scratch_pg_url: str) -> Iterator[EventStore]:
    """The store on a scratch PostgreSQL database: the adapter that tells commits by NOTIFY."""
    opened = open_store(scratch_pg_url)
    yield opened
    opened.close()


def _append_later(store: EventStore, delay: float, *types: str) -> threading.Timer:
    events = [NewEvent(name, {"n": n}) for n, name in enumerate(types)]
    timer = threading.Timer(delay, lambda: store.append(f"s-{time.monotonic_ns()}", events))
    timer.start()
    return timer


def test_a_waiter_sleeps_through_other_types_and_wakes_for_its_own(pg_store: EventStore) -> None:
    position = pg_store.last_position()
    pg_store.wait_for_events(position, 0.2, types=["Wanted"])  # begins listening
    woken = pg_store._generation  # type: ignore[attr-defined]
    writer = open_store(pg_store.url)  # type: ignore[attr-defined]  # another process's appends
    others = [_append_later(writer, 0.05 * n, "Other") for n in range(1, 6)]
    began = time.monotonic()
    assert pg_store.wait_for_events(position, 0.6, types=["Wanted"]) is False
    assert time.monotonic() - began >= 0.55  # five commits of other types did not wake it
    for timer in others:
        timer.join()
    writer.close()
    assert pg_store._generation == woken  # type: ignore[attr-defined]  # nor its listener: not told at all

    position = pg_store.last_position()
    wanted = _append_later(pg_store, 0.1, "Other", "Wanted")
    began = time.monotonic()
    assert pg_store.wait_for_events(position, 10, types=["Wanted"]) is True
    assert time.monotonic() - began < 5
    wanted.join()
    assert pg_store.wait_for_events(position, 0.01) is True  # untyped: any event past the position


def _heard(listener: Any, timeout: float) -> list[str]:
    """The payloads `listener` (a LISTENing psycopg2 connection) gets within `timeout` seconds,
    or within 0.3 s of the first (to catch a second one told by mistake)."""
    heard: list[str] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if select.select([listener], [], [], left)[0]:
            listener.poll()
            heard += [n.payload for n in listener.notifies]
            listener.notifies.clear()
            if heard:
                deadline = min(deadline, time.monotonic() + 0.3)
    return heard


@pytest.mark.parametrize("path", ["es_append", "lock first"])
def test_each_commit_is_told_on_the_channel_of_each_type_it_holds(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_name = "Long" * 15  # its channel would pass PostgreSQL's 63 bytes
    with required_database() as url:
        store = SqlEventStore(url)
        if path == "lock first":  # es_append refuses each time, so the store appends under the lock
            monkeypatch.setattr(sql_store, "append_at_once", lambda *args: None)
        listener = psycopg2.connect(url.replace("+psycopg2", ""))
        listener.autocommit = True
        with listener.cursor() as cursor:
            for channel in (type_channel("Wanted"), ANY_TYPE_CHANNEL):
                cursor.execute(f'LISTEN "{channel}"')
        try:
            store.append("s-1", [NewEvent("Other", {})])
            assert _heard(listener, 0.3) == []  # no commit of its types: not a word
            store.append("s-2", [NewEvent("Other", {}), NewEvent("Wanted", {})])
            (told,) = _heard(listener, 5)
            assert told.split(":", 2)[1:] == ["2", "Other,Wanted"]
            store.append("s-3", [NewEvent(long_name, {})])
            (told,) = _heard(listener, 5)  # on the channel of commits not named by type
            assert told.endswith(long_name) and type_channel(long_name) == ANY_TYPE_CHANNEL
        finally:
            listener.close()
            store.close()
