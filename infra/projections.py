"""The projection runner every service uses.

A projection turns events into rows of its read model. The runner reads the store from the
projection's checkpoint and applies each event in the read model's database, saving the new
checkpoint in the same transaction as the effect: a crash, a restart or a replay never applies
an event twice and never skips one. An event that keeps failing is retried with back-off and
then parked, with its error, in `projection_parked`, where operations can see and retry it.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa

from contracts.envelope import RECORDED_AT_TEXT, RecordedEvent, TransientError
from contracts.events import Event, EventRegistry, registry
from contracts.eventstore import EventStore, StopSignal
from infra.db import Database, lock_schema
from infra.rows import Rows

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    ConnectionError,
    TimeoutError,
)
"""Failures that pass by themselves: never a reason to park an event."""
MAX_TRANSIENT_WAIT = 5.0

runner_metadata = sa.MetaData()

checkpoints_table = sa.Table(
    "projection_checkpoints",
    runner_metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

parked_table = sa.Table(
    "projection_parked",
    runner_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("projection", sa.String(100), nullable=False, index=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("parked_at", sa.String(40), nullable=False),
    sa.UniqueConstraint("projection", "event_id", name="uq_projection_parked_event"),
)


class _RecordedAt:
    """`Context.at`: the text the store read when it was exactly `isoformat()`'s
    (`RECORDED_AT_TEXT`, set by `_context`), else made on first use; then kept as the context's
    own attribute (a descriptor without `__set__`, so the instance's value is found without a
    call), and beside the recorded event's fields, so that every projection's context of one
    event shares it."""

    def __get__(self, context: Context | None, owner: type | None = None) -> str:
        if context is None:
            raise AttributeError("at")
        recorded = context.recorded
        known: str | None = recorded.__dict__.get(RECORDED_AT_TEXT)
        if known is None:
            known = recorded.__dict__[RECORDED_AT_TEXT] = recorded.recorded_at.isoformat()
        context.__dict__["at"] = known
        return known


@dataclass(frozen=True)
class Context:
    """What `Projection.apply` may use besides its transaction."""

    store: EventStore
    recorded: RecordedEvent
    replaying: bool = False
    """True while `ProjectionRunner.rebuild` re-applies an event the projection had already
    applied before: effects outside the read model (an SMS) must not happen again."""

    at: ClassVar[_RecordedAt] = _RecordedAt()
    """When the event was recorded, as the ISO text read models keep: made once per event,
    however many rows of however many projections it stamps."""


def _context(store: EventStore, recorded: RecordedEvent, replaying: bool) -> Context:
    """`Context(store, recorded, replaying)`, built field by field: a frozen `__init__` costs a
    µs more, for every event of every projection."""
    context = _new_object(Context)
    fields = context.__dict__
    fields["store"] = store
    fields["recorded"] = recorded
    fields["replaying"] = replaying
    at = recorded.__dict__.get(RECORDED_AT_TEXT)
    if at is not None:
        fields["at"] = at
    return context


class Projection(abc.ABC):
    """A read model fed by events. `apply` must only write through `conn`, or make effects
    elsewhere idempotent (see `contracts.events.derived_id`)."""

    name: ClassVar[str]
    handles: ClassVar[tuple[type[Event], ...]]
    metadata: ClassVar[sa.MetaData]
    """The projection's own tables; rebuilding empties exactly these."""
    reads_by_key: ClassVar[bool] = False
    """True when applying events reads the projection's tables by primary key only: a rebuild
    may then create the other indexes once, after the rows, instead of row by row."""
    rebuild_cost: ClassVar[float] = 1.0
    """The work of applying one of its events in a rebuild, relative to a projection that
    writes a row or two an event (~10 µs); `pishkhan replay --jobs N` shares projections out by
    it (`infra.ops.replay.share_out`)."""

    @abc.abstractmethod
    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        """Change the read model for one event."""

    def apply_batch(self, conn: sa.Connection, batch: Sequence[tuple[Any, Context]]) -> None:
        """Change the read model for consecutive events, in one transaction. One at a time
        unless a projection knows better (a sender that hands several messages over at once)."""
        for event, context in batch:
            self.apply(conn, event, context)

    @classmethod
    def type_names(cls) -> list[str]:
        """The stored type names this projection reads."""
        return [event.type_name for event in cls.handles]


class RowsProjection(Projection):
    """A projection that changes its tables through `Rows`: the rows a batch touches are read
    together (`prefetch`), changed in memory (`change`) and written together at the end, so a
    batch of hundreds of events costs a few statements instead of several per event."""

    reads_by_key = True  # `Rows` reads by primary key; `Rows.sql()` is for small side tables

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        self.apply_batch(conn, [(event, context)])

    def apply_batch(self, conn: sa.Connection, batch: Sequence[tuple[Any, Context]]) -> None:
        rows = Rows(conn)
        self.prefetch(rows, [event for event, _ in batch])
        for event, context in batch:
            self.change(rows, event, context)
        rows.flush()

    def prefetch(self, rows: Rows, events: Sequence[Any]) -> None:
        """Load the rows `events` will touch (`Rows.load`); optional, as `Rows` reads a row it
        does not know when asked for it."""

    @abc.abstractmethod
    def change(self, rows: Rows, event: Any, context: Context) -> None:
        """Change the read model's rows for one event."""


def field_of(name: str) -> Callable[[Any], Any]:
    """A function giving an event's field `name`, or None when its type has no such field (not
    `getattr`: a model's miss goes through its slow `__getattr__`, once per event of a batch)."""
    return lambda event: vars(event).get(name)


class ProjectionRunner:
    """Runs projections of one service against one store and one read-model database."""

    def __init__(
        self,
        store: EventStore,
        db: Database,
        projections: Sequence[Projection],
        *,
        batch: int = 500,
        attempts: int = 4,
        backoff: float = 0.2,
        idle_timeout: float = 1.0,
        coalesce: float = 0.02,
        events: EventRegistry = registry,
    ) -> None:
        self.store = store
        self.events = events
        self.db = db
        self.projections = list(projections)
        self.batch = batch
        self.attempts = attempts
        self.backoff = backoff
        self.idle_timeout = idle_timeout
        self.coalesce = coalesce
        self._horizon: dict[str, int] = {}
        self._checkpoint: dict[str, int] = {}
        """What this runner last read or saved; the locked row decides when another instance
        (or a rebuild) moved it, and then this is forgotten."""
        self._replayed_up_to: dict[str, int] = {}
        self._passing = threading.Lock()
        self._types = frozenset(name for projection in self.projections for name in projection.type_names())
        """What wakes this runner: the stores that can tell wake it only for these."""

    def setup(self) -> None:
        """Create the runner's and the projections' tables if they are missing."""
        with self.db.write.begin() as conn:
            lock_schema(conn)
            runner_metadata.create_all(conn)
            for projection in self.projections:
                projection.metadata.create_all(conn)
                if _read_checkpoint(conn, projection.name) is None:
                    conn.execute(
                        checkpoints_table.insert().values(name=projection.name, position=0, updated_at=_now())
                    )

    def checkpoint(self, projection: Projection) -> int:
        """The position of the last event this projection has dealt with."""
        with self.db.read.connect() as conn:
            position = _read_checkpoint(conn, projection.name) or 0
        self._checkpoint[projection.name] = position
        return position

    def run_once(self) -> int:
        """Apply everything the store holds now; return how many events were applied."""
        applied = 0
        head = self.store.last_position()
        for projection in self.projections:
            while True:
                count, more = self._advance(projection, head)
                applied += count
                if not more:
                    break
        return applied

    def run_forever(self, stop: StopSignal) -> None:
        """Apply events as they arrive until `stop` is set.

        Under a steady stream of appends, passes are at least `coalesce` seconds apart, so that
        one pass takes a burst of events instead of every service querying the store after
        every single append."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                with self._passing:
                    self.run_once()
                low = min((self._horizon.get(p.name, 0) for p in self.projections), default=0)
                self.store.wait_for_events(low, self.idle_timeout, types=self._types)
            except Exception:
                log.exception("projection runner failed; retrying")
                self._checkpoint.clear()
                time.sleep(self.backoff)
            rest = self.coalesce - (time.monotonic() - started)
            if rest > 0 and not stop.is_set():
                time.sleep(rest)

    def wait_for_pass(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a pass of `run_forever` in progress to end; False
        if it is still going."""
        if not self._passing.acquire(timeout=timeout):
            return False
        self._passing.release()
        return True

    def rebuild(self, projection: Projection) -> int:
        """Empty the projection's tables and checkpoint, then apply the whole history again."""
        with self.db.write.begin() as conn:
            replayed_up_to = _lock_checkpoint(conn, projection.name)
            for table in reversed(projection.metadata.sorted_tables):
                conn.execute(table.delete())
            _save_checkpoint(conn, projection.name, 0)
            conn.execute(parked_table.delete().where(parked_table.c.projection == projection.name))
        self._horizon.pop(projection.name, None)
        self._checkpoint.pop(projection.name, None)
        self._replayed_up_to[projection.name] = replayed_up_to
        applied = 0
        try:
            while True:
                count, more = self._advance(projection)
                applied += count
                if not more:
                    return applied
        finally:
            self._replayed_up_to.pop(projection.name, None)

    def treat_as_replayed(self, projection: Projection, up_to: int) -> None:
        """Events up to position `up_to` reach `projection` with `Context.replaying` set: they were
        applied before (by the live read model that a shadow build is replacing)."""
        self._replayed_up_to[projection.name] = up_to

    # -- one step --------------------------------------------------------------------------

    def _advance(self, projection: Projection, head: int | None = None) -> tuple[int, bool]:
        """One batch. `head` is the store's last position when the caller has just read it;
        a projection already past it has nothing to read."""
        horizon = self.store.last_position() if head is None else head
        if horizon <= self._horizon.get(projection.name, -1):
            return 0, False
        start = self.read_from(projection)
        events = self.store.read_all(start, types=projection.type_names(), limit=self.batch)
        more = len(events) == self.batch
        seen = events[-1].position if more else max(events[-1].position if events else start, horizon)
        applied = self.apply_read(projection, events, seen)
        if applied is None:
            return 0, True  # the checkpoint moved under us: read again from there
        return applied, more

    def read_from(self, projection: Projection) -> int:
        """The position after which the projection's next events are to be read.

        The checkpoint is the last event applied; the horizon may be far past it when none of
        the projection's types were appended since (the catalogue's, for one). Reading from the
        checkpoint would scan everything appended since, on every pass."""
        after = self._checkpoint.get(projection.name)
        if after is None:
            after = self.checkpoint(projection)
        return max(after, self._horizon.get(projection.name, 0))

    def apply_read(
        self,
        projection: Projection,
        events: Sequence[RecordedEvent],
        seen: int,
        decode: Callable[[RecordedEvent], Any] | None = None,
    ) -> int | None:
        """Apply `events`, read for `projection` after `read_from(projection)`: every event of
        its types up to position `seen`, in order. They go in one transaction with the
        checkpoint, or one at a time (parking what keeps failing) when that fails. Returns how
        many were applied, or None when the checkpoint had moved (another instance, a rebuild)
        and nothing was: read again. `decode` may be shared by builds reading one page."""
        name = projection.name
        after = self._checkpoint.get(name)
        if after is None:
            after = self.checkpoint(projection)
        if not events:
            self._horizon[name] = max(self._horizon.get(name, 0), seen)
            return 0
        decode = decode or self.events.decode
        try:
            with self.db.write.begin() as conn:
                if _lock_checkpoint(conn, name) != after:
                    self._checkpoint.pop(name, None)
                    self._horizon.pop(name, None)  # it was reckoned from our checkpoint
                    return None
                replayed, store = self._replayed_up_to.get(name, 0), self.store
                projection.apply_batch(
                    conn, [(decode(e), _context(store, e, e.position <= replayed)) for e in events]
                )
                _save_checkpoint(conn, name, events[-1].position)
            self._checkpoint[name] = events[-1].position
        except Exception as error:  # noqa: BLE001 - find the failing event by going one at a time
            log.warning(
                "%s: a batch of %d events failed (%s: %s); applying them one at a time",
                name,
                len(events),
                type(error).__name__,
                str(error).split("\n", 1)[0][:200],
            )
            self._checkpoint.pop(name, None)
            previous = after
            for recorded in events:
                if not self._apply_alone(projection, recorded, previous):
                    return None
                previous = recorded.position
        self._horizon[name] = max(events[-1].position, seen)
        return len(events)

    def _decoded(
        self,
        projection: Projection,
        recorded: RecordedEvent,
        decode: Callable[[RecordedEvent], Any] | None = None,
    ) -> tuple[Any, Context]:
        replaying = recorded.position <= self._replayed_up_to.get(projection.name, 0)
        return (decode or self.events.decode)(recorded), _context(self.store, recorded, replaying)

    def _apply(self, conn: sa.Connection, projection: Projection, recorded: RecordedEvent) -> None:
        projection.apply(conn, *self._decoded(projection, recorded))

    def _apply_alone(self, projection: Projection, recorded: RecordedEvent, previous: int) -> bool:
        """Apply one event whose predecessor is at `previous`; False when the checkpoint is not
        there any more. Transient failures are retried without end (capped back-off); any other
        failure is retried `attempts` times, then the event is parked."""
        error, attempt, transient_waits = "", 0, 0
        while attempt < self.attempts:
            try:
                with self.db.write.begin() as conn:
                    if _lock_checkpoint(conn, projection.name) != previous:
                        return False
                    self._apply(conn, projection, recorded)
                    _save_checkpoint(conn, projection.name, recorded.position)
                return True
            except TRANSIENT_ERRORS:
                transient_waits += 1
                log.warning("%s: transient failure on %s; retrying", projection.name, recorded.id)
                time.sleep(min(self.backoff * 2 ** min(transient_waits, 10), MAX_TRANSIENT_WAIT))
            except Exception:  # noqa: BLE001 - retried, then parked with its trace
                attempt += 1
                error = traceback.format_exc()
                log.warning("%s failed on %s (attempt %d)", projection.name, recorded.id, attempt)
                if attempt < self.attempts:
                    time.sleep(self.backoff * 2 ** (attempt - 1))
        with self.db.write.begin() as conn:
            if _lock_checkpoint(conn, projection.name) != previous:
                return False
            conn.execute(
                parked_table.insert().values(
                    projection=projection.name,
                    position=recorded.position,
                    event_id=str(recorded.id),
                    event_type=recorded.type,
                    error=error,
                    attempts=self.attempts,
                    parked_at=_now(),
                )
            )
            _save_checkpoint(conn, projection.name, recorded.position)
        log.error("%s parked event %s at %d", projection.name, recorded.id, recorded.position)
        return True

    def parked(self, projection: str | None = None) -> list[dict[str, Any]]:
        """Parked events, oldest first."""
        query = sa.select(parked_table).order_by(parked_table.c.id)
        if projection is not None:
            query = query.where(parked_table.c.projection == projection)
        with self.db.read.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


def parked_counts(db: Database, service: str | None = None) -> dict[str, int]:
    """How many events each projection of this read-model database has parked (only those with
    any; with `service`, only its projections, named `<service>.…`, as services may share one
    database): a parked event is an incident, which health checks report
    (`nameko_glue.health_rpc`)."""
    query = sa.select(parked_table.c.projection, sa.func.count()).group_by(parked_table.c.projection)
    if service is not None:
        query = query.where(parked_table.c.projection.startswith(f"{service}.", autoescape=True))
    with db.read.connect() as conn:
        if not sa.inspect(conn).has_table(parked_table.name):
            return {}  # no runner has set this database up yet: nothing parked
        return {str(name): int(count) for name, count in conn.execute(query)}


_new_object = object.__new__


def _now() -> str:
    return datetime.now(UTC).isoformat()


def caught_up(db_read: sa.Engine, name: str, position: int, timeout: float, every: float = 0.02) -> bool:
    """Wait up to `timeout` seconds for projection `name` to have dealt with the event at
    `position` (its checkpoint reached it): a command that must see what was recorded a moment
    ago, before its read model shows it. True once it has."""
    deadline = time.monotonic() + timeout
    while True:
        with db_read.connect() as conn:
            if (_read_checkpoint(conn, name) or 0) >= position:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)


# Built once: each pass of a runner makes these (building one costs about as much as running it).
_READ_CHECKPOINT = sa.select(checkpoints_table.c.position).where(
    checkpoints_table.c.name == sa.bindparam("projection")
)
_LOCK_CHECKPOINT = _READ_CHECKPOINT.with_for_update()
_SAVE_CHECKPOINT = (
    checkpoints_table.update()
    .where(checkpoints_table.c.name == sa.bindparam("projection"))
    .values(position=sa.bindparam("position"), updated_at=sa.bindparam("at"))
)


def _read_checkpoint(conn: sa.Connection, name: str) -> int | None:
    value = conn.execute(_READ_CHECKPOINT, {"projection": name}).scalar()
    return None if value is None else int(value)


def _lock_checkpoint(conn: sa.Connection, name: str) -> int:
    """The checkpoint, locked until the transaction ends, so that two instances of a service
    never apply the same events (SQLite's writer already holds the database lock)."""
    query = _READ_CHECKPOINT if conn.dialect.name == "sqlite" else _LOCK_CHECKPOINT
    return int(conn.execute(query, {"projection": name}).scalar_one())


def _save_checkpoint(conn: sa.Connection, name: str, position: int) -> None:
    conn.execute(_SAVE_CHECKPOINT, {"projection": name, "position": position, "at": _now()})


def start_in_thread(runner: ProjectionRunner) -> tuple[threading.Thread, threading.Event]:
    """Run `runner` in a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=runner.run_forever, args=(stop,), daemon=True)
    thread.start()
    return thread, stop
