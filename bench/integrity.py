"""`pishkhan integrity` over a long history, beside a raw SQL read of the same rows.

    .venv/bin/python -m bench.integrity [--events 100000]

Writes a realistic history (bench/history.py) into a scratch PostgreSQL store as events stored
before the chains (no hashes, no links), settles it (VACUUM ANALYZE, CHECKPOINT), then times
`integrity --backfill` (every stream chained and every event linked store-wide, one pass and
batched updates), `integrity` (one ordered pass over `$all` recomputing every hash and link,
infra/ops/integrity.py) and, beside them, one plain `SELECT … ORDER BY position` of every row
(server-side cursor): the floor no check can beat. Target: `integrity` ≥ 50,000 events/s.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bench.common import emit, log, machine
from bench.replay import fill, raw_read
from infra.eventstore.sql import SqlEventStore
from infra.ops import integrity

TARGET_EVENTS_PER_S = 50_000


def timed_check(url: str) -> dict[str, Any]:
    """`integrity.check` of the whole store, as `pishkhan integrity` runs it."""
    store = SqlEventStore(url)
    try:
        began = time.perf_counter()
        report = integrity.check(store)
        seconds = time.perf_counter() - began
    finally:
        store.close()
    assert not report.findings, [f.describe() for f in report.findings[:3]]
    return {
        "events": report.events,
        "seconds": round(seconds, 2),
        "events_per_s": round(report.events / seconds, 1),
    }


def timed_backfill(url: str) -> dict[str, Any]:
    """`integrity --backfill` of a store whose events carry no hash and no link yet."""
    store = SqlEventStore(url)
    try:
        began = time.perf_counter()
        changed = integrity.backfill(store)
        seconds = time.perf_counter() - began
        with store.engine.connect() as conn:
            settle = conn.execution_options(isolation_level="AUTOCOMMIT")
            settle.execute(sa.text("VACUUM ANALYZE"))
    finally:
        store.close()
    return {"events": changed, "seconds": round(seconds, 2), "events_per_s": round(changed / seconds, 1)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.integrity", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="about this many events")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from tests.pg import scratch_database

    args = parse_args(argv)
    began = time.perf_counter()
    summary: dict[str, Any] = {"benchmark": "integrity", "machine": machine()}
    with scratch_database("pishkhan_bench") as url:
        log(f"writing about {args.events} events …")
        summary["history"] = fill(url, args.events)
        log("integrity --backfill …")
        summary["backfill"] = timed_backfill(url)
        log("integrity …")
        summary["integrity"] = timed_check(url)
        log("raw read …")
        summary["raw_sql_read"] = raw_read(url)
    summary["integrity_to_raw_ratio"] = round(
        summary["integrity"]["events_per_s"] / summary["raw_sql_read"]["events_per_s"], 3
    )
    summary["target_events_per_s"] = TARGET_EVENTS_PER_S
    summary["met"] = summary["integrity"]["events_per_s"] >= TARGET_EVENTS_PER_S
    summary["elapsed_s"] = round(time.perf_counter() - began, 1)
    emit(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
