"""The SQL store's reading of stored JSON: the fast path for what it wrote, `json.loads` for the rest."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime

import pytest

from contracts.envelope import RecordedEvent
from infra.eventstore.sql import _json, _to_recorded


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"subject": "درخواست مجوز", "n": [1, 2.5, None, True]}),
        json.dumps({"subject": "درخواست"}, ensure_ascii=False),
        '  {"written": "by hand", "with": "blanks"}\n',  # an imported or hand-fixed row
        "{}",
    ],
)
def test_stored_json_reads_as_json_loads_reads_it(text: str) -> None:
    assert _json(text) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": 1} trailing', '{"a": ', "", "nonsense"])
def test_what_is_not_json_is_refused_as_json_loads_refuses_it(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        _json(text)


def test_a_stored_row_reads_as_the_event_the_constructors_make() -> None:
    """`_to_recorded` builds the frozen `RecordedEvent` and its UUIDs without their constructors;
    what it builds must be equal, hash alike and behave like the constructors' result."""
    event_id, correlation, causation = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 3, 21, 8, 30, tzinfo=UTC)
    data, metadata = {"request_id": "r-1", "subject": "درخواست"}, {"actor": "citizen:1"}
    row = (42, str(event_id), "request-r-1", 3, "RequestSubmitted", 2, json.dumps(data))
    row += (json.dumps(metadata), str(correlation), str(causation), at.isoformat())
    expected = RecordedEvent(
        id=event_id,
        type="RequestSubmitted",
        version=2,
        stream="request-r-1",
        revision=3,
        position=42,
        data=data,
        correlation_id=correlation,
        causation_id=causation,
        recorded_at=at,
        metadata=metadata,
    )
    recorded = _to_recorded(row)
    assert recorded == expected and hash(recorded.id) == hash(event_id)
    assert str(recorded.correlation_id) == str(correlation) and recorded.id.version == 4
    assert dataclasses.asdict(recorded) == dataclasses.asdict(expected)
    assert _to_recorded((*row[:9], None, row[10])).causation_id is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        recorded.position = 1  # type: ignore[misc]
