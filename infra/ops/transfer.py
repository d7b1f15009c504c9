"""`export` and `import`: streams or the whole `$all` as JSON lines, and back into any store.

Each line is one event: `{"kind": "event", "position", "event_id", "stream", "revision", "type",
"version", "data", "metadata", "correlation_id", "causation_id", "recorded_at", "hash", "chain"}`
in `$all` order. After the events, a SQL source adds one `{"kind": "stream", …}` line per stream
with its soft-delete and truncation state, one `{"kind": "head", …}` line per signed head (a
whole export), and last one `{"kind": "end", "events", "complete", "last_position", "chain"}`
line, without which the file is taken as cut short.

Evidence travels as it is stored: `hash` (the stream chain's link, `infra.ops.hashchain`) and
`chain` (the store-wide link) are the stored values, never recomputed from what the rows say
now. Export checks the store first (`integrity.check`) and refuses a history whose chains fail,
naming the first change; with `allow_broken` it exports it and marks each event found bad with
`"broken": problem`. So an event changed in the database cannot come out of an export clean.

Import reads and checks the whole file before it writes anything: every event's hash from its
content and its stream predecessor's (none may be missing), the store-wide links and positions
of a whole export, the signed heads against the links, the end line; a marked event is refused
unless `allow_broken`. Into SQLite/PostgreSQL it then writes everything in one transaction under
the store's append lock, keeping ids, order, stream revisions, metadata, recorded times and
hashes; into an empty store the positions and links are the same too (into a store that holds
events, positions follow its own and links are computed from its end). Into EventStoreDB it
appends each stream's events with their exact expected revision, stream by stream (the server
has no transaction over streams: an interrupted import is re-run, and events whose id the
target holds are skipped).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import IO, Any

import sqlalchemy as sa

from contracts.envelope import NewEvent, RecordedEvent, StreamState
from contracts.eventstore import EventStore
from infra.eventstore.schema import ANY_TYPE_CHANNEL, events_table, heads_table, streams_table
from infra.eventstore.sql import APPEND_LOCK_KEY, NOTIFY_CHANNEL, SqlEventStore
from infra.ops import heads as signed
from infra.ops import integrity
from infra.ops.hashchain import GENESIS, StoredLink, canonical, event_hash, ledger_link, link_rows


class ExportRefused(Exception):
    """The store's history does not verify: it is not exported as if it did."""


class ImportRefused(Exception):
    """The file is not a faithful export (a line altered, a hash missing, cut short, …)."""


@dataclass
class ImportResult:
    """How many events an import wrote and skipped (already in the target)."""

    written: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


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


def export(
    store: EventStore, out: IO[str], streams: Iterable[str] | None = None, *, allow_broken: bool = False
) -> int:
    """Write the events (of `streams`, or all) as JSON lines; return how many. See the module
    docstring; raises `ExportRefused` for a history whose chains fail, unless `allow_broken`."""
    chosen = set(streams) if streams else None
    if isinstance(store, SqlEventStore):
        return _export_sql(store, out, chosen, allow_broken)
    heads: dict[str, str] = {}
    count, last = 0, 0
    for event in _all_events(store, chosen):
        # EventStoreDB keeps its links in metadata that nobody can rewrite in place; the
        # in-memory store is a test double. Both are linked here as they read.
        heads[event.stream] = StoredLink.of(event).expected(heads.get(event.stream, GENESIS))
        out.write(canonical(_event_line(event, heads[event.stream], None)) + "\n")
        count, last = count + 1, event.position
    out.write(canonical(_end(count, complete=False, last_position=last, chain=None)) + "\n")
    return count


def _event_line(event: RecordedEvent, hash_: str | None, chain: str | None) -> dict[str, Any]:
    return {
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
        "hash": hash_,
        "chain": chain,
    }


def _end(count: int, *, complete: bool, last_position: int, chain: str | None) -> dict[str, Any]:
    return {
        "kind": "end",
        "events": count,
        "complete": complete,
        "last_position": last_position,
        "chain": chain,
    }


_EXPORT_ROWS = sa.text(
    "SELECT position, event_id, stream, revision, type, version, data, metadata, correlation_id,"
    " causation_id, recorded_at, hash, chain FROM es_events ORDER BY position"
)


def _export_sql(store: SqlEventStore, out: IO[str], chosen: set[str] | None, allow_broken: bool) -> int:
    report = integrity.check(store)
    broken = report.broken
    if broken and not allow_broken:
        first = broken[0]
        raise ExportRefused(
            f"the history does not verify ({len(broken)} findings, the first: {first.describe()}); "
            "`pishkhan integrity` says more, `--allow-broken` exports it with each bad event marked"
        )
    marks = {f.position: f.problem for f in broken if f.position and f.event_id}
    count, last_position, last_chain = 0, 0, None
    with store.read_engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=integrity.PAGE).execute(_EXPORT_ROWS)
        for row in rows:
            last_position, last_chain = int(row.position), row.chain
            if chosen is not None and row.stream not in chosen:
                continue
            line = {
                "kind": "event",
                "position": int(row.position),
                "event_id": row.event_id,
                "stream": row.stream,
                "revision": int(row.revision),
                "type": row.type,
                "version": int(row.version),
                "data": json.loads(row.data),
                "metadata": json.loads(row.metadata),
                "correlation_id": row.correlation_id,
                "causation_id": row.causation_id,
                "recorded_at": datetime.fromisoformat(row.recorded_at).isoformat(),
                "hash": row.hash,
                "chain": row.chain,
            }
            if int(row.position) in marks:
                line["broken"] = marks[int(row.position)]
            out.write(canonical(line) + "\n")
            count += 1
        query = sa.select(streams_table).order_by(streams_table.c.stream)
        if chosen is not None:
            query = query.where(streams_table.c.stream.in_(sorted(chosen)))
        for row in conn.execute(query):
            state = {
                "kind": "stream",
                "stream": row.stream,
                "version": int(row.version),
                "deleted": bool(row.deleted),
                "truncate_before": int(row.truncate_before),
            }
            out.write(canonical(state) + "\n")
    if chosen is None:
        for head in signed.stored(store.read_engine):
            out.write(canonical({"kind": "head"} | asdict(head)) + "\n")
    end = _end(count, complete=chosen is None, last_position=last_position, chain=last_chain)
    out.write(canonical(end) + "\n")
    return count


@dataclass
class _File:
    """An export read and checked whole: its events, stream states and heads."""

    events: list[dict[str, Any]] = field(default_factory=list)
    streams: list[dict[str, Any]] = field(default_factory=list)
    heads: list[signed.Head] = field(default_factory=list)
    end: dict[str, Any] | None = None


def _read_file(lines: Iterable[str], allow_broken: bool) -> _File:
    """Every line parsed and every event checked; `ImportRefused` names the first bad line."""
    read = _File()
    stream_heads: dict[str, str] = {}
    new_format = False
    numbered: list[tuple[int, int]] = []  # (line number, position) of each event
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        if read.end is not None:
            raise ImportRefused(f"line {number}: lines after the end line")
        try:
            line = json.loads(text)
            kind = line["kind"]
        except (ValueError, KeyError, TypeError):
            raise ImportRefused(f"line {number}: not a line of an export") from None
        if kind == "stream":
            read.streams.append(line)
        elif kind == "head":
            try:
                read.heads.append(signed.Head.from_line(text))
            except ValueError:
                raise ImportRefused(f"line {number}: a head line that is not one") from None
        elif kind == "end":
            read.end = line
        elif kind == "event":
            new_format = new_format or "chain" in line
            _check_event(number, line, stream_heads, allow_broken)
            read.events.append(line)
            numbered.append((number, int(line["position"])))
        else:
            raise ImportRefused(f"line {number}: unknown kind {kind!r}")
    if new_format:
        _check_whole(read, numbered)
    return read


def _check_event(number: int, line: dict[str, Any], stream_heads: dict[str, str], allow_broken: bool) -> None:
    where = f"line {number}: event {line.get('event_id')} (position {line.get('position')})"
    if line.get("broken") and not allow_broken:
        raise ImportRefused(f"{where} was exported marked {line['broken']!r}; `--allow-broken` imports it")
    try:
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
            previous=stream_heads.get(line["stream"], GENESIS),
        )
    except KeyError as missing:
        raise ImportRefused(f"{where} has no {missing}") from None
    if not isinstance(line.get("hash"), str):
        raise ImportRefused(f"{where} carries no hash")
    if line["hash"] != expected and not (allow_broken and line.get("broken")):
        raise ImportRefused(f"{where} does not match its hash")
    stream_heads[line["stream"]] = line["hash"]


def _check_whole(read: _File, numbered: list[tuple[int, int]]) -> None:
    """A file of this version: its end line says how many events and whether it is whole; a
    whole export's positions and store-wide links follow each other from 1, and extend its
    heads."""
    end = read.end
    if end is None:
        raise ImportRefused("the file has no end line: it was cut short")
    if end.get("events") != len(read.events):
        raise ImportRefused(
            f"the end line says {end.get('events')} events, the file holds {len(read.events)}"
        )
    if not end.get("complete"):
        return
    previous: str | None = None
    links: dict[int, str | None] = {}
    for (number, position), line in zip(numbered, read.events, strict=True):
        if position != len(links) + 1:
            raise ImportRefused(
                f"line {number}: position {position} follows {len(links)}: events are missing"
            )
        link = ledger_link(previous, position, line["hash"])
        if line.get("chain") is not None and line["chain"] != link and not line.get("broken"):
            raise ImportRefused(f"line {number}: the store-wide chain breaks at position {position}")
        previous = links[position] = link if line.get("chain") is not None else None
    if end.get("last_position") != len(links) or end.get("chain") != previous:
        raise ImportRefused("the end line does not match the last event: the file was changed")
    for _, _, problem in signed.check_heads(read.heads, links, len(links), None):
        raise ImportRefused(f"the file does not extend its signed heads: {problem}")


def import_events(target: EventStore, lines: Iterable[str], *, allow_broken: bool = False) -> ImportResult:
    """Check the whole file, then write it into `target`; see the module docstring."""
    read = _read_file(lines, allow_broken)
    result = ImportResult()
    if read.end is None:
        result.notes.append("a file written before exports had an end line: its streams' chains were checked")
    if isinstance(target, SqlEventStore):
        _write_rows(target, read, result)
        return result
    group: list[dict[str, Any]] = []
    for line in [*read.events, None]:
        if group and (line is None or line["stream"] != group[0]["stream"]):
            _append_group(target, group, result)
            group = []
        if line is not None:
            group.append(line)
    return result


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


def _write_rows(target: SqlEventStore, read: _File, result: ImportResult) -> None:
    """Everything in one transaction under the append lock: all of the file, or nothing."""
    with target.engine.begin() as conn:
        if not target.sqlite:
            conn.execute(
                sa.select(
                    sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY),
                    sa.func.pg_notify(NOTIFY_CHANNEL, ""),
                    sa.func.pg_notify(ANY_TYPE_CHANNEL, ""),
                )
            )
        known: set[str] = set()
        ids = [line["event_id"] for line in read.events]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            known.update(
                conn.execute(
                    sa.select(events_table.c.event_id).where(events_table.c.event_id.in_(chunk))
                ).scalars()
            )
        fresh = [line for line in read.events if line["event_id"] not in known]
        result.skipped += len(read.events) - len(fresh)
        if fresh:
            last = int(
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(events_table.c.position), 0))
                ).scalar_one()
            )
            rows = [_row(last + offset, line) for offset, line in enumerate(fresh, start=1)]
            before = conn.execute(
                sa.select(events_table.c.chain).where(events_table.c.position == last)
            ).scalar()
            link_rows(rows, before)
            for start in range(0, len(rows), 1000):
                conn.execute(events_table.insert(), rows[start : start + 1000])
            _write_stream_heads(conn, rows)
            result.written += len(rows)
            if last == 0 and read.end is not None and read.end.get("complete"):
                # The same positions and links as the source: its signed heads hold here too.
                for head in read.heads:
                    conn.execute(heads_table.insert().values(**asdict(head)))
        for state in read.streams:
            conn.execute(
                streams_table.update()
                .where(streams_table.c.stream == state["stream"])
                .values(deleted=state["deleted"], truncate_before=state["truncate_before"])
            )


def _row(position: int, line: dict[str, Any]) -> dict[str, Any]:
    return {
        "position": position,
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


def _write_stream_heads(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
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
