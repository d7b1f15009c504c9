"""Export and import: JSON lines that keep ids, order, revisions, metadata and times."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

from contracts.envelope import NewEvent, StreamState
from contracts.eventstore import EventStore
from infra import cli
from infra.eventstore.sql import SqlEventStore
from infra.ops import integrity, transfer


def fill(store: EventStore) -> None:
    """A few streams, interleaved, with causation, metadata, a truncation and a deletion."""
    first = NewEvent("Noted", {"n": 0, "text": "سلام"}, metadata={"actor": "clerk:1", "reason": "آزمون"})
    store.append("request-a", [first], StreamState.NO_STREAM)
    store.append(
        "sms-x", [NewEvent("Queued", {"to": "09123456789"}, causation_id=first.id, correlation_id=first.id)]
    )
    store.append("request-a", [NewEvent("Noted", {"n": 1}), NewEvent("Noted", {"n": 2})], 0)
    store.append("request-b", [NewEvent("Noted", {"n": 3, "nested": {"list": [1, 2.5, None]}}, version=2)])
    store.append("gone", [NewEvent("Noted", {"n": 4})])
    store.truncate_stream("request-a", 1)
    store.delete_stream("gone")


def snapshot(store: EventStore) -> list[tuple[object, ...]]:
    """Everything an import must keep, per event, in `$all` order."""
    return [
        (
            e.id,
            e.stream,
            e.revision,
            e.type,
            e.version,
            e.data,
            e.metadata,
            e.correlation_id,
            e.causation_id,
            e.recorded_at,
        )
        for e in store.read_all(limit=10_000)
    ]


def test_a_round_trip_keeps_everything(tmp_path: Path) -> None:
    source = SqlEventStore(f"sqlite:///{tmp_path / 'a.db'}")
    target = SqlEventStore(f"sqlite:///{tmp_path / 'b.db'}")
    fill(source)
    out = io.StringIO()
    assert transfer.export(source, out) == 6
    result = transfer.import_events(target, out.getvalue().splitlines())
    assert (result.written, result.skipped) == (6, 0)
    assert snapshot(target) == snapshot(source)
    assert [e.position for e in target.read_all()] == [e.position for e in source.read_all()]
    assert [e.revision for e in target.read_stream("request-a")] == [1, 2]  # the truncation came along
    assert target.stream_version("gone") is None  # and the deletion
    assert integrity.check(target).findings == []

    again = transfer.import_events(target, out.getvalue().splitlines())  # an interrupted run re-run
    assert (again.written, again.skipped) == (0, 6)
    source.close()
    target.close()


def test_an_altered_export_is_refused(tmp_path: Path) -> None:
    source = SqlEventStore(f"sqlite:///{tmp_path / 'a.db'}")
    target = SqlEventStore(f"sqlite:///{tmp_path / 'b.db'}")
    fill(source)
    out = io.StringIO()
    transfer.export(source, out)
    lines = out.getvalue().splitlines()
    line = json.loads(lines[2])
    line["data"]["n"] = 99
    lines[2] = json.dumps(line)
    with pytest.raises(transfer.ImportRefused, match=f"line 3: event {line['event_id']}"):
        transfer.import_events(target, lines)
    source.close()
    target.close()


def test_the_command_exports_one_stream_and_imports_into_another_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source_url, target_url = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    source = SqlEventStore(source_url)
    fill(source)
    monkeypatch.setenv("EVENTSTORE_URL", source_url)
    cli.main(["export", "--stream", "request-b", "-o", str(tmp_path / "b.jsonl")])
    lines = (tmp_path / "b.jsonl").read_text().splitlines()
    assert [json.loads(x)["kind"] for x in lines] == ["event", "stream", "end"]
    cli.main(["import", str(tmp_path / "b.jsonl"), "--to", target_url])
    assert "imported 1 events" in capsys.readouterr().out
    target = SqlEventStore(target_url)
    (event,) = target.read_stream("request-b")
    assert (event.id, event.version, event.data["nested"]) == (
        source.read_stream("request-b")[0].id,
        2,
        {"list": [1, 2.5, None]},
    )
    assert isinstance(event.id, uuid.UUID)
    source.close()
    target.close()
