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

import contextlib
import gc
import json
import os
import select
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contracts.envelope import (
    RECORDED_AT_TEXT,
    STORED_DATA,
    AppendResult,
    EventStoreError,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    StreamState,
)
from contracts.eventstore import EventStore, StopSignal
from infra.db import is_sqlite, listening_engine, make_engine, upsert_insert
from infra.eventstore.deciding import PendingAppend, StreamRow, as_read, decide
from infra.eventstore.pg_append import append_at_once, driver_cursor
from infra.eventstore.schema import (
    ANY_TYPE_CHANNEL,
    APPEND_LOCK_KEY,
    NOTIFY_CHANNEL,
    events_table,
    migrate,
    streams_table,
    type_channel,
)
from infra.ops.hashchain import link_rows
from infra.ops.heads import HeadRecorder

__all__ = ["APPEND_LOCK_KEY", "NOTIFY_CHANNEL", "SqlEventStore"]

DECIDE_AHEAD_ATTEMPTS = 3
"""PostgreSQL: how often a commit decides without the lock and finds its streams changed
before it takes the lock first instead (see `_commit_at_once`)."""
WRITTEN_STREAMS_KEPT = 10_000


class SqlEventStore(EventStore):
    """`EventStore` over SQLAlchemy; the schema is created and migrated on first use."""

    def __init__(self, url: str, *, pool_size: int | None = None) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self._listening: sa.Engine | None = None
        """PostgreSQL: where the connection that LISTENs comes from (outside the pool)."""
        if self.sqlite:
            self.engine = make_engine(url, immediate=True, pool_size=pool_size)
            self.read_engine = make_engine(url, pool_size=pool_size)
            self._autocommit = self.read_engine
        else:
            # One pool (role `store`, `DB_POOL_SIZE` connections). Its connections stay in
            # autocommit for the store's own single statements (its reads, `es_append`), one
            # round trip each; the few transactions that take the lock themselves (schema
            # migrations, deletes, a commit `es_append` could not make) borrow the same
            # connections in READ COMMITTED, at the price of a `SET` when they switch.
            self._autocommit = make_engine(url, pool_size=pool_size, autocommit=True, role="store")
            self.engine = self._autocommit.execution_options(isolation_level="READ COMMITTED")
            self.read_engine = self.engine
            self._listening = listening_engine(url)
        self._written: OrderedDict[str, tuple[int | None, bool, int, str | None]] = OrderedDict()
        """PostgreSQL: the streams this store wrote last, as it left them (only the one commit
        leader of the moment touches it)."""
        migrate(self.engine)
        insert = upsert_insert(url, streams_table)
        self._upsert_streams = insert.on_conflict_do_update(
            index_elements=[streams_table.c.stream],
            set_={
                "version": insert.excluded.version,
                "deleted": insert.excluded.deleted,
                "truncate_before": insert.excluded.truncate_before,
                "last_hash": insert.excluded.last_hash,
            },
        )
        self._heads = HeadRecorder.configured()
        """Signs a head of the history now and then, when a signing key is configured."""
        self._queue: list[PendingAppend] = []
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
        self._channels: set[str] = set()
        """The channels the listener is to LISTEN on: each waited-for type's (and the channel of
        commits not named by type), the all-commits one only for a waiter of any event."""
        self._channels_changed, self._channels_told = (-1, -1) if self.sqlite else os.pipe()
        """Written to when `_channels` grows, to wake the listener at once (PostgreSQL)."""
        if not self.sqlite:
            os.set_blocking(self._channels_told, False)
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
        pending = PendingAppend.of(stream, events, expected_version)
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
            if self._heads is not None:
                written = sum(len(p.events) for p in batch if p.error is None and p.result is not None)
                if written:
                    self._heads.appended(self.engine, written)
        return pending.outcome()

    def _commit(self, batch: list[PendingAppend]) -> None:
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

    def _commit_locked(self, batch: list[PendingAppend]) -> None:
        """Take the lock, then read, decide and write in one transaction."""
        self._reset(batch)
        with self.engine.begin() as conn:
            self._lock(conn)
            next_position = self._numbering_start(conn, batch)
            known = self._known_ids(conn, [str(e.id) for p in batch for e in p.events])
            streams = self._stream_states(conn, {p.stream for p in batch})
            rows, _ = decide(batch, known, streams, next_position, datetime.now(UTC).isoformat())
            if rows:
                link_rows(rows, self._link_before(conn, next_position))
                conn.execute(events_table.insert(), rows)
                self._save_streams(conn, streams)

    def _commit_at_once(self, batch: list[PendingAppend]) -> bool:
        """PostgreSQL: decide without the lock, then write with `es_append`, which takes the lock
        for one statement and writes only if nothing the decision rests on changed
        (infra/eventstore/pg_append.py). False when the streams kept changing, or when one event
        id comes twice in the batch: then the caller decides under the lock.

        The first attempt reads no stream that it can take as known: one this store wrote last
        (`_written`), or one every append of the batch expects to be new. Nor does it look for
        its event ids (es_append refuses ids already stored). Most appends then cost one round
        trip. If that guess was wrong — es_append refuses, or an append is refused by the
        guess — the next attempt reads everything."""
        ids = [str(e.id) for p in batch for e in p.events]
        if len(set(ids)) != len(ids):
            return False
        names = {p.stream for p in batch}
        for attempt in range(DECIDE_AHEAD_ATTEMPTS):
            self._reset(batch)
            guessing = attempt == 0
            with self._autocommit.connect() as conn:
                if guessing:
                    known: dict[str, tuple[str, int, int]] = {}
                    streams = self._guessed_states(batch)
                    if unknown := names - streams.keys():
                        streams |= self._stream_states(conn, unknown)
                else:
                    known = self._known_ids(conn, ids)
                    streams = self._stream_states(conn, names)
                read = {name: as_read(name, state) for name, state in streams.items()}
                rows, written = decide(batch, known, streams, 0, "")
                if guessing and len(written) < len(batch):
                    continue  # refused on a guess, or answered from ids not looked for: look
                if not rows:
                    return True
                changed = [name for name, state in streams.items() if state.changed]
                first = append_at_once(
                    conn, rows, [read[name] for name in changed], [as_read(n, streams[n]) for n in changed]
                )
            if first is None:
                for name in names:
                    self._written.pop(name, None)
                continue
            for pending in written:
                assert pending.result is not None  # numbered from 0 within this commit
                relative = pending.result
                pending.result = AppendResult(relative.stream, relative.revision, first + relative.position)
            for name in changed:
                self._remember(name, streams[name])
            return True
        return False

    def _guessed_states(self, batch: list[PendingAppend]) -> dict[str, StreamRow]:
        """The streams of `batch` whose row need not be read: as this store last wrote them, or
        absent when every append to them expects no stream."""
        states: dict[str, StreamRow] = {}
        for pending in batch:
            written = self._written.get(pending.stream)
            if written is not None:
                states[pending.stream] = StreamRow(*written)
        for name in {p.stream for p in batch} - states.keys():
            if all(p.expected is StreamState.NO_STREAM for p in batch if p.stream == name):
                states[name] = StreamRow(version=None, deleted=False, truncate_before=0)
        return states

    def _remember(self, name: str, state: StreamRow) -> None:
        self._written[name] = (state.version, state.deleted, state.truncate_before, state.last_hash)
        self._written.move_to_end(name)
        if len(self._written) > WRITTEN_STREAMS_KEPT:
            self._written.popitem(last=False)

    def _forget(self, stream: str) -> None:
        # Only a shortcut: es_append would find the change and the commit read the stream again.
        self._written.pop(stream, None)

    @staticmethod
    def _reset(batch: list[PendingAppend]) -> None:
        for pending in batch:
            pending.result, pending.error = None, None

    def _lock(self, conn: sa.Connection) -> None:
        """Take the store-wide append lock (SQLite holds it since BEGIN IMMEDIATE)."""
        if not self.sqlite:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))

    @staticmethod
    def _known_ids(conn: sa.Connection, ids: list[str]) -> dict[str, tuple[str, int, int]]:
        known: dict[str, tuple[str, int, int]] = {}
        for start in range(0, len(ids), 500):
            for row in conn.execute(_KNOWN_IDS, {"ids": ids[start : start + 500]}):
                known[row.event_id] = (row.stream, int(row.revision), int(row.position))
        return known

    @staticmethod
    def _stream_states(conn: sa.Connection, names: set[str]) -> dict[str, StreamRow]:
        states = {name: StreamRow(version=None, deleted=False, truncate_before=0) for name in names}
        for row in conn.execute(_STREAM_STATES, {"names": sorted(names)}):
            states[row.stream] = StreamRow(
                version=int(row.version),
                deleted=bool(row.deleted),
                truncate_before=int(row.truncate_before),
                last_hash=row.last_hash,
            )
        return states

    def _save_streams(self, conn: sa.Connection, streams: dict[str, StreamRow]) -> None:
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

    def _numbering_start(self, conn: sa.Connection, batch: list[PendingAppend]) -> int:
        """The first free position. On PostgreSQL the same round trip queues the NOTIFY that
        wakes subscribers; it is delivered only if and when the transaction commits, and says
        which positions and types the commit may hold (`_Notice`)."""
        last = sa.func.coalesce(sa.func.max(events_table.c.position), 0)
        if self.sqlite:
            return int(conn.execute(sa.select(last)).scalar_one()) + 1
        count = sum(len(p.events) for p in batch)
        types = ",".join(sorted({e.type for p in batch for e in p.events}))
        named = len(types) < 6000
        payload = sa.cast(last + 1, sa.Text) + f":{count}:{types if named else '*'}"
        channels = {type_channel(t) for t in types.split(",")} if named else {ANY_TYPE_CHANNEL}
        notify = [sa.func.pg_notify(channel, payload) for channel in (NOTIFY_CHANNEL, *sorted(channels))]
        row = conn.execute(sa.select(last, *notify)).one()
        return int(row[0]) + 1

    @staticmethod
    def _link_before(conn: sa.Connection, position: int) -> str | None:
        """The store-wide chain's link of the event before `position` (None: there is none, or
        it was stored before the chain)."""
        return conn.execute(
            sa.select(events_table.c.chain).where(events_table.c.position == position - 1)
        ).scalar()

    def delete_stream(self, stream: str) -> None:
        self._forget(stream)
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
        self._forget(stream)
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
        with self._autocommit.connect() as conn:
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

    def read_streams(self, streams: Iterable[str]) -> dict[str, list[RecordedEvent]]:
        """One statement for all the streams, their rows joined in, so one snapshot: an aggregate
        folded from two streams on every request (a session's principal) pays one round trip, and
        on PostgreSQL no SQLAlchemy statement either (`_raw_rows`)."""
        found: dict[str, list[RecordedEvent]] = {name: [] for name in streams}
        if not found:
            return found
        with self._autocommit.connect() as conn:
            if self.sqlite:
                result = conn.execute(_READ_STREAMS, {"streams": list(found)})
                try:
                    rows = result.cursor.fetchall()
                finally:
                    result.close()
            else:
                rows = _raw_rows(conn, _READ_STREAMS_PG, {"streams": list(found)})
        for row in rows:
            event = _to_recorded(row)
            found[event.stream].append(event)
        return found

    def read_all(
        self, after: int = 0, *, types: Iterable[str] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        params: dict[str, Any] = {"after": after, "limit": limit}
        if types is not None:
            params["types"] = list(types)
            if not params["types"]:
                return []
        with self._autocommit.connect() as conn:
            if self.sqlite:
                return _recorded(conn, _READ_ALL if types is None else _READ_ALL_OF_TYPES, params)
            return _recorded_raw(conn, _READ_ALL_PG if types is None else _READ_ALL_OF_TYPES_PG, params)

    def subscribe_all(
        self,
        after: int = 0,
        *,
        types: Iterable[str] | None = None,
        batch: int = 500,
        idle_timeout: float = 1.0,
        stop: StopSignal | None = None,
    ) -> Iterator[RecordedEvent]:
        """`EventStore.subscribe_all`, handing each page over whole (`yield from`): a new
        projection catching up takes every event of the store through here, and the per-event
        step of the general loop cost a tenth of its reading. On PostgreSQL, a subscriber of every
        event reads the next page while it builds this one (`_ReadAhead`)."""
        wanted = frozenset(types) if types is not None else None
        position = after
        ahead = _ReadAhead(self, batch) if wanted is None and not self.sqlite else None
        try:
            while stop is None or not stop.is_set():
                horizon = self.last_position() if wanted is not None else position
                page = (
                    self.read_all(position, types=wanted, limit=batch)
                    if ahead is None
                    else ahead.read(position)
                )
                if page:
                    position = page[-1].position
                    yield from page
                if len(page) < batch:
                    position = max(position, horizon)
                    self.wait_for_events(position, idle_timeout)
        finally:
            if ahead is not None:
                ahead.close()

    def find_event(self, event_id: uuid.UUID, *, types: Iterable[str] | None = None) -> RecordedEvent | None:
        """One query by the unique index on event ids, the stream's row joined in to leave out
        what `read_stream` hides (a deleted stream, revisions below its truncation)."""
        params: dict[str, Any] = {"event_id": str(event_id)}
        if types is not None:
            params["types"] = sorted(set(types))
            if not params["types"]:
                return None
        with self._autocommit.connect() as conn:
            found = _recorded(conn, _FIND_EVENT if types is None else _FIND_EVENT_OF_TYPES, params)
        return found[0] if found else None

    def last_position(self) -> int:
        with self._autocommit.connect() as conn:
            return self._last_position(conn)

    def type_counts(self) -> dict[str, int]:
        """How many events of each type are stored (a replay starts its largest builds first)."""
        with self._autocommit.connect() as conn:
            return {str(name): int(count) for name, count in conn.execute(_TYPE_COUNTS)}

    @staticmethod
    def _last_position(conn: sa.Connection) -> int:
        return int(conn.execute(_LAST_POSITION).scalar_one())

    def stream_version(self, stream: str) -> int | None:
        with self._autocommit.connect() as conn:
            row = conn.execute(_STREAM_VERSION, {"stream": stream}).first()
        return None if row is None or row.deleted else int(row.version)

    # -- waiting for new events ----------------------------------------------------------

    def wait_for_events(self, after: int, timeout: float, types: Iterable[str] | None = None) -> bool:
        wanted = None if types is None else frozenset(types)
        if not self.sqlite:
            self._listen_on(
                {NOTIFY_CHANNEL} if wanted is None else {ANY_TYPE_CHANNEL, *map(type_channel, wanted)}
            )
        self._ensure_listener()
        deadline = time.monotonic() + timeout
        if wanted is not None and not self.sqlite:
            return self._wait_for_types(after, deadline, wanted)
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

    def _listen_on(self, channels: set[str]) -> None:
        with self._appended:
            if channels <= self._channels:
                return
            self._channels |= channels
        with contextlib.suppress(OSError):  # full (the listener is reconnecting) or closed
            os.write(self._channels_told, b".")

    def _listen(self) -> None:
        """Turn PostgreSQL NOTIFYs from any process's appends into local wake-ups: LISTEN on the
        channels waiters asked for (at once when one is new), and only those."""
        assert self._listening is not None
        while not self._closed.is_set():
            try:
                raw = self._listening.raw_connection()
                try:
                    driver = raw.driver_connection
                    assert driver is not None
                    driver.autocommit = True
                    listening: set[str] = set()
                    while not self._closed.is_set():
                        with self._appended:
                            new = self._channels - listening
                        with driver.cursor() as cursor:
                            for channel in sorted(new):
                                cursor.execute('LISTEN "{}"'.format(channel.replace('"', '""')))
                        listening |= new
                        ready, _, _ = select.select([driver, self._channels_changed], [], [], 0.5)
                        if self._channels_changed in ready:
                            os.read(self._channels_changed, 4096)
                        if driver in ready:
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
        self.engine.dispose()  # on PostgreSQL the one pool, shared by all three
        if self.sqlite:
            self.read_engine.dispose()
        if self._listener is None or not self._listener.is_alive():  # else it may still select on it
            pipe, (self._channels_changed, self._channels_told) = (
                (self._channels_changed, self._channels_told),
                (-1, -1),
            )
            for fd in pipe:
                if fd >= 0:
                    os.close(fd)


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


# The statements every pass of every projection runner makes, built once: building one took
# longer than running it (~190 of ~480 µs CPU for `stream_version`, measured on this machine).
_LAST_POSITION = sa.select(sa.func.coalesce(sa.func.max(events_table.c.position), 0))
_TYPE_COUNTS = sa.select(events_table.c.type, sa.func.count()).group_by(events_table.c.type)
_STREAM_VERSION = sa.select(streams_table.c.version, streams_table.c.deleted).where(
    streams_table.c.stream == sa.bindparam("stream")
)
_READ_ALL = (
    sa.select(*RECORDED_COLUMNS)
    .where(events_table.c.position > sa.bindparam("after"))
    .order_by(events_table.c.position)
    .limit(sa.bindparam("limit"))
)
_READ_ALL_OF_TYPES = _READ_ALL.where(events_table.c.type.in_(sa.bindparam("types", expanding=True)))
_READ_ALL_PG = (
    f"SELECT {', '.join(column.name for column in RECORDED_COLUMNS)} FROM {events_table.name}"
    " WHERE position > %(after)s ORDER BY position LIMIT %(limit)s"
)
"""`_READ_ALL` as psycopg2 takes it (a catch-up runs it once per page of events)."""
_READ_ALL_OF_TYPES_PG = _READ_ALL_PG.replace(
    " WHERE position > %(after)s", " WHERE position > %(after)s AND type = ANY (%(types)s)"
)
"""`_READ_ALL_OF_TYPES` as psycopg2 takes it, the list of types as one array parameter."""
_FIND_EVENT = (
    sa.select(*RECORDED_COLUMNS)
    .select_from(events_table.join(streams_table, streams_table.c.stream == events_table.c.stream))
    .where(
        events_table.c.event_id == sa.bindparam("event_id"),
        streams_table.c.deleted.is_(False),
        events_table.c.revision >= streams_table.c.truncate_before,
    )
)
_FIND_EVENT_OF_TYPES = _FIND_EVENT.where(events_table.c.type.in_(sa.bindparam("types", expanding=True)))
_READ_STREAMS = (
    sa.select(*RECORDED_COLUMNS)
    .select_from(events_table.join(streams_table, streams_table.c.stream == events_table.c.stream))
    .where(
        # Both sides named: the planner does not carry the list across the join by itself, and
        # scanned every stream's row (PostgreSQL's EXPLAIN).
        events_table.c.stream.in_(sa.bindparam("streams", expanding=True)),
        streams_table.c.stream.in_(sa.bindparam("streams", expanding=True)),
        streams_table.c.deleted.is_(False),
        events_table.c.revision >= streams_table.c.truncate_before,
    )
    .order_by(events_table.c.stream, events_table.c.revision)
)
_READ_STREAMS_PG = (
    f"SELECT {', '.join(f'e.{column.name}' for column in RECORDED_COLUMNS)}"
    f" FROM {events_table.name} e JOIN {streams_table.name} s ON s.stream = e.stream"
    " WHERE e.stream = ANY (%(streams)s) AND s.stream = ANY (%(streams)s)"
    " AND NOT s.deleted AND e.revision >= s.truncate_before"
    " ORDER BY e.stream, e.revision"
)
"""`_READ_STREAMS` as psycopg2 takes it, the list of names as one array parameter."""
_KNOWN_IDS = sa.select(
    events_table.c.event_id, events_table.c.stream, events_table.c.revision, events_table.c.position
).where(events_table.c.event_id.in_(sa.bindparam("ids", expanding=True)))
_STREAM_STATES = sa.select(streams_table).where(
    streams_table.c.stream.in_(sa.bindparam("names", expanding=True))
)


def _to_recorded(row: Sequence[Any]) -> RecordedEvent:
    """An event from a row of `RECORDED_COLUMNS`, built field by field (the frozen dataclass's
    own `__init__` sets each field through `object.__setattr__`; `__dict__.update(**…)` builds a
    dictionary first: item by item costs half of either). Most events start their conversation
    (correlation id = own id: one UUID for both) and carry no metadata."""
    position, event_id, stream, revision, type_, version, data, metadata, correlation, causation, at = row
    event = _new_object(RecordedEvent)
    fields = event.__dict__
    fields["id"] = own = _uuid(event_id)
    fields["type"] = type_
    fields["version"] = version
    fields["stream"] = stream
    fields["revision"] = revision
    fields["position"] = position
    fields[STORED_DATA] = data  # `data` parses it when asked; decoding validates it as it is
    fields["correlation_id"] = own if correlation == event_id else _uuid(correlation)
    fields["causation_id"] = _uuid(causation) if causation else None
    fields["recorded_at"] = datetime.fromisoformat(at)
    if len(at) == 32 and at[26:] == "+00:00" and at[10] == "T" and at[19] == "." and at[20:26] != "000000":
        fields[RECORDED_AT_TEXT] = at  # what `isoformat()` gives (which drops a zero fraction)
    fields["metadata"] = {} if metadata == "{}" else _json(metadata)
    return event


def _recorded(
    conn: sa.Connection, query: sa.Select[Any], params: dict[str, Any] | None = None
) -> list[RecordedEvent]:
    """The events `query` (a select of `RECORDED_COLUMNS`) finds, read as the driver's plain
    tuples: the columns are text and integers, which need no conversion by SQLAlchemy."""
    result = conn.execute(query, params or {})
    try:
        return _decoded(result.cursor)
    finally:
        result.close()


def _recorded_raw(conn: sa.Connection, statement: str, params: dict[str, Any]) -> list[RecordedEvent]:
    """`_recorded` for a statement in psycopg2's own form, on the driver's cursor
    (`pg_append.driver_cursor`): a catch-up reads page after page."""
    cursor = driver_cursor(conn, statement, params)
    try:
        return _decoded(cursor)
    finally:
        cursor.close()


class _ReadAhead:
    """PostgreSQL, a subscriber of every event catching up: after a full page, the next page's
    rows are read on a thread of its own while this page's events are built and handed over, so
    the server's work and the wire overlap the decoding. A subscriber at the head of the store
    (its pages not full) reads as `read_all` does. Each page starts after the last one's last
    position, as before: the order and the no-skip guarantee are `read_all`'s."""

    def __init__(self, store: SqlEventStore, limit: int) -> None:
        self._store = store
        self._limit = limit
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eventstore-read-ahead")
        self._next: tuple[int, Future[Sequence[Any]]] | None = None
        """The page being read ahead: the position it starts after, its rows to come."""

    def read(self, after: int) -> list[RecordedEvent]:
        """`read_all(after, limit=…)` of the store, its rows read ahead if they were."""
        ahead, self._next = self._next, None
        rows = ahead[1].result() if ahead is not None and ahead[0] == after else self._rows(after)
        if rows and len(rows) == self._limit:
            sent = threading.Event()
            self._next = (rows[-1][0], self._reader.submit(self._rows, rows[-1][0], sent))
            # Let the reader send its query before this thread holds the interpreter for the
            # whole page (else it would wait for the interpreter's next switch, ~5 ms).
            sent.wait(0.1)
        return _decoded(rows)

    def _rows(self, after: int, sent: threading.Event | None = None) -> Sequence[Any]:
        params = {"after": after, "limit": self._limit}
        with self._store._autocommit.connect() as conn:
            cursor = None
            try:
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                if sent is not None:
                    sent.set()
                cursor.execute(_READ_ALL_PG, params)
                rows = cursor.fetchall()
                cursor.close()
            except Exception as error:
                conn._handle_dbapi_exception(error, _READ_ALL_PG, params, cursor, None)  # raises it
                raise
            finally:
                if sent is not None:
                    sent.set()
        return rows

    def close(self) -> None:
        self._reader.shutdown(wait=False, cancel_futures=True)


def _decoded(rows: Any) -> list[RecordedEvent]:
    """The events of `rows`, a driver cursor (iterable, though typed as the DB-API's is not):
    read row by row, each row's tuple is dropped once read.

    The cyclic garbage collector waits until the page is built: each event brings four or five
    new container objects, all alive until the page is handed over, so the collections their
    allocation set off scanned the same young events again and again and promoted them to be
    scanned in full later — a quarter of a catch-up's CPU, measured on this machine. What the
    collector would have found it finds at its next pass; a collector someone else switched off
    stays off."""
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        return [_to_recorded(row) for row in rows]
    finally:
        if collecting:
            gc.enable()


def _raw_rows(conn: sa.Connection, statement: str, params: dict[str, Any]) -> list[Any]:
    """The rows `statement` answers, on the driver's cursor (`pg_append.driver_cursor`): a read
    every session's request makes."""
    cursor = driver_cursor(conn, statement, params)
    try:
        return list(cursor.fetchall())
    finally:
        cursor.close()


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
