"""PostgreSQL appends decided without the lock and written by `es_append` in one statement: what
changed between the read and the write is never overwritten, and two stores (two processes)
writing side by side keep one gap-free order, revisions and hash chains."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.envelope import AppendResult, DuplicateEventIds, NewEvent, StreamState, WrongExpectedVersion
from infra.eventstore import sql as sql_store
from infra.eventstore.schema import APPEND_LOCK_KEY
from infra.eventstore.sql import DECIDE_AHEAD_ATTEMPTS, SqlEventStore
from infra.ops import integrity

pytestmark = pytest.mark.integration


@pytest.fixture
def stores(scratch_pg_url: str) -> Iterator[tuple[SqlEventStore, SqlEventStore]]:
    """Two stores on one database, as two services' processes have."""
    first, second = SqlEventStore(scratch_pg_url), SqlEventStore(scratch_pg_url)
    yield first, second
    first.close()
    second.close()


def _before_each_write(
    monkeypatch: pytest.MonkeyPatch, store: SqlEventStore, meddle: Callable[[int], object]
) -> list[int | None]:
    """Run `meddle(call number)` just before each of `store`'s `es_append` calls (other stores'
    calls pass straight through); the answers of `store`'s calls."""
    answers: list[int | None] = []
    real = sql_store.append_at_once
    meddling = threading.local()

    def write(conn: sa.Connection, *args: Any) -> int | None:
        if getattr(meddling, "now", False) or conn.engine.pool is not store._autocommit.pool:
            return real(conn, *args)
        meddling.now = True
        try:
            meddle(len(answers))
        finally:
            meddling.now = False
        answers.append(real(conn, *args))
        return answers[-1]

    monkeypatch.setattr(sql_store, "append_at_once", write)
    return answers


def test_a_stream_written_between_the_read_and_the_write_is_decided_again(
    stores: tuple[SqlEventStore, SqlEventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = stores
    stream = f"case-{uuid.uuid4().hex}"
    answers = _before_each_write(
        monkeypatch,
        ours,
        lambda call: theirs.append(stream, [NewEvent("Theirs", {"n": call})]) if call == 0 else None,
    )
    result = ours.append(stream, [NewEvent("Ours", {})], StreamState.ANY)
    assert answers[0] is None and answers[1] is not None  # refused once, then written
    assert [(e.type, e.revision) for e in ours.read_stream(stream)] == [("Theirs", 0), ("Ours", 1)]
    assert result.revision == 1 and result.position == ours.last_position()
    assert not integrity.check(ours).findings  # the chain links "Ours" to "Theirs"

    monkeypatch.undo()
    other = f"case-{uuid.uuid4().hex}"
    _before_each_write(
        monkeypatch, ours, lambda call: theirs.append(other, [NewEvent("Theirs", {})]) if call == 0 else None
    )
    with pytest.raises(WrongExpectedVersion):
        ours.append(other, [NewEvent("Ours", {})], StreamState.NO_STREAM)
    assert [e.type for e in ours.read_stream(other)] == ["Theirs"]


def test_the_same_event_stored_meanwhile_by_another_process_answers_as_an_idempotent_append(
    stores: tuple[SqlEventStore, SqlEventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = stores
    stream, event = f"case-{uuid.uuid4().hex}", NewEvent("Once", {"a": 1})
    stored: list[Any] = []
    _before_each_write(
        monkeypatch,
        ours,
        lambda call: (
            stored.append(theirs.append(stream, [event], StreamState.NO_STREAM)) if call == 0 else None
        ),
    )
    assert ours.append(stream, [event], StreamState.NO_STREAM) == stored[0]
    assert len(ours.read_stream(stream)) == 1


def test_streams_that_keep_changing_are_written_under_the_lock(
    stores: tuple[SqlEventStore, SqlEventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = stores
    stream = f"case-{uuid.uuid4().hex}"
    theirs_each_time = lambda call: theirs.append(stream, [NewEvent("Theirs", {})])  # noqa: E731
    answers = _before_each_write(monkeypatch, ours, theirs_each_time)
    result = ours.append(stream, [NewEvent("Ours", {})])
    assert answers == [None] * DECIDE_AHEAD_ATTEMPTS  # then the locked path wrote it
    types = [e.type for e in ours.read_stream(stream)]
    assert types == ["Theirs"] * DECIDE_AHEAD_ATTEMPTS + ["Ours"] and result.revision == DECIDE_AHEAD_ATTEMPTS


def test_two_processes_appending_side_by_side_keep_one_gap_free_order(
    stores: tuple[SqlEventStore, SqlEventStore],
) -> None:
    shared, per_thread = f"case-{uuid.uuid4().hex}", 15
    barrier = threading.Barrier(8)
    wins: list[int] = []

    def writer(store: SqlEventStore, n: int) -> None:
        barrier.wait()
        own = f"case-{uuid.uuid4().hex}"
        for i in range(per_thread):
            store.append(shared, [NewEvent("Shared", {"n": n, "i": i})])
            store.append(own, [NewEvent("Own", {"i": i}), NewEvent("Own", {"i": i, "second": True})])
            try:  # many race for each revision of one stream: exactly one may win it
                store.append(f"{shared}-race-{i}", [NewEvent("Raced", {"n": n})], StreamState.NO_STREAM)
                wins.append(i)
            except WrongExpectedVersion:
                pass

    threads = [threading.Thread(target=writer, args=(stores[n % 2], n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = stores[0]
    everything = store.read_all(0, limit=10_000)
    assert [e.position for e in everything] == list(range(1, len(everything) + 1))
    assert len(everything) == 8 * per_thread * 3 + per_thread
    assert sorted(wins) == list(range(per_thread))
    assert [e.revision for e in store.read_stream(shared)] == list(range(8 * per_thread))
    times = [datetime.fromisoformat(e.recorded_at.isoformat()) for e in everything]
    assert times == sorted(times)  # recorded under the lock, in the order of positions
    with store.read_engine.connect() as conn:
        text = conn.execute(
            sa.text("SELECT recorded_at FROM es_events ORDER BY position DESC LIMIT 1")
        ).scalar()
    assert datetime.fromisoformat(text).utcoffset() is not None and text.endswith("+00:00")
    assert not integrity.check(store).findings


def test_a_stream_this_store_wrote_and_another_wrote_after_is_read_again(
    stores: tuple[SqlEventStore, SqlEventStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = stores
    stream = f"case-{uuid.uuid4().hex}"
    ours.append(stream, [NewEvent("Ours", {"n": 0})])  # this store now takes revision 0 as the last
    theirs.append(stream, [NewEvent("Theirs", {})], 0)
    answers = _before_each_write(monkeypatch, ours, lambda call: None)
    assert ours.append(stream, [NewEvent("Ours", {"n": 1})], 1).revision == 2  # refused by the guess only
    assert len(answers) == 1 and answers[0] is not None
    theirs.append(stream, [NewEvent("Theirs", {})], 2)
    assert ours.append(stream, [NewEvent("Ours", {"n": 2})]).revision == 4  # es_append refused the guess
    assert answers[1] is None and answers[2] is not None
    assert ours.append(stream, [NewEvent("Ours", {"n": 3})], 4).revision == 5
    assert len(answers) == 4  # it remembered what it wrote: no second call
    with pytest.raises(WrongExpectedVersion) as refused:
        ours.append(stream, [NewEvent("Ours", {})], 1)
    assert refused.value.actual == 5 and len(answers) == 4
    assert [e.type for e in ours.read_stream(stream)] == ["Ours", "Theirs", "Ours", "Theirs", "Ours", "Ours"]
    assert not integrity.check(ours).findings


def test_one_event_id_sent_to_two_streams_by_processes_waiting_on_the_lock_lands_once(
    stores: tuple[SqlEventStore, SqlEventStore],
) -> None:
    """Both looked for the event's id before the lock and found nothing: the second insert fails
    on the unique index, and that store decides again and refuses the id as a duplicate (what
    it answers when it finds the id before writing), not with the database's error."""
    ours, theirs = stores
    streams = {"ours": f"case-{uuid.uuid4().hex}", "theirs": f"case-{uuid.uuid4().hex}"}
    event = NewEvent("Filed", {"n": 1}, id=uuid.uuid4())
    results: dict[str, Any] = {}
    holder = ours.engine.connect()
    holder.execute(sa.select(sa.func.pg_advisory_lock(APPEND_LOCK_KEY)))

    def append(name: str, store: SqlEventStore) -> None:
        try:
            results[name] = store.append(streams[name], [event], StreamState.ANY)
        except Exception as error:  # noqa: BLE001 - asserted below
            results[name] = error

    threads = [threading.Thread(target=append, args=pair) for pair in (("ours", ours), ("theirs", theirs))]
    for thread in threads:
        thread.start()
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' AND query LIKE '%es_append%'"
    )
    for _ in range(500):
        with theirs.read_engine.connect() as conn:  # a new transaction sees the activity anew
            if conn.execute(waiting).scalar_one() == 2:
                break
        threading.Event().wait(0.01)
    else:
        pytest.fail("the two appends never both waited for the lock")
    holder.execute(sa.select(sa.func.pg_advisory_unlock(APPEND_LOCK_KEY)))
    holder.close()
    for thread in threads:
        thread.join(timeout=30)
    written = [name for name, result in results.items() if isinstance(result, AppendResult)]
    refused = [name for name, result in results.items() if isinstance(result, DuplicateEventIds)]
    assert len(written) == 1 and len(refused) == 1, results
    assert [e.id for e in ours.read_stream(streams[written[0]])] == [event.id]
