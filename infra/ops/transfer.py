"""`export` and `import`: streams or the whole `$all` as JSON lines, and back into any store.

Each line is one event: `{"kind": "event", "position", "event_id", "stream", "revision", "type",
"version", "data", "metadata", "correlation_id", "causation_id", "recorded_at", "hash"}` in `$all`
order. After the events, a SQL source adds one `{"kind": "stream", …}` line per stream with its
soft-delete and truncation state. `hash` is the event's hash-chain link (see
`infra.ops.hashchain`); import recomputes it and refuses a file whose events were altered.

Into SQLite/PostgreSQL, import writes rows directly under the store's append lock, keeping ids,
order, stream revisions, metadata and recorded times; into an empty store the positions are the
same too. Into EventStoreDB it appends each stream's events with their exact expected revision
(the server assigns positions and recorded times; the original time is the export's).
Events whose id the target already holds are skipped, so an interrupted import can be re-run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa

from contracts.envelope import NewEvent, RecordedEvent, StreamState
from contracts.eventstore import EventStore
from infra.eventstore.schema import ANY_TYPE_CHANNEL, events_table, streams_table
from infra.eventstore.sql import APPEND_LOCK_KEY, NOTIFY_CHANNEL, SqlEventStore
from infra.ops.hashchain import GENESIS, StoredLink, canonical, event_hash


def _all_events(store: EventStore, streams: set[str] | None, page: int = 1000) -> Iterator[RecordedEvent]:
    position = 0
    while True:
        events = store.read_all(position, limit=page)
        if not events:
            return
        for event in events:
            if streams is None or event.stream in streams:
                yield event
        position = events[-1].position


def _hash_of(event: RecordedEvent, previous: str | None) -> str:
    return StoredLink.of(event).expected(previous)


def export(store: EventStore, out: IO[str], streams: Iterable[str] | None = None) -> int:
    """Write the events (of `streams`, or all) as JSON lines; return how many."""
    chosen = set(streams) if streams else None
    heads: dict[str, str] = {}
    count = 0
    for event in _all_events(store, chosen):
        heads[event.stream] = _hash_of(event, heads.get(event.stream, GENESIS))
        line = {
            "kind": "event",
            "position": event.position,
            "event_id": str(event.id),
            "stream": event.stream,
            "revision": event.revision,
            "type": event.type,
            "version": event.version,
            "data": event.data,
            "metadata": event.metadata,
            "correlation_id": str(event.correlation_id),
            "causation_id": str(event.causation_id) if event.causation_id else None,
            "recorded_at": event.recorded_at.isoformat(),
            "hash": heads[event.stream],
        }
        out.write(canonical(line) + "\n")
        count += 1
    if isinstance(store, SqlEventStore):
        query = sa.select(streams_table).order_by(streams_table.c.stream)
        if chosen is not None:
            query = query.where(streams_table.c.stream.in_(sorted(chosen)))
        with store.read_engine.connect() as conn:
            for row in conn.execute(query):
                state = {
                    "kind": "stream",
                    "stream": row.stream,
                    "version": int(row.version),
                    "deleted": bool(row.deleted),
                    "truncate_before": int(row.truncate_before),
                }
                out.write(canonical(state) + "\n")
    return count


class ImportRefused(Exception):
    """The file is not a faithful export (a line altered, a stream out of order)."""


@dataclass
class ImportResult:
    """How many events an import wrote and skipped (already in the target)."""

    written: int = 0
    skipped: int = 0


def _read_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    heads: dict[str, str] = {}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        line = json.loads(text)
        if line.get("kind") != "event":
            yield line
            continue
        expected = event_hash(
            event_id=line["event_id"],
            stream=line["stream"],
            revision=line["revision"],
            type=line["type"],
            version=line["version"],
            data=line["data"],
            metadata=line["metadata"],
            correlation_id=line["correlation_id"],
            causation_id=line["causation_id"],
            previous=heads.get(line["stream"], GENESIS),
        )
        if line.get("hash") is not None and line["hash"] != expected:
            raise ImportRefused(f"line {number}: event {line['event_id']} does not match its hash")
        heads[line["stream"]] = expected
        line["hash"] = expected
        yield line


def import_events(target: EventStore, lines: Iterable[str], *, batch: int = 500) -> ImportResult:
    """Write an export into `target`; see the module docstring."""
    result = ImportResult()
    events: list[dict[str, Any]] = []
    streams: list[dict[str, Any]] = []
    for line in _read_lines(lines):
        (events if line["kind"] == "event" else streams).append(line)
        if len(events) >= batch:
            _write(target, events, result)
            events = []
    if events:
        _write(target, events, result)
    if streams and isinstance(target, SqlEventStore):
        _restore_stream_states(target, streams)
    return result


def _write(target: EventStore, lines: list[dict[str, Any]], result: ImportResult) -> None:
    if isinstance(target, SqlEventStore):
        _write_rows(target, lines, result)
        return
    group: list[dict[str, Any]] = []
    for line in [*lines, None]:
        if group and (line is None or line["stream"] != group[0]["stream"]):
            _append_group(target, group, result)
            group = []
        if line is not None:
            group.append(line)


def _append_group(target: EventStore, group: list[dict[str, Any]], result: ImportResult) -> None:
    first = group[0]["revision"]
    expected = StreamState.NO_STREAM if first == 0 else first - 1
    version = target.stream_version(group[0]["stream"])
    if version is not None and version >= group[-1]["revision"]:
        result.skipped += len(group)  # written by an earlier, interrupted run
        return
    target.append(
        group[0]["stream"],
        [
            NewEvent(
                type=line["type"],
                data=line["data"],
                version=line["version"],
                id=uuid.UUID(line["event_id"]),
                correlation_id=uuid.UUID(line["correlation_id"]),
                causation_id=uuid.UUID(line["causation_id"]) if line["causation_id"] else None,
                metadata=line["metadata"],
            )
            for line in group
        ],
        expected,
    )
    result.written += len(group)


def _write_rows(target: SqlEventStore, lines: list[dict[str, Any]], result: ImportResult) -> None:
    with target.engine.begin() as conn:
        if not target.sqlite:
            conn.execute(
                sa.select(
                    sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY),
                    sa.func.pg_notify(NOTIFY_CHANNEL, ""),
                    sa.func.pg_notify(ANY_TYPE_CHANNEL, ""),
                )
            )
        ids = [line["event_id"] for line in lines]
        known = set(
            conn.execute(sa.select(events_table.c.event_id).where(events_table.c.event_id.in_(ids))).scalars()
        )
        fresh = [line for line in lines if line["event_id"] not in known]
        result.skipped += len(lines) - len(fresh)
        if not fresh:
            return
        last = int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.max(events_table.c.position), 0))).scalar_one()
        )
        rows = [
            {
                "position": last + offset,
                "event_id": line["event_id"],
                "stream": line["stream"],
                "revision": line["revision"],
                "type": line["type"],
                "version": line["version"],
                "data": canonical(line["data"]),
                "metadata": canonical(line["metadata"]),
                "correlation_id": line["correlation_id"],
                "causation_id": line["causation_id"],
                "recorded_at": datetime.fromisoformat(line["recorded_at"]).isoformat(),
                "hash": line["hash"],
            }
            for offset, line in enumerate(fresh, start=1)
        ]
        conn.execute(events_table.insert(), rows)
        heads: dict[str, dict[str, Any]] = {}
        for row in rows:
            heads[row["stream"]] = row
        for stream, row in heads.items():
            updated = conn.execute(
                streams_table.update()
                .where(streams_table.c.stream == stream)
                .values(version=row["revision"], last_hash=row["hash"])
            )
            if updated.rowcount == 0:
                conn.execute(
                    streams_table.insert().values(
                        stream=stream,
                        version=row["revision"],
                        deleted=False,
                        truncate_before=0,
                        last_hash=row["hash"],
                    )
                )
        result.written += len(rows)


def _restore_stream_states(target: SqlEventStore, streams: list[dict[str, Any]]) -> None:
    with target.engine.begin() as conn:
        for state in streams:
            conn.execute(
                streams_table.update()
                .where(streams_table.c.stream == state["stream"])
                .values(deleted=state["deleted"], truncate_before=state["truncate_before"])
            )
