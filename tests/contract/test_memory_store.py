"""What the in-memory store must share with the SQL store beyond the contract: the same hash
chain, the same values read back, and nothing of a caller's dicts kept by reference."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from contracts.envelope import NewEvent, RecordedEvent, StreamState
from contracts.eventstore import EventStore
from infra.eventstore import open_store
from infra.eventstore.memory import MemoryEventStore
from infra.eventstore.schema import events_table
from infra.eventstore.sql import SqlEventStore
from infra.ops.hashchain import StoredLink, check_in_order, check_stream


def _history(store: EventStore, events: dict[str, NewEvent]) -> None:
    """The same appends, deletes and truncations, whatever the store."""
    store.append("case-a", [events["a0"], events["a1"]], StreamState.NO_STREAM)
    store.append("case-b", [events["b0"]])
    store.append("case-a", [events["a2"]], 1)
    store.truncate_stream("case-a", 1)
    store.delete_stream("case-b")
    store.append("case-b", [events["b1"], events["b2"]], StreamState.NO_STREAM)


def _events() -> dict[str, NewEvent]:
    cause = uuid.uuid4()
    return {
        "a0": NewEvent("Opened", {"subject": "درخواست", "tags": ("x", "y"), "z": 1, "a": None}),
        "a1": NewEvent("Noted", {"n": 1.5}, version=2, metadata={"actor": "staff:1"}),
        "a2": NewEvent("Noted", {"n": [1, {"b": 2, "a": 1}]}, causation_id=cause, correlation_id=cause),
        "b0": NewEvent("Opened", {}),
        "b1": NewEvent("Opened", {"again": True}),
        "b2": NewEvent("Closed", {"why": "پایان"}, metadata={"k": {"y": 1, "x": 2}}),
    }


def _fields(event: RecordedEvent) -> dict[str, Any]:
    """The event's fields but its recorded time (a store may keep more beside them: the stored
    text of its data or time, read when asked)."""
    return {field.name: getattr(event, field.name) for field in dataclasses.fields(event)} | {
        "recorded_at": None
    }


def test_memory_reads_back_what_sql_reads_back_with_the_same_hash_chain(tmp_path: Path) -> None:
    events = _events()
    sql = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    memory = MemoryEventStore()
    try:
        _history(sql, events)
        _history(memory, events)
        from_sql, from_memory = sql.read_all(), memory.read_all()
        assert [e.recorded_at.tzinfo for e in from_memory] == [e.recorded_at.tzinfo for e in from_sql]
        # The recorded time is the append's own clock; everything else is the same.
        assert [_fields(e) for e in from_memory] == [_fields(e) for e in from_sql]
        assert list(from_memory[0].data) == ["a", "subject", "tags", "z"]  # keys sorted, as stored
        assert from_memory[0].data["tags"] == ["x", "y"]
        for stream in ("case-a", "case-b"):
            assert [_fields(e) for e in memory.read_stream(stream)] == [
                _fields(e) for e in sql.read_stream(stream)
            ]

        with sql.read_engine.connect() as conn:
            sql_hashes = dict(conn.execute(sa.select(events_table.c.event_id, events_table.c.hash)).all())
        links = memory.read_links()
        assert {link.event_id: link.hash for link in links} == sql_hashes
        assert list(check_in_order(links)) == []
        for stream in ("case-a", "case-b"):
            own = [link for link in links if link.stream == stream]
            assert list(check_stream(own, memory.stream_head(stream))) == []
    finally:
        sql.close()


def test_a_changed_event_breaks_the_memory_stores_chain() -> None:
    memory = MemoryEventStore()
    _history(memory, _events())
    links = memory.read_links()
    forged = [
        StoredLink(**(vars(link) | {"data": {"n": 2.5}}))
        if (link.stream, link.revision) == ("case-a", 1)
        else link
        for link in links
    ]
    assert [(f.problem, f.stream, f.revision) for f in check_in_order(forged)] == [("tampered", "case-a", 1)]


def test_a_callers_dicts_are_not_kept_by_reference() -> None:
    memory = MemoryEventStore()
    data, metadata = {"list": [1, 2]}, {"actor": "citizen:1"}
    memory.append("case-x", [NewEvent("Noted", data, metadata=metadata)])
    data["list"].append(3)
    metadata["actor"] = "someone else"
    (read,) = memory.read_stream("case-x")
    read.data["list"].append(4)
    read.metadata["added"] = True
    (again,) = memory.read_all()
    assert (again.data, again.metadata) == ({"list": [1, 2]}, {"actor": "citizen:1"})


def test_open_store_gives_a_new_memory_store_or_the_named_one() -> None:
    assert isinstance(open_store("memory://"), MemoryEventStore)
    assert open_store("memory://") is not open_store("memory://")
    name = f"memory://desk-{uuid.uuid4().hex}"
    first = open_store(name)
    first.append("case-y", [NewEvent("Noted", {})])
    assert open_store(name) is first
    assert open_store(name).stream_version("case-y") == 0
    assert open_store(f"memory://other-{uuid.uuid4().hex}").last_position() == 0
