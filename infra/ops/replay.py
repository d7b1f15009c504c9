"""`replay` and `verify`: rebuild projections from position 0 beside the live read models.

`replay` builds each projection into its shadow (see `infra.ops.shadow`), resuming an
interrupted build from the shadow's own checkpoint, catches up with the store's head and
switches the shadow in. Events the live read model had already applied reach the projection
with `Context.replaying` set, so effects outside the read model (an SMS) are not made again;
the notify sender is no read model and is never replayed (`services.read_models`).

`verify` builds into a scratch shadow up to exactly the live checkpoint, read inside one
snapshot of the live database, and compares the two table by table.
"""

from __future__ import annotations

import contextlib
import gc
import io
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TextIO

import sqlalchemy as sa

from contracts.envelope import AppendResult, ExpectedVersion, NewEvent, RecordedEvent, StreamState
from contracts.eventstore import EventStore
from infra.db import Database
from infra.eventstore import open_store
from infra.ops.compare import Difference, TableSummary, compare_tables
from infra.ops.progress import Progress
from infra.ops.shadow import Shadow
from infra.projections import Projection, ProjectionRunner, checkpoints_table

REPLAY_BATCH = 10_000
"""Events per transaction of a rebuild: larger than a live runner's, as nothing waits on it
(rebuilding notify.status from 567,567 events: 23–27 s in batches of 2,000, 20–21 s of 10,000)."""


@dataclass(frozen=True)
class ReplayResult:
    """One projection's replay: where its build started, how many events it applied, and the
    checkpoint the live read model continues from after the switch."""

    projection: str
    resumed_from: int
    applied: int
    switched_at: int


def _build(
    runner: ProjectionRunner,
    projection: Projection,
    live: ProjectionRunner | None,
    progress: Progress,
    applied: int = 0,
) -> int:
    """Advance the shadow build until it has caught up with the store's head."""
    while True:
        if live is not None:  # re-read: the live runner moves on while we build
            runner.treat_as_replayed(projection, live.checkpoint(projection))
        count, more = runner.advance(projection)
        applied += count
        progress.update(runner.checkpoint(projection), applied)
        if not more:
            return applied


def replay_projection(
    store: EventStore,
    live_db: Database,
    projection: Projection,
    *,
    fresh: bool = False,
    batch: int = REPLAY_BATCH,
    out: TextIO | None = None,
) -> ReplayResult:
    """Rebuild `projection` into its shadow and switch it in; resumes an interrupted build
    unless `fresh`."""
    live = ProjectionRunner(store, live_db, [projection])
    live.setup()
    shadow = Shadow(live_db.url)
    try:
        if fresh:
            shadow.discard(projection)
        runner = ProjectionRunner(store, shadow.db, [projection], batch=batch)
        runner.setup()
        shadow.hold_back_indexes(projection)
        start = runner.checkpoint(projection)
        progress = Progress(projection.name, store.last_position(), start=start, out=out)
        applied = _build(runner, projection, live, progress)
        progress.total = max(progress.total, store.last_position())
        applied = _build(runner, projection, live, progress, applied)  # what arrived meanwhile
        shadow.build_indexes(projection)
        progress.finish()
        switched_at = shadow.switch(projection, live_db)
    finally:
        shadow.dispose()
    return ReplayResult(projection.name, start, applied, switched_at)


@dataclass(frozen=True)
class ReplayJob:
    """One projection to rebuild, by name, so that a worker process can find it."""

    service: str
    projection: str
    store_url: str | None
    """None: the configured store (`EVENTSTORE_URL`)."""
    db_url: str
    fresh: bool = False
    batch: int = REPLAY_BATCH


@dataclass(frozen=True)
class JobDone:
    """A finished job with its result and its wall-clock seconds."""

    job: ReplayJob
    result: ReplayResult
    seconds: float


YOUNG_GENERATION = 50_000
"""Allocations between two collections of the garbage collector's youngest generation during a
replay (Python's default: 700). A batch keeps thousands of events, models and rows alive, and
each collection looked at them again until they were promoted: rebuilding the cartable from
297,297 events took 38–41 s with the default, 28–31 s with this, at the same peak memory
(113 MB). A running service showed no difference, so only replays change it."""


@contextlib.contextmanager
def _collecting_less_often() -> Iterator[None]:
    """Within the block, what was alive before it (modules, schemas, pools) is frozen out of the
    collector's sight and the young generation is collected every `YOUNG_GENERATION`
    allocations; both are undone afterwards."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def run_job(job: ReplayJob, find: Callable[[str], Projection], quiet: bool = False) -> JobDone:
    """Replay one projection with its own store and database connections; `quiet` keeps its
    progress bar off stderr."""
    started = time.monotonic()
    out = io.StringIO() if quiet else None
    store = open_store(job.store_url)
    db = Database(job.db_url)
    try:
        projection = find(job.projection)
        with _collecting_less_often():
            result = replay_projection(store, db, projection, fresh=job.fresh, batch=job.batch, out=out)
    finally:
        db.dispose()
        store.close()
    return JobDone(job, result, time.monotonic() - started)


def run_jobs(
    jobs: Sequence[ReplayJob], find: Callable[[str], Projection], *, width: int = 1, quiet: bool = False
) -> Iterator[JobDone]:
    """Replay each job, `width` at a time in worker processes (each projection has its own
    tables and checkpoint, so their builds are independent); yields each as it finishes.
    `find` maps a projection's name to a new instance and must be importable by name."""
    if width <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield run_job(job, find, quiet)
        return
    jobs = largest_first(jobs, find)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(width, len(jobs)), mp_context=context) as pool:
        futures = [pool.submit(run_job, job, find, quiet) for job in jobs]
        for future in as_completed(futures):
            yield future.result()


def largest_first(jobs: Sequence[ReplayJob], find: Callable[[str], Projection]) -> list[ReplayJob]:
    """`jobs` ordered by how many stored events each projection reads, most first, when the store
    can count them by type (else as given): a pool of workers then ends its builds together
    instead of ending with one long build running alone (in the services' order the largest
    builds came last)."""
    counts: dict[str | None, dict[str, int]] = {}
    for url in {job.store_url for job in jobs}:
        store = open_store(url)
        try:
            count = getattr(store, "type_counts", None)
            counts[url] = count() if callable(count) else {}
        finally:
            store.close()

    def weight(job: ReplayJob) -> int:
        known = counts[job.store_url]
        return sum(known.get(name, 0) for name in find(job.projection).type_names())

    return sorted(jobs, key=weight, reverse=True)  # stable: equal weights keep their order


class BoundedStore(EventStore):
    """The store as it was at position `until`: a scratch build stops exactly there."""

    def __init__(self, inner: EventStore, until: int) -> None:
        self.inner, self.until = inner, until

    def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: ExpectedVersion = StreamState.ANY
    ) -> AppendResult:
        return self.inner.append(stream, events, expected_version)

    def read_stream(
        self,
        stream: str,
        from_revision: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        return self.inner.read_stream(stream, from_revision, backwards=backwards, limit=limit)

    def read_all(
        self, after: int = 0, *, types: Iterable[str] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        return [e for e in self.inner.read_all(after, types=types, limit=limit) if e.position <= self.until]

    def wait_for_events(self, after: int, timeout: float, types: Iterable[str] | None = None) -> bool:
        return False

    def last_position(self) -> int:
        return min(self.inner.last_position(), self.until)

    def stream_version(self, stream: str) -> int | None:
        return self.inner.stream_version(stream)

    def delete_stream(self, stream: str) -> None:
        raise NotImplementedError("a bounded view of the store is read-only")

    def truncate_stream(self, stream: str, before_revision: int) -> None:
        raise NotImplementedError("a bounded view of the store is read-only")


@dataclass(frozen=True)
class VerifyResult:
    """The comparison of one projection's live tables with a scratch rebuild at `position`."""

    projection: str
    position: int
    tables: list[tuple[TableSummary, TableSummary]]
    difference: Difference | None


def verify_projection(
    store: EventStore, live_db: Database, projection: Projection, *, out: TextIO | None = None
) -> VerifyResult:
    """Rebuild `projection` into scratch tables up to the live checkpoint and compare."""
    ProjectionRunner(store, live_db, [projection]).setup()
    scratch = Shadow(live_db.url, label=f"verify_{os.getpid()}")
    try:
        with live_db.read.connect() as live_conn:
            if live_conn.dialect.name == "postgresql":
                live_conn = live_conn.execution_options(isolation_level="REPEATABLE READ")
            with live_conn.begin():
                # The first read fixes the snapshot: the tables below are at exactly this position.
                position = int(
                    live_conn.execute(
                        sa.select(checkpoints_table.c.position).where(
                            checkpoints_table.c.name == projection.name
                        )
                    ).scalar_one()
                )
                bounded = BoundedStore(store, position)
                runner = ProjectionRunner(bounded, scratch.db, [projection])
                runner.setup()
                runner.treat_as_replayed(projection, position)
                _build(runner, projection, None, Progress(f"verify {projection.name}", position, out=out))
                with scratch.db.read.connect() as scratch_conn:
                    tables, difference = compare_tables(
                        live_conn, scratch_conn, projection.metadata.sorted_tables
                    )
    finally:
        scratch.drop()
    return VerifyResult(projection.name, position, tables, difference)
