"""`read_streams`: several streams in one read, each as `read_stream` shows it, on every adapter."""

from __future__ import annotations

import uuid

from contracts.envelope import NewEvent, StreamState
from contracts.eventstore import EventStore


def _stream(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex}"


def _events(n: int) -> list[NewEvent]:
    return [NewEvent("Noted", {"n": i, "text": "سلام"}) for i in range(n)]


def test_each_stream_reads_as_read_stream_shows_it_and_a_missing_one_is_empty(store: EventStore) -> None:
    account, case, missing = _stream("account"), _stream("verification"), _stream("verification")
    store.append(account, _events(3), StreamState.NO_STREAM)
    store.append(case, _events(2), StreamState.NO_STREAM)
    store.append(account, _events(1), 2)  # interleaved in $all: each stream keeps its own order
    found = store.read_streams([account, missing, case])
    assert list(found) == [account, missing, case]
    assert found[missing] == []
    for stream in (account, case):
        assert found[stream] == store.read_stream(stream)
    assert [e.revision for e in found[account]] == [0, 1, 2, 3]
    assert [e.data["n"] for e in found[account]] == [0, 1, 2, 0]
    assert {e.stream for e in found[case]} == {case}


def test_a_deleted_stream_is_empty_and_a_truncated_one_loses_its_hidden_events(store: EventStore) -> None:
    gone, cut = _stream("account"), _stream("account")
    store.append(gone, _events(2), StreamState.NO_STREAM)
    store.append(cut, _events(3), StreamState.NO_STREAM)
    store.delete_stream(gone)
    store.truncate_stream(cut, 2)
    found = store.read_streams([gone, cut])
    assert found[gone] == []
    assert [e.revision for e in found[cut]] == [2]


def test_no_streams_read_nothing(store: EventStore) -> None:
    assert store.read_streams([]) == {}
