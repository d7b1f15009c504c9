"""The event store on SQLite or PostgreSQL, through SQLAlchemy Core.

No skipped events: every append takes one store-wide write lock (PostgreSQL: a transaction-level
advisory lock; SQLite: `BEGIN IMMEDIATE`) before it numbers its events, and holds it until commit.
So positions become visible in exactly the order they are numbered, and a subscriber reading
`position > checkpoint` can never miss an event that commits late with a lower number.
The lock serialises commits. To win back throughput, concurrent appends in one process are
grouped into one transaction (group commit): one waiting caller becomes the leader, takes every
queued append, checks them all with one query per kind, writes them with one multi-row insert
and wakes the others. An append refused for its expected version fails alone; its neighbours
are written.
"""

from __future__ import annotations

import json
import select
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from contracts.envelope import (
    AppendResult,
    DuplicateEventIds,
    EventStoreError,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    StreamState,
    WrongExpectedVersion,
)
from contracts.eventstore import EventStore
from infra.db import is_sqlite, make_engine
from infra.eventstore.pg_append import append_at_once
from infra.eventstore.schema import APPEND_LOCK_KEY, NOTIFY_CHANNEL, events_table, migrate, streams_table
from infra.ops.hashchain import event_hash

__all__ = ["APPEND_LOCK_KEY", "NOTIFY_CHANNEL", "SqlEventStore"]

DECIDE_AHEAD_ATTEMPTS = 3
"""PostgreSQL: how often a commit decides without the lock and finds its streams changed
before it takes the lock first instead (see `_commit_at_once`)."""


@dataclass
class _PendingAppend:
    stream: str
    events: Sequence[NewEvent]
    expected: ExpectedVersion
    result: AppendResult | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class _StreamState:
    version: int | None  # None: the stream has no row yet
    deleted: bool
    truncate_before: int
    last_hash: str | None = None  # the hash chain's head (None: no event hashed yet)
    changed: bool = False


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class SqlEventStore(EventStore):
    """`EventStore` over SQLAlchemy; the schema is created and migrated on first use."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.engine = make_engine(url, immediate=True, pool_size=pool_size)
        self.read_engine = make_engine(url, pool_size=pool_size) if self.sqlite else self.engine
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        migrate(self.engine)
        insert = sqlite_insert(streams_table) if self.sqlite else postgresql_insert(streams_table)
        self._upsert_streams = insert.on_conflict_do_update(
            index_elements=[streams_table.c.stream],
            set_={
                "version": insert.excluded.version,
                "deleted": insert.excluded.deleted,
                "truncate_before": insert.excluded.truncate_before,
                "last_hash": insert.excluded.last_hash,
            },
        )
        self._queue: list[_PendingAppend] = []
        self._batching = threading.Condition()
        self._leader_active = False
        self._appended = threading.Condition()
        self._generation = 0
        self._noticed: dict[str, int] = {}
        """Per event type, the last position of the newest commit heard of that may hold it."""
        self._noticed_any = 0
        """The same for commits whose notice did not name its types."""
        self._vague = 0
        """How many notices said nothing readable (each wakes every waiter)."""
        self._closed = threading.Event()
        # SQLite has no notifications between processes: poll briefly. PostgreSQL wakes
        # waiters through LISTEN/NOTIFY; its poll is only a safety net.
        self._poll_interval = 0.02 if self.sqlite else 0.5
        self._listener: threading.Thread | None = None
        self._listener_lock = threading.Lock()

    # -- writing -------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = StreamState.ANY,
    ) -> AppendResult:
        if not events:
            raise ValueError("append needs at least one event")
        pending = _PendingAppend(stream, list(events), expected_version)
        with self._batching:
            self._queue.append(pending)
            while not pending.done and self._leader_active:
                self._batching.wait()
            if not pending.done:  # lead: write everything queued so far, ours included
                self._leader_active = True
                batch, self._queue = self._queue, []
        if not pending.done:
            try:
                self._commit(batch)
            finally:
                with self._batching:
                    self._leader_active = False
                    self._batching.notify_all()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _commit(self, batch: list[_PendingAppend]) -> None:
        try:
            if self.sqlite or not self._commit_at_once(batch):
                self._commit_locked(batch)
        except BaseException as error:
            # The leader raises its own exception; the others learn only that nothing was written
            # (an interruption of the leader's green thread must not end theirs).
            shared = (
                error
                if isinstance(error, Exception)
                else EventStoreError(f"append interrupted before commit: {error!r}")
            )
            for pending in batch:
                if pending.error is None:
                    pending.error = shared
                pending.result = None
            if shared is not error:
                raise
        finally:
            for pending in batch:
                pending.done = True
            self._wake()

    def _commit_locked(self, batch: list[_PendingAppend]) -> None:
        """Take the lock, then read, decide and write in one transaction."""
        self._reset(batch)
        with self.engine.begin() as conn:
            self._lock(conn)
            next_position = self._numbering_start(conn, batch)
            known = self._known_ids(conn, [str(e.id) for p in batch for e in p.events])
            streams = self._stream_states(conn, {p.stream for p in batch})
            rows, _ = self._decide(batch, known, streams, next_position, datetime.now(UTC).isoformat())
            if rows:
                conn.execute(events_table.insert(), rows)
                self._save_streams(conn, streams)

    def _commit_at_once(self, batch: list[_PendingAppend]) -> bool:
        """PostgreSQL: read the streams and decide without the lock, then write with `es_append`,
        which takes the lock for one statement and writes only if nothing it was decided from
        changed (infra/eventstore/pg_append.py). False when the streams kept changing, or when
        one event id comes twice in the batch: then the caller decides under the lock."""
        ids = [str(e.id) for p in batch for e in p.events]
        if len(set(ids)) != len(ids):
            return False
        for _ in range(DECIDE_AHEAD_ATTEMPTS):
            self._reset(batch)
            with self._autocommit.connect() as conn:
                known = self._known_ids(conn, ids)
                streams = self._stream_states(conn, {p.stream for p in batch})
                read = {name: _as_read(name, state) for name, state in streams.items()}
                rows, written = self._decide(batch, known, streams, 0, "")
                if not rows:
                    return True
                changed = [name for name, state in streams.items() if state.changed]
                first = append_at_once(
                    conn, rows, [read[name] for name in changed], [_as_read(n, streams[n]) for n in changed]
                )
            if first is not None:
                for pending in written:
                    assert pending.result is not None  # numbered from 0 within this commit
                    relative = pending.result
                    pending.result = AppendResult(
                        relative.stream, relative.revision, first + relative.position
                    )
                return True
        return False

    @staticmethod
    def _reset(batch: list[_PendingAppend]) -> None:
        for pending in batch:
            pending.result, pending.error = None, None

    def _lock(self, conn: sa.Connection) -> None:
        """Take the store-wide append lock (SQLite holds it since BEGIN IMMEDIATE)."""
        if not self.sqlite:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))

    def _decide(
        self,
        batch: list[_PendingAppend],
        known: dict[str, tuple[str, int, int]],
        streams: dict[str, _StreamState],
        next_position: int,
        now: str,
    ) -> tuple[list[dict[str, Any]], list[_PendingAppend]]:
        """Check every append of the batch against `known` ids and the `streams` as read, and
        number its events from `next_position`: the rows to write and the appends they come
        from (`streams` become the states after them). Refused appends get their error and
        write nothing."""
        rows: list[dict[str, Any]] = []
        written: list[_PendingAppend] = []
        for pending in batch:
            try:
                pending.result, own_rows = self._decide_one(pending, known, streams, next_position, now)
            except Exception as error:  # noqa: BLE001 - refuses this append alone, handed to its caller
                pending.error = error
                continue
            # Only a fully built append touches the shared state: a refusal leaves no trace.
            rows.extend(own_rows)
            for row in own_rows:
                known[row["event_id"]] = (row["stream"], row["revision"], row["position"])
            if own_rows:
                written.append(pending)
                state = streams[pending.stream]
                if state.deleted:  # a soft-deleted stream starts afresh after its old events
                    state.deleted, state.truncate_before = False, own_rows[0]["revision"]
                state.version, state.changed = own_rows[-1]["revision"], True
                state.last_hash = own_rows[-1]["hash"]
                next_position = own_rows[-1]["position"] + 1
        return rows, written

    def _decide_one(
        self,
        pending: _PendingAppend,
        known: dict[str, tuple[str, int, int]],
        streams: dict[str, _StreamState],
        next_position: int,
        now: str,
    ) -> tuple[AppendResult, list[dict[str, Any]]]:
        stream = pending.stream
        ids = [str(event.id) for event in pending.events]
        if len(set(ids)) != len(ids):
            raise ValueError("an append may not carry the same event id twice")
        if any(event_id in known for event_id in ids):
            return _previous_append(stream, ids, known), []
        state = streams[stream]
        actual = None if state.version is None or state.deleted else state.version
        _check_expected(stream, pending.expected, actual)
        first_revision = 0 if state.version is None else state.version + 1
        rows: list[dict[str, Any]] = []
        previous = state.last_hash
        for offset, event in enumerate(pending.events):
            position, revision = next_position + offset, first_revision + offset
            correlation = str(event.correlation)
            causation = str(event.causation_id) if event.causation_id else None
            previous = event_hash(
                event_id=ids[offset],
                stream=stream,
                revision=revision,
                type=event.type,
                version=event.version,
                data=event.data,
                metadata=event.metadata,
                correlation_id=correlation,
                causation_id=causation,
                previous=previous,
            )
            rows.append(
                {
                    "position": position,
                    "event_id": ids[offset],
                    "stream": stream,
                    "revision": revision,
                    "type": event.type,
                    "version": event.version,
                    "data": _dumps(event.data),
                    "metadata": _dumps(event.metadata),
                    "correlation_id": correlation,
                    "causation_id": causation,
                    "recorded_at": now,
                    "hash": previous,
                }
            )
        last = rows[-1]
        return AppendResult(stream, last["revision"], last["position"]), rows

    @staticmethod
    def _known_ids(conn: sa.Connection, ids: list[str]) -> dict[str, tuple[str, int, int]]:
        known: dict[str, tuple[str, int, int]] = {}
        for start in range(0, len(ids), 500):
            query = sa.select(
                events_table.c.event_id,
                events_table.c.stream,
                events_table.c.revision,
                events_table.c.position,
            ).where(events_table.c.event_id.in_(ids[start : start + 500]))
            for row in conn.execute(query):
                known[row.event_id] = (row.stream, int(row.revision), int(row.position))
        return known

    @staticmethod
    def _stream_states(conn: sa.Connection, names: set[str]) -> dict[str, _StreamState]:
        states = {name: _StreamState(version=None, deleted=False, truncate_before=0) for name in names}
        query = sa.select(streams_table).where(streams_table.c.stream.in_(sorted(names)))
        for row in conn.execute(query):
            states[row.stream] = _StreamState(
                version=int(row.version),
                deleted=bool(row.deleted),
                truncate_before=int(row.truncate_before),
                last_hash=row.last_hash,
            )
        return states

    def _save_streams(self, conn: sa.Connection, streams: dict[str, _StreamState]) -> None:
        values = [
            {
                "stream": name,
                "version": state.version,
                "deleted": state.deleted,
                "truncate_before": state.truncate_before,
                "last_hash": state.last_hash,
            }
            for name, state in streams.items()
            if state.changed
        ]
        conn.execute(self._upsert_streams, values)

    def _numbering_start(self, conn: sa.Connection, batch: list[_PendingAppend]) -> int:
        """The first free position. On PostgreSQL the same round trip queues the NOTIFY that
        wakes subscribers; it is delivered only if and when the transaction commits, and says
        which positions and types the commit may hold (`_Notice`)."""
        last = sa.func.coalesce(sa.func.max(events_table.c.position), 0)
        if self.sqlite:
            return int(conn.execute(sa.select(last)).scalar_one()) + 1
        count = sum(len(p.events) for p in batch)
        types = ",".join(sorted({e.type for p in batch for e in p.events}))
        payload = sa.cast(last + 1, sa.Text) + f":{count}:{types if len(types) < 6000 else '*'}"
        row = conn.execute(sa.select(last, sa.func.pg_notify(NOTIFY_CHANNEL, payload))).one()
        return int(row[0]) + 1

    def delete_stream(self, stream: str) -> None:
        with self.engine.begin() as conn:
            self._lock(conn)
            row = conn.execute(sa.select(streams_table).where(streams_table.c.stream == stream)).first()
            if row is None or row.deleted:
                raise StreamNotFound(stream)
            conn.execute(
                streams_table.update()
                .where(streams_table.c.stream == stream)
                .values(deleted=True, truncate_before=int(row.version) + 1)
            )

    def truncate_stream(self, stream: str, before_revision: int) -> None:
        with self.engine.begin() as conn:
            self._lock(conn)
            updated = conn.execute(
                streams_table.update()
                .where(streams_table.c.stream == stream, streams_table.c.deleted.is_(False))
                .values(truncate_before=before_revision)
            )
            if updated.rowcount == 0:
                raise StreamNotFound(stream)

    # -- reading -------------------------------------------------------------------------

    def read_stream(
        self,
        stream: str,
        from_revision: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        # One query with the stream's row joined in; only an empty answer asks whether the
        # stream exists at all (a reader of a live stream pays one round trip, not two).
        live = streams_table.c
        query = (
            sa.select(*RECORDED_COLUMNS)
            .select_from(events_table.join(streams_table, live.stream == events_table.c.stream))
            .where(
                events_table.c.stream == stream,
                live.deleted.is_(False),
                events_table.c.revision >= live.truncate_before,
            )
        )
        with self.read_engine.connect() as conn:
            if backwards:
                if from_revision is not None:
                    query = query.where(events_table.c.revision <= from_revision)
                query = query.order_by(events_table.c.revision.desc())
            else:
                query = query.where(events_table.c.revision >= (from_revision or 0))
                query = query.order_by(events_table.c.revision)
            if limit is not None:
                query = query.limit(limit)
            events = _recorded(conn, query)
            if not events:
                row = conn.execute(sa.select(live.deleted).where(live.stream == stream)).first()
                if row is None or row.deleted:
                    raise StreamNotFound(stream)
            return events

    def read_all(
        self, after: int = 0, *, types: Iterable[str] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        query = sa.select(*RECORDED_COLUMNS).where(events_table.c.position > after)
        if types is not None:
            query = query.where(events_table.c.type.in_(list(types)))
        query = query.order_by(events_table.c.position).limit(limit)
        with self.read_engine.connect() as conn:
            return _recorded(conn, query)

    def last_position(self) -> int:
        with self.read_engine.connect() as conn:
            return self._last_position(conn)

    @staticmethod
    def _last_position(conn: sa.Connection) -> int:
        return int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.max(events_table.c.position), 0))).scalar_one()
        )

    def stream_version(self, stream: str) -> int | None:
        with self.read_engine.connect() as conn:
            row = conn.execute(
                sa.select(streams_table.c.version, streams_table.c.deleted).where(
                    streams_table.c.stream == stream
                )
            ).first()
        return None if row is None or row.deleted else int(row.version)

    # -- waiting for new events ----------------------------------------------------------

    def wait_for_events(self, after: int, timeout: float, types: Iterable[str] | None = None) -> bool:
        self._ensure_listener()
        deadline = time.monotonic() + timeout
        if types is not None and not self.sqlite:
            return self._wait_for_types(after, deadline, frozenset(types))
        while True:
            with self._appended:
                generation = self._generation
            if self.last_position() > after:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._appended:
                if self._generation == generation:
                    self._appended.wait(min(remaining, self._poll_interval))

    def _wait_for_types(self, after: int, deadline: float, types: frozenset[str]) -> bool:
        """Sleep until a NOTIFY says a commit past `after` may hold one of `types`. Commits
        this process did not hear of (before its LISTEN began, or while it reconnected) are
        found by the caller's next pass when the time is up."""
        with self._appended:
            vague = self._vague
            while True:
                if self._vague != vague or self._noticed_any > after:
                    return True
                if any(self._noticed.get(t, 0) > after for t in types):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._appended.wait(remaining)

    def _wake(self, notices: Sequence[str] = ()) -> None:
        with self._appended:
            for payload in notices:
                notice = _Notice.parse(payload)
                if notice is None:
                    self._vague += 1  # a notice from an older writer: something was committed
                elif notice.types is None:
                    self._noticed_any = max(self._noticed_any, notice.last)
                else:
                    for name in notice.types:
                        self._noticed[name] = max(self._noticed.get(name, 0), notice.last)
            self._generation += 1
            self._appended.notify_all()

    def _ensure_listener(self) -> None:
        if self.sqlite or self._listener is not None:
            return
        with self._listener_lock:
            if self._listener is None:
                self._listener = threading.Thread(target=self._listen, name="eventstore-listen", daemon=True)
                self._listener.start()

    def _listen(self) -> None:
        """Turn PostgreSQL NOTIFYs from any process's appends into local wake-ups."""
        while not self._closed.is_set():
            try:
                raw = self.engine.raw_connection()
                try:
                    driver = raw.driver_connection
                    assert driver is not None
                    driver.autocommit = True
                    with driver.cursor() as cursor:
                        cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self._closed.is_set():
                        ready, _, _ = select.select([driver], [], [], 0.5)
                        if ready:
                            driver.poll()
                            if driver.notifies:
                                notices = [n.payload for n in driver.notifies]
                                driver.notifies.clear()
                                self._wake(notices)
                finally:
                    raw.invalidate()
            except Exception:  # noqa: BLE001 - the poll fallback covers the gap; retry soon
                self._closed.wait(1.0)

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.join(timeout=2)
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def _as_read(stream: str, state: _StreamState) -> dict[str, Any]:
    """A stream's row as `es_append` compares it (all None: no row)."""
    if state.version is None:
        return {"stream": stream} | dict.fromkeys(("version", "deleted", "truncate_before", "last_hash"))
    return {
        "stream": stream,
        "version": state.version,
        "deleted": state.deleted,
        "truncate_before": state.truncate_before,
        "last_hash": state.last_hash,
    }


def _previous_append(stream: str, ids: list[str], known: dict[str, tuple[str, int, int]]) -> AppendResult:
    """The result of the earlier append of exactly these ids to this stream (idempotency)."""
    found = [known[event_id] for event_id in ids if event_id in known]
    if len(found) == len(ids) and all(place[0] == stream for place in found):
        revisions = [place[1] for place in found]
        if revisions == list(range(revisions[0], revisions[0] + len(ids))):
            return AppendResult(stream, found[-1][1], found[-1][2])
    raise DuplicateEventIds(stream, [uuid.UUID(event_id) for event_id in ids if event_id in known])


def _check_expected(stream: str, expected: ExpectedVersion, actual: int | None) -> None:
    if expected is StreamState.ANY:
        return
    if expected is StreamState.NO_STREAM:
        ok = actual is None
    elif expected is StreamState.STREAM_EXISTS:
        ok = actual is not None
    elif isinstance(expected, int) and not isinstance(expected, bool):
        ok = actual == expected
    else:
        raise EventStoreError(f"unknown expected version {expected!r}")
    if not ok:
        raise WrongExpectedVersion(stream, expected, actual)


RECORDED_COLUMNS = tuple(
    events_table.c[name]
    for name in (
        "position",
        "event_id",
        "stream",
        "revision",
        "type",
        "version",
        "data",
        "metadata",
        "correlation_id",
        "causation_id",
        "recorded_at",
    )
)
"""What `_to_recorded` reads, in this order (a replay reads millions of rows: by position, not
by name)."""

_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _json(text: str) -> Any:
    """`json.loads` of what the store wrote (`json.dumps`: no surrounding blanks), without the
    Python layers around the C scanner; anything else goes through `json.loads`."""
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return json.loads(text)  # raises the usual error
    return value if end == len(text) else json.loads(text)


def _uuid(text: str) -> uuid.UUID:
    """`uuid.UUID(text)` for the canonical form the store writes, without the checks of the
    general constructor (a replay builds two or three per event)."""
    value = _new_object(uuid.UUID)
    _set_attribute(value, "int", int(text.replace("-", ""), 16))
    _set_attribute(value, "is_safe", _UNKNOWN_SAFETY)
    return value


_new_object = object.__new__
_set_attribute = object.__setattr__
_UNKNOWN_SAFETY = uuid.SafeUUID.unknown


def _to_recorded(row: Sequence[Any]) -> RecordedEvent:
    """An event from a row of `RECORDED_COLUMNS` (built field by field: the frozen dataclass's
    own `__init__` sets each field through `object.__setattr__`, a third of the cost here)."""
    position, event_id, stream, revision, type_, version, data, metadata, correlation, causation, at = row
    event = _new_object(RecordedEvent)
    event.__dict__.update(
        id=_uuid(event_id),
        type=type_,
        version=int(version),
        stream=stream,
        revision=int(revision),
        position=int(position),
        data=_json(data),
        correlation_id=_uuid(correlation),
        causation_id=_uuid(causation) if causation else None,
        recorded_at=datetime.fromisoformat(at),
        metadata=_json(metadata),
    )
    return event


def _recorded(conn: sa.Connection, query: sa.Select[Any]) -> list[RecordedEvent]:
    """The events `query` (a select of `RECORDED_COLUMNS`) finds, read as the driver's plain
    tuples: the columns are text and integers, which need no conversion by SQLAlchemy."""
    result = conn.execute(query)
    try:
        return [_to_recorded(row) for row in result.cursor.fetchall()]
    finally:
        result.close()


@dataclass(frozen=True)
class _Notice:
    """A commit's NOTIFY payload, `first:count:Type,Type` (`*` for too many types to name)."""

    last: int
    """The commit's last position at most (refused appends of the batch count too)."""
    types: frozenset[str] | None

    @staticmethod
    def parse(payload: str) -> _Notice | None:
        try:
            first, count, types = payload.split(":", 2)
            last = int(first) + int(count) - 1
        except ValueError:
            return None  # an older writer's empty notice
        return _Notice(last, None if types == "*" else frozenset(types.split(",")))
