"""No skipped events: a subscriber following `$all` while many writers append sees every
committed event exactly once, in position order (threads, and for PostgreSQL processes too)."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from contracts.envelope import NewEvent, RecordedEvent
from contracts.eventstore import EventStore
from infra.eventstore import open_store

THREADS = 8
PER_THREAD = 400
PROCESSES = 3
PER_PROCESS = 300


def _write(store: EventStore, writer: str, count: int, kind: str) -> list[str]:
    ids = []
    for i in range(count):
        event = NewEvent(kind, {"writer": writer, "i": i})
        store.append(f"load-{writer}-{i % 7}", [event])
        ids.append(str(event.id))
    return ids


def _write_in_process(url: str, writer: str, count: int, kind: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = open_store(url)
    try:
        out.put(_write(store, writer, count, kind))
    finally:
        store.close()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("of_every_type", [False, True], ids=["of-its-types", "of-every-type"])
def test_a_subscriber_misses_nothing_while_writers_race(
    store: EventStore, store_url: str, of_every_type: bool
) -> None:
    """Of its types, or of every type in small full pages (the PostgreSQL store then reads the next
    page while the current one is decoded)."""
    processes = PROCESSES if store_url.startswith("postgresql") else 0
    expected_total = THREADS * PER_THREAD + processes * PER_PROCESS
    kind = f"Load{uuid.uuid4().hex[:8]}"
    start = store.last_position()
    seen: list[RecordedEvent] = []
    stop = threading.Event()

    def follow() -> None:
        events = (
            store.subscribe_all(start, stop=stop, idle_timeout=0.2, batch=7)
            if of_every_type
            else store.subscribe_all(start, types=[kind], stop=stop, idle_timeout=0.2)
        )
        for event in events:
            if event.type != kind:
                continue  # another test's, on a shared store
            seen.append(event)
            if len(seen) >= expected_total:
                return

    follower = threading.Thread(target=follow)
    follower.start()

    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    workers = [
        context.Process(target=_write_in_process, args=(store_url, f"p{n}", PER_PROCESS, kind, results))
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    with ThreadPoolExecutor(THREADS) as pool:
        written = [
            event_id
            for ids in pool.map(lambda n: _write(store, f"t{n}", PER_THREAD, kind), range(THREADS))
            for event_id in ids
        ]
    for _ in workers:
        written.extend(results.get(timeout=300))
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    follower.join(timeout=120)
    stop.set()
    assert len(written) == expected_total
    positions = [event.position for event in seen]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions), "an event was delivered twice"
    assert sorted(str(event.id) for event in seen) == sorted(written), "an event was skipped"
