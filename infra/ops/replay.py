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


@dataclass
class _Build:
    """One projection built by a runner of its own (into a shadow, or scratch tables), beside
    the live runner whose applied events it must not make effects of again."""

    projection: Projection
    runner: ProjectionRunner
    live: ProjectionRunner | None
    start: int = 0
    applied: int = 0
    types: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.types = frozenset(self.projection.type_names())


def _build_together(store: EventStore, builds: Sequence[_Build], batch: int, progress: Progress) -> None:
    """Advance every build until it has caught up with the store's head, reading the history
    once for all of them: each page holds the events of any of their types, each event is
    decoded once, and each build applies its own events in its own transaction (so each keeps
    its own checkpoint, and resumes from it after an interruption). `progress` shows the
    position the builds have all reached and the events they applied."""
    types = sorted(frozenset().union(*(build.types for build in builds)))
    while True:
        for build in builds:
            if build.live is not None:  # re-read: the live runner moves on while we build
                build.runner.treat_as_replayed(build.projection, build.live.checkpoint(build.projection))
        head = store.last_position()
        starts = [build.runner.read_from(build.projection) for build in builds]
        start = min(starts, default=head)
        page = store.read_all(start, types=types, limit=batch)
        more = len(page) == batch
        seen = page[-1].position if more else max(page[-1].position if page else start, head)
        decode = _decoding_once(builds[0].runner) if len(builds) > 1 else None
        moved = False
        for build, mine in zip(builds, _routed(page, builds, starts), strict=True):
            applied = build.runner.apply_read(build.projection, mine, seen, decode)
            if applied is None:
                moved = True  # its checkpoint moved: the next page starts from where it is
                continue
            build.applied += applied
        reached = min(build.runner.read_from(build.projection) for build in builds)
        progress.update(reached, sum(build.applied for build in builds))
        if not (more or moved):
            return


def _routed(
    page: Sequence[RecordedEvent], builds: Sequence[_Build], starts: Sequence[int]
) -> list[list[RecordedEvent]]:
    """Each build's events of `page` (those of its types after its start), in one pass over the
    page: each event goes to the builds that read its type, found once per type."""
    routes: list[list[RecordedEvent]] = [[] for _ in builds]
    by_type: dict[str, list[tuple[int, list[RecordedEvent]]]] = {}
    for event in page:
        targets = by_type.get(event.type)
        if targets is None:
            targets = by_type[event.type] = [
                (after, route)
                for build, after, route in zip(builds, starts, routes, strict=True)
                if event.type in build.types
            ]
        position = event.position
        for after, route in targets:
            if position > after:
                route.append(event)
    return routes


def _decoding_once(runner: ProjectionRunner) -> Callable[[RecordedEvent], object]:
    """The runner's decoding, each event of a page decoded once however many builds apply it
    (events are frozen models, so the builds can share them)."""
    decoded: dict[int, object] = {}
    decode = runner.events.decode

    def once(recorded: RecordedEvent) -> object:
        event = decoded.get(recorded.position)
        if event is None:
            event = decoded[recorded.position] = decode(recorded)
        return event

    return once


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
    return replay_projections(store, [(live_db, projection)], fresh=fresh, batch=batch, out=out)[0]


def replay_projections(
    store: EventStore,
    targets: Sequence[tuple[Database, Projection]],
    *,
    fresh: bool = False,
    batch: int = REPLAY_BATCH,
    out: TextIO | None = None,
) -> list[ReplayResult]:
    """Rebuild each (live read-model database, projection) into its shadow from one reading of
    the history, then switch each in; resumes interrupted builds unless `fresh`."""
    shadows: dict[str, Shadow] = {}
    builds: list[_Build] = []
    try:
        for live_db, projection in targets:
            live = ProjectionRunner(store, live_db, [projection])
            live.setup()
            shadow = shadows.get(live_db.url)
            if shadow is None:
                shadow = shadows[live_db.url] = Shadow(live_db.url)
            if fresh:
                shadow.discard(projection)
            runner = ProjectionRunner(store, shadow.db, [projection], batch=batch)
            runner.setup()
            shadow.hold_back_indexes(projection)
            builds.append(_Build(projection, runner, live, runner.checkpoint(projection)))
        names = [build.projection.name for build in builds]
        label = names[0] if len(names) == 1 else f"{len(names)} read models"
        start = min((build.start for build in builds), default=0)
        progress = Progress(label, store.last_position(), start=start, out=out)
        _build_together(store, builds, batch, progress)
        progress.total = max(progress.total, store.last_position())
        _build_together(store, builds, batch, progress)  # what arrived meanwhile
        progress.finish()
        results = []
        for (live_db, _), build in zip(targets, builds, strict=True):
            shadow = shadows[live_db.url]
            shadow.build_indexes(build.projection)
            switched_at = shadow.switch(build.projection, live_db)
            results.append(ReplayResult(build.projection.name, build.start, build.applied, switched_at))
        return results
    finally:
        for shadow in shadows.values():
            shadow.dispose()


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


def run_group(
    jobs: Sequence[ReplayJob], find: Callable[[str], Projection], quiet: bool = False
) -> list[JobDone]:
    """Replay the jobs' projections from one reading of their store (`replay_projections`),
    with the group's own store and database connections; `quiet` keeps the progress bars off
    stderr. Every job of a group has the same store, `fresh` and `batch`."""
    started = time.monotonic()
    out = io.StringIO() if quiet else None
    first = jobs[0]
    store = open_store(first.store_url)
    databases = {url: Database(url) for url in dict.fromkeys(job.db_url for job in jobs)}
    try:
        targets = [(databases[job.db_url], find(job.projection)) for job in jobs]
        with _collecting_less_often():
            results = replay_projections(store, targets, fresh=first.fresh, batch=first.batch, out=out)
    finally:
        for db in databases.values():
            db.dispose()
        store.close()
    seconds = time.monotonic() - started
    return [JobDone(job, result, seconds) for job, result in zip(jobs, results, strict=True)]


def run_job(job: ReplayJob, find: Callable[[str], Projection], quiet: bool = False) -> JobDone:
    """Replay one projection with its own store and database connections."""
    return run_group([job], find, quiet)[0]


def run_jobs(
    jobs: Sequence[ReplayJob], find: Callable[[str], Projection], *, width: int = 1, quiet: bool = False
) -> Iterator[JobDone]:
    """Replay the jobs in at most `width` groups, each reading the history once for all its
    projections, the groups at once in worker processes (each projection has its own tables
    and checkpoint, so the groups are independent); yields each job as its group finishes.
    `find` maps a projection's name to a new instance and must be importable by name."""
    groups = share_out(jobs, find, max(width, 1))
    if len(groups) <= 1:
        for group in groups:
            yield from run_group(group, find, quiet)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(groups), mp_context=context) as pool:
        futures = [pool.submit(run_group, group, find, quiet) for group in groups]
        for future in as_completed(futures):
            yield from future.result()


READ_COST = 2.0
"""Reading and decoding one stored event, in the units of `Projection.rebuild_cost` (applying
one in a projection that writes a row or two: 1); measured ~20 µs against ~10 µs. A group pays
it once for an event however many of its projections read it."""


def share_out(
    jobs: Sequence[ReplayJob], find: Callable[[str], Projection], width: int
) -> list[list[ReplayJob]]:
    """`jobs` in at most `width` groups of about equal work: heaviest job first, each to the
    group it leaves lightest, where reading the types a group already reads costs nothing more
    (so projections of the same events tend to share a reading). A job's work is the stored
    events of its types, each read (`READ_COST`) and applied (`Projection.rebuild_cost`). Only
    jobs with the same store, `fresh` and `batch` share a group."""
    counts = _type_counts(jobs)
    types = {job: frozenset(find(job.projection).type_names()) for job in jobs}
    rebuild = {job: find(job.projection).rebuild_cost for job in jobs}

    def work(job: ReplayJob, already_read: frozenset[str]) -> float:
        known = counts[job.store_url]
        events = {name: known.get(name, 0) for name in types[job]} if known else {"": 1}
        unread = sum(count for name, count in events.items() if name not in already_read)
        return unread * READ_COST + sum(events.values()) * rebuild[job]

    alone = {job: work(job, frozenset()) for job in jobs}
    groups: list[list[ReplayJob]] = []
    loads: list[float] = []
    read: list[frozenset[str]] = []
    for job in sorted(jobs, key=alone.__getitem__, reverse=True):
        choices = [
            (loads[i] + work(job, read[i]), i)
            for i, group in enumerate(groups)
            if (group[0].store_url, group[0].fresh, group[0].batch) == (job.store_url, job.fresh, job.batch)
        ]
        if len(groups) < width or not choices:
            choices.append((alone[job], len(groups)))
        load, chosen = min(choices)
        if chosen == len(groups):
            groups.append([])
            loads.append(0.0)
            read.append(frozenset())
        groups[chosen].append(job)
        loads[chosen] = load
        read[chosen] |= types[job]
    return groups


def largest_first(jobs: Sequence[ReplayJob], find: Callable[[str], Projection]) -> list[ReplayJob]:
    """`jobs` ordered by the work of rebuilding each alone (stored events of its types, each
    read and applied: `share_out`), heaviest first (stable: equal work keeps their order)."""
    counts = _type_counts(jobs)

    def work(job: ReplayJob) -> float:
        projection, known = find(job.projection), counts[job.store_url]
        events = sum(known.get(name, 0) for name in projection.type_names()) if known else 1
        return events * (READ_COST + projection.rebuild_cost)

    return sorted(jobs, key=work, reverse=True)


def _type_counts(jobs: Sequence[ReplayJob]) -> dict[str | None, dict[str, int]]:
    """Each job's store → its stored events by type ({} when the store cannot count them)."""
    counts: dict[str | None, dict[str, int]] = {}
    for url in {job.store_url for job in jobs}:
        store = open_store(url)
        try:
            count = getattr(store, "type_counts", None)
            counts[url] = count() if callable(count) else {}
        finally:
            store.close()
    return counts


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
                progress = Progress(f"verify {projection.name}", position, out=out)
                _build_together(bounded, [_Build(projection, runner, None)], runner.batch, progress)
                with scratch.db.read.connect() as scratch_conn:
                    tables, difference = compare_tables(
                        live_conn, scratch_conn, projection.metadata.sorted_tables
                    )
    finally:
        scratch.drop()
    return VerifyResult(projection.name, position, tables, difference)
