"""What a replay's reading relies on: rows read as the events the constructors make, decoding with
or without upcasting, the largest builds started first and builds shared out evenly."""

from __future__ import annotations

import dataclasses
import json
import pickle
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from contracts.envelope import NewEvent, RecordedEvent
from contracts.events import Event, EventRegistry
from infra.eventstore.memory import MemoryEventStore
from infra.eventstore.sql import SqlEventStore, _to_recorded
from infra.ops.replay import ReplayJob, largest_first, share_out
from infra.projections import Context, Projection, _context


def _row(event_id: uuid.UUID, correlation: uuid.UUID, metadata: str) -> tuple[Any, ...]:
    at = datetime(2026, 3, 21, 8, 30, 0, 123456, tzinfo=UTC).isoformat()
    return (7, str(event_id), "s-1", 0, "Opened", 1, '{"a":1}', metadata, str(correlation), None, at)


def test_an_event_that_starts_its_conversation_reads_with_its_own_id_as_correlation() -> None:
    event_id = uuid.uuid4()
    first, second = _to_recorded(_row(event_id, event_id, "{}")), _to_recorded(_row(event_id, event_id, "{}"))
    assert first.correlation_id == first.id == event_id
    assert first.metadata == {} and first.metadata is not second.metadata  # each its own dict
    assert first.recorded_at == datetime(2026, 3, 21, 8, 30, 0, 123456, tzinfo=UTC)
    other = uuid.uuid4()
    followed = _to_recorded(_row(event_id, other, '{"actor":"clerk:1"}'))
    assert followed.correlation_id == other != followed.id and followed.metadata == {"actor": "clerk:1"}


@pytest.mark.parametrize(
    "at",
    [
        "2026-03-21T08:30:00.123456+00:00",  # what PostgreSQL's append and `isoformat()` write
        "2026-03-21T08:30:00.000000+00:00",  # PostgreSQL's text of a zero fraction: isoformat drops it
        "2026-03-21T08:30:00+00:00",  # isoformat's own of a zero fraction
        "2026-03-21 08:30:00.123456+00:00",  # read though not written: a blank between date and time
        "2026-03-21T12:00:00.123456+03:30",
    ],
)
def test_every_projection_reads_an_events_time_as_isoformat_gives_it_whatever_text_was_stored(
    at: str,
) -> None:
    event_id = uuid.uuid4()
    row = (*_row(event_id, event_id, "{}")[:-1], at)
    recorded = _to_recorded(row)
    made = datetime.fromisoformat(at).isoformat()
    store = MemoryEventStore()
    contexts = [_context(store, recorded, False) for _ in range(2)]  # two projections of one event
    assert [context.at for context in contexts] == [made, made]
    built = _recorded(1, {})  # by a store that keeps no text: made from the time
    assert Context(store, built).at == _context(store, built, False).at == built.recorded_at.isoformat()


def _recorded(version: int, data: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        id=uuid.uuid4(),
        type="Noted",
        version=version,
        stream="s",
        revision=0,
        position=1,
        data=data,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        recorded_at=datetime.now(UTC),
    )


def test_decoding_validates_the_current_version_and_upcasts_older_ones() -> None:
    events = EventRegistry()

    @events.event("Noted", version=2)
    class Noted(Event):
        text: str
        count: int

    @events.upcaster("Noted", 1)
    def _v1(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "count": 0}

    assert events.decode(_recorded(2, {"text": "a", "count": "3"})) == Noted(text="a", count=3)
    assert events.decode(_recorded(1, {"text": "b"})) == Noted(text="b", count=0)
    try:
        events.decode(_recorded(2, {"text": "c"}))
    except ValueError as error:  # pydantic's ValidationError, as `model_validate` raises it
        assert "count" in str(error)
    else:
        raise AssertionError("an event missing a field decoded")


def _stored(type_: str, version: int, data: str) -> RecordedEvent:
    """An event as the SQL store reads it: its data left as the stored JSON text."""
    event_id = uuid.uuid4()
    at = datetime(2026, 3, 21, 8, 30, 0, 123456, tzinfo=UTC).isoformat()
    return _to_recorded((7, str(event_id), "s-1", 0, type_, version, data, "{}", str(event_id), None, at))


def test_a_stored_events_data_is_its_text_until_asked_and_then_as_parsed() -> None:
    text = '{"text":"سلام\\t\\u0000","count":3,"items":[{"name":"a"}],"none":null}'
    stored = _stored("Noted", 2, text)
    assert "data" not in vars(stored)
    again = pickle.loads(pickle.dumps(stored))  # as a replay's worker process receives one
    parsed = json.loads(text)
    assert stored.data == parsed and stored.data is stored.data  # parsed once, then kept
    built = dataclasses.replace(stored, data=parsed)
    assert built == stored == again and again.data == parsed
    assert dataclasses.asdict(again)["data"] == parsed


def test_decoding_a_stored_event_validates_its_text_as_its_parsed_data_would_be() -> None:
    events = EventRegistry()

    class Item(BaseModel):
        name: str

    @events.event("Noted", version=2)
    class Noted(Event):
        text: str
        count: int
        ratio: float = 0.0
        items: tuple[Item, ...] = ()
        when: str | None = None

    @events.upcaster("Noted", 1)
    def _v1(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "count": 0}

    texts = [
        '{"text":"a","count":3}',
        '{"text":"متن\\n\\u0000","count":"4","ratio":1,"items":[{"name":"x"},{"name":"y"}],"when":null}',
        '{"text":"\\ud800 a lone surrogate","count":5}',  # JSON's text allows it, Python's str too
        '{"text":"endless","count":6,"ratio":-Infinity}',  # json.dumps writes it; JSON has no such number
        '{"text":"big","count":123456789012345678901234567890}',
    ]
    for text in texts:
        assert events.decode(_stored("Noted", 2, text)) == Noted.model_validate(json.loads(text)), text
    assert events.decode(_stored("Noted", 1, '{"text":"old"}')) == Noted(text="old", count=0)
    with pytest.raises(ValueError, match="count"):  # refused as the parsed data is
        events.decode(_stored("Noted", 2, '{"text":"no count"}'))
    with pytest.raises(ValueError):  # text no JSON reader takes
        events.decode(_stored("Noted", 2, '{"text":'))


class _Reads(Projection):
    metadata = sa.MetaData()
    handles: ClassVar[tuple[type[Event], ...]] = ()
    types: ClassVar[list[str]] = []

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        raise NotImplementedError

    @classmethod
    def type_names(cls) -> list[str]:
        return cls.types


def test_a_replay_starts_the_projections_with_the_most_stored_events_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    store = SqlEventStore(url)
    try:
        for index, (kind, count) in enumerate([("Small", 2), ("Large", 9), ("Middle", 5)]):
            store.append(f"s-{index}", [NewEvent(type=kind, data={"n": n}) for n in range(count)])
        assert store.type_counts() == {"Small": 2, "Large": 9, "Middle": 5}
    finally:
        store.close()
    reads = {"a.none": [], "a.small": ["Small"], "a.large": ["Large"], "a.both": ["Small", "Middle"]}

    def find(name: str) -> Projection:
        projection: Projection = type("Reading", (_Reads,), {"name": name, "types": reads[name]})()
        return projection

    jobs = [ReplayJob("a", name, url, url) for name in reads]
    assert [job.projection for job in largest_first(jobs, find)] == ["a.large", "a.both", "a.small", "a.none"]
    assert json.dumps([j.projection for j in jobs]) == json.dumps(list(reads))  # the input is left as it was
    # Work: events × (reading 2 + applying 1): large 27, both 21, small 6. Small's events, which
    # the group of both reads already, cost only their applying there (21 + 2 < 27 + 6).
    assert [[job.projection for job in group] for group in share_out(jobs, find, 2)] == [
        ["a.large"],
        ["a.both", "a.small", "a.none"],
    ]
    assert [[job.projection for job in group] for group in share_out(jobs, find, 1)] == [
        ["a.large", "a.both", "a.small", "a.none"]
    ]
    assert len(share_out(jobs, find, 8)) == 4  # never more groups than jobs

    def costly(name: str) -> Projection:  # a small build that writes much weighs more
        projection = find(name)
        if name == "a.small":
            projection.rebuild_cost = 20.0  # 2 events × (2 + 20)
        return projection

    assert [job.projection for job in largest_first(jobs, costly)][:2] == ["a.small", "a.large"]
    fresh = [ReplayJob("a", "a.none", url, url, fresh=True), *jobs[1:]]
    assert ["a.none"] in [[job.projection for job in group] for group in share_out(fresh, find, 1)]
