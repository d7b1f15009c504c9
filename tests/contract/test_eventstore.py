"""The event-store contract: EventStoreDB's semantics, held by every adapter."""

from __future__ import annotations

import threading
import uuid

import pytest

from contracts.envelope import (
    DuplicateEventIds,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    StreamState,
    WrongExpectedVersion,
)
from contracts.eventstore import EventStore


def _stream(kind: str = "case") -> str:
    return f"{kind}-{uuid.uuid4().hex}"


def _events(n: int, kind: str = "Noted") -> list[NewEvent]:
    return [NewEvent(kind, {"n": i, "text": "سلام"}) for i in range(n)]


def test_revisions_start_at_zero_and_positions_grow(store: EventStore) -> None:
    stream = _stream()
    first = store.append(stream, _events(2), StreamState.NO_STREAM)
    second = store.append(stream, _events(1), 1)
    assert (first.revision, second.revision) == (1, 2)
    assert second.position > first.position
    assert [e.revision for e in store.read_stream(stream)] == [0, 1, 2]
    assert store.stream_version(stream) == 2


def test_data_round_trips_unchanged(store: EventStore) -> None:
    stream = _stream()
    data = {"subject": "درخواست مجوز", "nested": {"list": [1, 2, 3]}, "none": None}
    store.append(stream, [NewEvent("Noted", data, version=3)])
    (event,) = store.read_stream(stream)
    assert (event.type, event.version, event.data) == ("Noted", 3, data)


@pytest.mark.parametrize(
    ("prepare", "expected", "actual"),
    [
        (0, StreamState.STREAM_EXISTS, None),
        (1, StreamState.NO_STREAM, 0),
        (2, 0, 1),
        (0, 0, None),
    ],
)
def test_wrong_expected_version_carries_expected_and_actual(
    store: EventStore, prepare: int, expected: StreamState | int, actual: int | None
) -> None:
    stream = _stream()
    if prepare:
        store.append(stream, _events(prepare))
    with pytest.raises(WrongExpectedVersion) as raised:
        store.append(stream, _events(1), expected)
    assert (raised.value.stream, raised.value.expected, raised.value.actual) == (
        stream,
        expected,
        actual,
    )
    assert str(expected if isinstance(expected, int) else expected.value) in str(raised.value)
    assert store.stream_version(stream) == (None if prepare == 0 else prepare - 1)


def test_any_and_exists_accept_whatever_is_there(store: EventStore) -> None:
    stream = _stream()
    store.append(stream, _events(1), StreamState.ANY)
    store.append(stream, _events(1), StreamState.STREAM_EXISTS)
    assert store.append(stream, _events(1), StreamState.ANY).revision == 2


def test_append_is_idempotent_by_event_id(store: EventStore) -> None:
    start = store.last_position()
    stream = _stream()
    batch = _events(3)
    first = store.append(stream, batch, StreamState.NO_STREAM)
    again = store.append(stream, batch, StreamState.NO_STREAM)
    assert again == first
    assert len(store.read_stream(stream)) == 3
    assert [e.id for e in store.read_all(start, limit=10) if e.stream == stream] == [e.id for e in batch]


def test_partly_known_ids_are_refused(store: EventStore) -> None:
    stream = _stream()
    batch = _events(2)
    store.append(stream, batch)
    with pytest.raises(DuplicateEventIds):
        store.append(stream, [batch[1], *_events(1)])
    assert len(store.read_stream(stream)) == 2


def test_ids_stored_in_another_stream_are_refused(store: EventStore, store_url: str) -> None:
    if store_url.startswith(("esdb", "kurrentdb")):
        pytest.skip("EventStoreDB keeps no index of event ids across streams: it writes them again")
    batch = _events(2)
    store.append(_stream(), batch)
    with pytest.raises(DuplicateEventIds):
        store.append(_stream(), batch)


def test_read_stream_forwards_backwards_and_from_a_revision(store: EventStore) -> None:
    stream = _stream()
    store.append(stream, _events(5))
    assert [e.data["n"] for e in store.read_stream(stream, 2)] == [2, 3, 4]
    assert [e.data["n"] for e in store.read_stream(stream, backwards=True)] == [4, 3, 2, 1, 0]
    assert [e.data["n"] for e in store.read_stream(stream, 3, backwards=True, limit=2)] == [3, 2]
    assert [e.data["n"] for e in store.read_stream(stream, limit=2)] == [0, 1]


def test_missing_stream_is_not_found(store: EventStore) -> None:
    with pytest.raises(StreamNotFound):
        store.read_stream(_stream())
    assert store.stream_version(_stream()) is None


def test_all_is_one_global_order_and_filters_by_type(store: EventStore) -> None:
    start = store.last_position()
    a, b = _stream(), _stream()
    kind = f"Kind{uuid.uuid4().hex[:8]}"
    store.append(a, [NewEvent(kind, {"i": 0})])
    store.append(b, [NewEvent("Other", {"i": 1})])
    store.append(a, [NewEvent(kind, {"i": 2})])
    mine = [e for e in store.read_all(start, limit=1000) if e.stream in (a, b)]
    assert [e.data["i"] for e in mine] == [0, 1, 2]
    positions = [e.position for e in mine]
    assert positions == sorted(positions) and len(set(positions)) == 3
    assert [e.data["i"] for e in store.read_all(start, types=[kind])] == [0, 2]
    assert store.last_position() == positions[-1]


def test_correlation_and_causation_ids_are_kept(store: EventStore) -> None:
    stream = _stream()
    cause = NewEvent("Asked", {})
    store.append(stream, [cause])
    effect = NewEvent("Answered", {}, correlation_id=cause.id, causation_id=cause.id)
    store.append(stream, [effect])
    first, second = store.read_stream(stream)
    assert (first.correlation_id, first.causation_id) == (cause.id, None)
    assert (second.correlation_id, second.causation_id) == (cause.id, cause.id)


def test_soft_delete_hides_the_stream_until_it_is_written_again(store: EventStore) -> None:
    stream = _stream()
    store.append(stream, _events(2))
    store.delete_stream(stream)
    with pytest.raises(StreamNotFound):
        store.read_stream(stream)
    assert store.stream_version(stream) is None
    result = store.append(stream, _events(1), StreamState.NO_STREAM)
    assert result.revision == 2
    assert [e.revision for e in store.read_stream(stream)] == [2]


def test_truncate_hides_events_before_a_revision(store: EventStore) -> None:
    stream = _stream()
    store.append(stream, _events(4))
    store.truncate_stream(stream, 2)
    assert [e.revision for e in store.read_stream(stream)] == [2, 3]
    assert store.stream_version(stream) == 3
    assert store.read_stream(stream, 7) == []  # past its end: a stream with nothing there yet
    assert [e.revision for e in store.read_stream(stream, backwards=True, limit=1)] == [3]
    store.truncate_stream(stream, 4)
    assert store.read_stream(stream) == []  # everything truncated: still a stream
    with pytest.raises(StreamNotFound):
        store.read_stream(_stream())


def test_subscribe_all_catches_up_then_follows_live_filtered_by_type(store: EventStore) -> None:
    start = store.last_position()
    kind = f"Kind{uuid.uuid4().hex[:8]}"
    stream = _stream()
    store.append(stream, [NewEvent(kind, {"i": 0}), NewEvent("Other", {"i": 1})])
    stop = threading.Event()
    seen: list[int] = []

    def follow() -> None:
        for event in store.subscribe_all(start, types=[kind], stop=stop, idle_timeout=0.1):
            seen.append(event.data["i"])
            if len(seen) == 3:
                stop.set()

    follower = threading.Thread(target=follow)
    follower.start()
    store.append(_stream(), [NewEvent("Other", {"i": 9})])
    store.append(stream, [NewEvent(kind, {"i": 2}), NewEvent(kind, {"i": 3})])
    follower.join(timeout=20)
    stop.set()
    assert seen == [0, 2, 3]


def test_subscribe_stream_from_a_revision(store: EventStore) -> None:
    stream = _stream()
    store.append(stream, _events(3))
    stop = threading.Event()
    seen: list[int] = []

    def follow() -> None:
        for event in store.subscribe_stream(stream, 1, stop=stop, idle_timeout=0.1):
            seen.append(event.revision)
            if len(seen) == 4:
                stop.set()

    follower = threading.Thread(target=follow)
    follower.start()
    store.append(_stream(), _events(1))
    store.append(stream, _events(2))
    follower.join(timeout=20)
    stop.set()
    assert seen == [1, 2, 3, 4]


def test_wait_for_events_wakes_on_append(store: EventStore) -> None:
    position = store.last_position()
    assert store.wait_for_events(position, 0.05) is False
    timer = threading.Timer(0.2, lambda: store.append(_stream(), _events(1)))
    timer.start()
    assert store.wait_for_events(position, 10) is True
    timer.join()


def test_wait_for_events_of_some_types_wakes_for_them(store: EventStore) -> None:
    position = store.last_position()
    assert store.wait_for_events(position, 0.05, types=["Wanted"]) is False
    timer = threading.Timer(0.2, lambda: store.append(_stream(), [NewEvent("Wanted", {"n": 1})]))
    timer.start()
    assert store.wait_for_events(position, 10, types=["Other", "Wanted"]) is True
    timer.join()


def test_racing_appends_at_one_expected_version_exactly_one_wins(store: EventStore) -> None:
    stream = _stream()
    store.append(stream, _events(1), StreamState.NO_STREAM)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def race(n: int) -> None:
        barrier.wait()
        try:
            store.append(stream, [NewEvent("Raced", {"n": n})], 0)
            outcomes.append("won")
        except WrongExpectedVersion as conflict:
            assert conflict.actual == 1
            outcomes.append("lost")

    racers = [threading.Thread(target=race, args=(n,)) for n in range(10)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(outcomes) == ["lost"] * 9 + ["won"]
    assert store.stream_version(stream) == 1


def test_an_append_that_cannot_be_stored_fails_alone_and_leaves_nothing(store: EventStore) -> None:
    stream, neighbour = _stream(), _stream()
    store.append(stream, _events(1))
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def bad() -> None:
        barrier.wait()
        try:  # the second event cannot be serialised: nothing of this append may be written
            store.append(stream, [NewEvent("Ok", {"a": 1}), NewEvent("Bad", {"a": object()})])
        except (TypeError, ValueError) as error:
            errors.append(error)

    def good(n: int) -> None:
        barrier.wait()
        store.append(neighbour, [NewEvent("Good", {"n": n})])

    threads = [threading.Thread(target=bad)] + [threading.Thread(target=good, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 1
    assert [e.type for e in store.read_stream(stream)] == ["Noted"]
    assert len(store.read_stream(neighbour)) == 5
    assert store.append(stream, _events(1), 0).revision == 1


def _same_event(found: RecordedEvent | None, read: RecordedEvent) -> None:
    assert found is not None
    fields = ("id", "type", "version", "stream", "revision", "position", "data", "metadata")
    assert [getattr(found, f) for f in fields] == [getattr(read, f) for f in fields]
    assert (found.correlation_id, found.causation_id) == (read.correlation_id, read.causation_id)


def test_find_event_finds_an_event_by_id_in_its_stream(store: EventStore) -> None:
    stream = _stream()
    cause = NewEvent("Asked", {"q": "چرا؟"})
    store.append(_stream(), [cause])
    events = [*_events(2), NewEvent("Noted", {"n": 2}, causation_id=cause.id, metadata={"by": "clerk"})]
    store.append(stream, events)
    stored = store.read_stream(stream)
    for event, read in zip(events, stored, strict=True):
        _same_event(store.find_event(event.id), read)
    found = store.find_event(events[2].id)
    assert found is not None
    assert (found.stream, found.revision, found.data, found.metadata) == (
        stream,
        2,
        {"n": 2},
        {"by": "clerk"},
    )
    assert found.causation_id == cause.id


def test_find_event_of_an_unknown_id_is_none(store: EventStore) -> None:
    store.append(_stream(), _events(1))
    assert store.find_event(uuid.uuid4(), types=[f"Kind{uuid.uuid4().hex[:8]}"]) is None
    assert store.find_event(uuid.uuid4()) is None


def test_find_event_honours_the_types_hint(store: EventStore) -> None:
    kind = f"Kind{uuid.uuid4().hex[:8]}"
    stream = _stream()
    wanted = NewEvent(kind, {"i": 0})
    store.append(stream, [wanted, NewEvent("Other", {"i": 1})])
    store.append(_stream(), [NewEvent(kind, {"i": 2})])  # a newer event of the type, elsewhere
    _same_event(store.find_event(wanted.id, types=[kind]), store.read_stream(stream)[0])
    _same_event(store.find_event(wanted.id, types=iter(["Other", kind])), store.read_stream(stream)[0])
    # The hint is a promise: an event of another type is not found, on every store alike.
    assert store.find_event(wanted.id, types=["Other"]) is None
    assert store.find_event(wanted.id, types=[]) is None


def test_find_event_does_not_find_what_read_stream_hides(store: EventStore) -> None:
    stream = _stream()
    old = _events(3)
    store.append(stream, old)
    store.truncate_stream(stream, 1)
    assert store.find_event(old[0].id) is None
    assert store.find_event(old[1].id) is not None
    store.delete_stream(stream)
    assert [store.find_event(event.id) for event in old] == [None, None, None]
    assert store.find_event(old[2].id, types=["Noted"]) is None
    new = NewEvent("Noted", {"n": 3})
    store.append(stream, [new], StreamState.NO_STREAM)
    assert store.find_event(old[2].id) is None  # the stream lives again, its old events do not
    _same_event(store.find_event(new.id, types=["Noted"]), store.read_stream(stream)[0])
