"""The event store in this process's memory: for tests and throw-away runs, never production
(nothing survives the process).

It decides appends with the SQL store's own rules (`infra.eventstore.deciding`): expected
versions, idempotency by event id across all streams, revisions that continue after a soft
delete, positions 1, 2, 3… without gaps, and the hash chain. Events are kept as the SQL store
keeps its rows (data and metadata as canonical JSON text, the recorded time as ISO text) and
parsed again on every read, so what comes back is what the SQL store gives back: keys sorted,
tuples turned into lists, and a caller changing a dict after the append (or after a read)
changes nothing stored.

One lock guards everything; appends are serialised by it, which gives the no-skipped-events
rule for free (a position is visible as soon as it is numbered). `wait_for_events` sleeps on a
condition of that lock that every append notifies.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    StreamState,
)
from contracts.eventstore import EventStore
from infra.eventstore.deciding import PendingAppend, StreamRow, decide
from infra.ops.hashchain import StoredLink

__all__ = ["MemoryEventStore"]


@dataclass(frozen=True)
class _Row:
    """One stored event, as the SQL store's `es_events` row holds it (ids parsed once: they are
    immutable, unlike the data and metadata, which are parsed on each read)."""

    position: int
    id: uuid.UUID
    stream: str
    revision: int
    type: str
    version: int
    data: str
    metadata: str
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    recorded_at: datetime
    hash: str | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> _Row:
        """From a row `decide` built for `es_events`."""
        causation = row["causation_id"]
        return cls(
            position=row["position"],
            id=uuid.UUID(row["event_id"]),
            stream=row["stream"],
            revision=row["revision"],
            type=row["type"],
            version=row["version"],
            data=row["data"],
            metadata=row["metadata"],
            correlation_id=uuid.UUID(row["correlation_id"]),
            causation_id=uuid.UUID(causation) if causation else None,
            recorded_at=datetime.fromisoformat(row["recorded_at"]),
            hash=row["hash"],
        )

    def recorded(self) -> RecordedEvent:
        """The event as readers get it, with its own fresh data and metadata."""
        return RecordedEvent(
            id=self.id,
            type=self.type,
            version=self.version,
            stream=self.stream,
            revision=self.revision,
            position=self.position,
            data=json.loads(self.data),
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            recorded_at=self.recorded_at,
            metadata=json.loads(self.metadata),
        )

    def link(self) -> StoredLink:
        """The event as the hash chain sees it, with the hash stored at its append."""
        return StoredLink.of(self.recorded(), self.hash)


class MemoryEventStore(EventStore):
    """`EventStore` held in this process's memory; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)
        self._events: list[_Row] = []
        """`$all`: the event at position p is `_events[p - 1]`."""
        self._streams: dict[str, StreamRow] = {}
        """Each stream's row, as `es_streams` holds it (version, deleted, truncation, head hash)."""
        self._revisions: dict[str, list[int]] = {}
        """Each stream's positions by revision (revisions run from 0 without gaps, also across
        a soft delete, so a revision is an index)."""
        self._ids: dict[str, tuple[str, int, int]] = {}
        """Every event id ever stored → (stream, revision, position), kept after deletes (the SQL
        store's unique index keeps them too, so an id is never written twice)."""
        self._by_type: dict[str, list[int]] = {}
        """Each event type's positions, ascending."""

    # -- writing -------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = StreamState.ANY,
    ) -> AppendResult:
        pending = PendingAppend.of(stream, events, expected_version)
        ids = [str(event.id) for event in pending.events]
        now = datetime.now(UTC).isoformat()
        with self._appended:
            # `decide` is given copies (the ids it must know, the stream's row) and changes
            # them only for an append it accepts: a refused one leaves the store untouched.
            known = {event_id: self._ids[event_id] for event_id in ids if event_id in self._ids}
            state = self._streams.get(stream)
            draft = (
                StreamRow(version=None, deleted=False, truncate_before=0)
                if state is None
                else dataclasses.replace(state, changed=False)
            )
            rows, _ = decide([pending], known, {stream: draft}, len(self._events) + 1, now)
            if pending.error is None and rows:
                self._store([_Row.of(row) for row in rows], draft)
                self._appended.notify_all()
        return pending.outcome()

    def _store(self, rows: list[_Row], state: StreamRow) -> None:
        """Keep the rows of one accepted append and the stream's new row (lock held)."""
        revisions = self._revisions.setdefault(rows[0].stream, [])
        for row in rows:
            assert row.position == len(self._events) + 1 and row.revision == len(revisions)
            self._events.append(row)
            revisions.append(row.position)
            self._ids[str(row.id)] = (row.stream, row.revision, row.position)
            self._by_type.setdefault(row.type, []).append(row.position)
        self._streams[rows[0].stream] = state

    def delete_stream(self, stream: str) -> None:
        with self._lock:
            state = self._streams.get(stream)
            if state is None or state.deleted:
                raise StreamNotFound(stream)
            assert state.version is not None
            state.deleted, state.truncate_before = True, state.version + 1

    def truncate_stream(self, stream: str, before_revision: int) -> None:
        with self._lock:
            state = self._streams.get(stream)
            if state is None or state.deleted:
                raise StreamNotFound(stream)
            state.truncate_before = before_revision

    # -- reading -------------------------------------------------------------------------

    def read_stream(
        self,
        stream: str,
        from_revision: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        with self._lock:
            state = self._streams.get(stream)
            if state is None or state.deleted:
                raise StreamNotFound(stream)
            positions = self._revisions[stream]
            lowest = max(state.truncate_before, 0)
            last = len(positions) - 1
            if backwards:
                highest = last if from_revision is None else min(from_revision, last)
                revisions = range(highest, lowest - 1, -1)
            else:
                revisions = range(max(from_revision or 0, lowest), last + 1)
            if limit is not None:
                revisions = revisions[: max(limit, 0)]
            rows = [self._events[positions[revision] - 1] for revision in revisions]
        return [row.recorded() for row in rows]

    def read_streams(self, streams: Iterable[str]) -> dict[str, list[RecordedEvent]]:
        """All the streams under one hold of the lock: one snapshot, as the SQL store's one query."""
        found: dict[str, list[_Row]] = {}
        with self._lock:
            for stream in streams:
                state = self._streams.get(stream)
                if state is None or state.deleted:
                    found[stream] = []
                    continue
                positions = self._revisions[stream]
                lowest = max(state.truncate_before, 0)
                found[stream] = [self._events[positions[r] - 1] for r in range(lowest, len(positions))]
        return {stream: [row.recorded() for row in rows] for stream, rows in found.items()}

    def read_all(
        self, after: int = 0, *, types: Iterable[str] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        with self._lock:
            rows = self._rows_after(after, None if types is None else frozenset(types), limit)
        return [row.recorded() for row in rows]

    def read_links(self, after: int = 0, *, limit: int = 1000) -> list[StoredLink]:
        """Events of `$all` after `after` with the hash stored at their append, for checking the
        chain (`infra.ops.hashchain.check_in_order`), as `EsdbEventStore.read_links` gives them."""
        with self._lock:
            rows = self._rows_after(after, None, limit)
        return [row.link() for row in rows]

    def stream_head(self, stream: str) -> str | None:
        """The stream's last hash as kept beside it (`es_streams.last_hash`); None when the
        stream does not exist (deleted streams keep theirs, as in the SQL store)."""
        with self._lock:
            state = self._streams.get(stream)
            return None if state is None else state.last_hash

    def _rows_after(self, after: int, types: frozenset[str] | None, limit: int) -> list[_Row]:
        """Up to `limit` rows past position `after`, of `types` when given (lock held)."""
        start = max(after, 0)
        if limit <= 0:
            return []
        if types is None:
            return self._events[start : start + limit]
        positions: list[int] = []
        for name in types:
            of_type = self._by_type.get(name, [])
            first = bisect.bisect_right(of_type, start)
            positions.extend(of_type[first : first + limit])
        positions.sort()
        return [self._events[position - 1] for position in positions[:limit]]

    def find_event(self, event_id: uuid.UUID, *, types: Iterable[str] | None = None) -> RecordedEvent | None:
        """A look-up in the index of event ids, then the stream's row decides if it is shown."""
        wanted = None if types is None else frozenset(types)
        with self._lock:
            place = self._ids.get(str(event_id))
            if place is None:
                return None
            stream, revision, position = place
            state = self._streams[stream]
            if state.deleted or revision < state.truncate_before:
                return None
            row = self._events[position - 1]
        if wanted is not None and row.type not in wanted:
            return None
        return row.recorded()

    def last_position(self) -> int:
        with self._lock:
            return len(self._events)

    def stream_version(self, stream: str) -> int | None:
        with self._lock:
            state = self._streams.get(stream)
            return None if state is None or state.deleted else state.version

    # -- waiting for new events ----------------------------------------------------------

    def wait_for_events(self, after: int, timeout: float, types: Iterable[str] | None = None) -> bool:
        """Sleep until an append past `after` holds an event of `types` (any event when None);
        woken by the append itself, never by a poll."""
        wanted = None if types is None else frozenset(types)
        deadline = time.monotonic() + timeout
        with self._appended:
            while not self._holds_after(after, wanted):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._appended.wait(remaining)
            return True

    def _holds_after(self, after: int, types: frozenset[str] | None) -> bool:
        if types is None:
            return len(self._events) > after
        return any(self._by_type.get(name, [0])[-1] > after for name in types)

    def close(self) -> None:
        """Nothing to release: the events stay for whoever else holds this store."""
