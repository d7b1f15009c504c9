"""Rebuilding every read model from a long history, beside a raw SQL read of the same rows.

    .venv/bin/python -m bench.replay [--events 1000000] [--batch 2000] [--jobs NPROC]

Writes a realistic history (bench/history.py: tracking codes, submissions, SMS life cycles,
registration numbers, replies; 7.4 events per request on average) into a scratch PostgreSQL store,
settles it as a store in service is (VACUUM ANALYZE, CHECKPOINT: otherwise the replay also pays
for the write's aftermath, hint bits, the checkpoint and autovacuum of a million new rows),
marks every live read model as caught up with it (as on a running desk), then times what
`pishkhan replay` does for every service's read models: a rebuild into shadow tables from
position 0 and the switch-over (infra/ops/replay.replay_projection). Beside it: one plain
`SELECT … ORDER BY position` of every stored row (server-side cursor), the floor no replay can
beat. Target: ≥ 50,000 events/s over all read models (≥ 0.2× the raw read).

The projections are shared out into `--jobs` groups, each reading the history once for all its
projections (`infra.ops.replay.run_jobs`): a projection's `seconds` are its group's.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bench import history
from bench.common import emit, log, machine
from infra.db import Database, make_engine
from infra.eventstore import open_store
from infra.eventstore.schema import events_table
from infra.ops.replay import REPLAY_BATCH, ReplayJob, run_jobs
from infra.projections import ProjectionRunner, checkpoints_table

TARGET_EVENTS_PER_S = 50_000


def fill(url: str, events: int) -> dict[str, Any]:
    """A migrated store holding about `events` events; how long writing them took."""
    open_store(url).close()  # creates and migrates the store's tables
    requests = max(1, round(events / history.events_per_request()))
    engine = make_engine(url)
    try:
        began = time.perf_counter()
        written = history.write(engine, requests)
        seconds = time.perf_counter() - began
        with engine.connect() as conn:  # settled, as autovacuum and checkpoints leave a store
            settle = conn.execution_options(isolation_level="AUTOCOMMIT")
            settle.execute(sa.text("VACUUM ANALYZE"))
            settle.execute(sa.text("CHECKPOINT"))
    finally:
        engine.dispose()
    return {"requests": requests, "events": written, "seconds": round(seconds, 1)}


def live_at_head(url: str) -> int:
    """Every projection of every service (and the notify sender, which a replay never touches)
    set up with its checkpoint at the head, as on a desk that has seen the whole history: so a
    replay treats every event as already applied and makes no effects (SMS) again."""
    from services.read_models import read_models

    store = open_store(url)
    db = Database(url)
    try:
        head = store.last_position()
        for projections in read_models().values():
            ProjectionRunner(store, db, projections).setup()
        with db.write.begin() as conn:
            conn.execute(checkpoints_table.update().values(position=head))
            names = set(conn.execute(sa.select(checkpoints_table.c.name)).scalars())
            if "notify.sender" not in names:
                conn.execute(
                    checkpoints_table.insert().values(name="notify.sender", position=head, updated_at="bench")
                )
        return head
    finally:
        db.dispose()
        store.close()


def replay_all(url: str, batch: int, jobs: int) -> dict[str, Any]:
    """`pishkhan replay --jobs N` of every read model; per projection and in total."""
    from services.read_models import projection_named, read_models

    work = [
        ReplayJob(service, projection.name, url, url, fresh=True, batch=batch)
        for service, projections in read_models().items()
        for projection in projections
    ]
    per_projection: dict[str, Any] = {}
    began = time.perf_counter()
    for done in run_jobs(work, projection_named, width=jobs, quiet=True):
        applied, seconds = done.result.applied, done.seconds
        per_projection[done.result.projection] = {
            "applied": applied,
            "seconds": round(seconds, 2),
            "applied_per_s": round(applied / seconds, 1) if seconds else None,
        }
        log(f"  {done.result.projection}: {per_projection[done.result.projection]}")
    return {"seconds": round(time.perf_counter() - began, 2), "jobs": jobs, "projections": per_projection}


def raw_read(url: str) -> dict[str, Any]:
    """Every stored row, in position order, through a server-side cursor."""
    engine = make_engine(url)
    try:
        began = time.perf_counter()
        count = 0
        with engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(
                sa.select(events_table).order_by(events_table.c.position)
            )
            for partition in result.partitions():
                count += len(partition)
        seconds = time.perf_counter() - began
    finally:
        engine.dispose()
    return {"events": count, "seconds": round(seconds, 2), "events_per_s": round(count / seconds, 1)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="about this many events")
    parser.add_argument("--batch", type=int, default=REPLAY_BATCH, help="events per batch (as the CLI)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="projections rebuilt at once")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from tests.pg import scratch_database

    args = parse_args(argv)
    began = time.perf_counter()
    summary: dict[str, Any] = {"benchmark": "replay", "machine": machine()}
    with scratch_database("pishkhan_bench") as url:
        log(f"writing about {args.events} events …")
        summary["history"] = fill(url, args.events)
        log(f"  {summary['history']}")
        live_at_head(url)
        log("replaying every read model …")
        rebuilt = replay_all(url, args.batch, args.jobs)
        log("raw read …")
        raw = raw_read(url)
    events = summary["history"]["events"]
    summary["replay"] = {**rebuilt, "events_per_s": round(events / rebuilt["seconds"], 1)}
    summary["raw_sql_read"] = raw
    summary["replay_to_raw_ratio"] = round(summary["replay"]["events_per_s"] / raw["events_per_s"], 3)
    summary["target_events_per_s"] = TARGET_EVENTS_PER_S
    summary["met"] = summary["replay"]["events_per_s"] >= TARGET_EVENTS_PER_S
    summary["elapsed_s"] = round(time.perf_counter() - began, 1)
    emit(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
