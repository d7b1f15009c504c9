"""Event-store throughput against a raw INSERT ceiling, on SQLite and PostgreSQL.

Run from the repository root:

    .venv/bin/python -m bench.eventstore [--events N] [--backends sqlite,postgresql]

For each backend and writer count (1, 4, 16) it times `store.append` (one event per append,
one `SqlEventStore` shared by all writer threads) and, beside it, plain single-row INSERT
transactions into a table with the same columns and indexes as `es_events` (same engine
factory, so the same SQLite pragmas and PostgreSQL driver; no ordering lock: the ceiling).
It then times a catch-up read of every appended event through `subscribe_all(0)`, and during
the 16-writer store run a subscriber thread checks that it sees every committed event exactly
once, in strictly increasing position order. Progress goes to stderr; stdout gets one JSON line.

With `--peer`, the `eventsourcing` library (9.5, psycopg 3 binary; installed on first use into
its own virtualenv, var/peer-eventsourcing) does the same on its own scratch database of the
same PostgreSQL server, run by bench/peer_eventsourcing.py: the same events, one an append, at
each writer count right after ours, then its catch-up read right after ours
(`select_notifications`, pages of 1,000, each state JSON-decoded): a shared machine's load
changes by the minute. The line then gives its figures and ours over them
(`peer.append_ratio`, `peer.catch_up_ratio`; our catch-up is pages of 1,000 of fully decoded
events).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from contracts.envelope import NewEvent, StreamState
from contracts.eventstore import EventStore
from infra.db import is_sqlite, make_engine
from infra.eventstore import open_store

BACKENDS = ("sqlite", "postgresql")
WRITER_COUNTS = (1, 4, 16)
DEFAULT_EVENTS = 6000  # ~75 s for both backends on the 2-core reference machine
STREAMS_PER_WRITER = 50
WARMUP_PER_WRITER = 2
NO_SKIP_WRITERS = 16
SUBSCRIBER_DRAIN_TIMEOUT = 30.0
POOL_SIZE = 20  # what `open_store` gives `SqlEventStore`
CATCH_UP_PASSES = 3
"""Catch-up reads of everything, the fastest reported (one lasts well under a second: a passing
burst on a shared machine would decide a single one); the peer does the same."""

raw_metadata = sa.MetaData()

raw_events_table = sa.Table(
    "bench_raw_events",
    raw_metadata,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),  # bigserial / INTEGER PRIMARY KEY
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("stream", sa.String(255), nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("correlation_id", sa.String(36), nullable=False),
    sa.Column("causation_id", sa.String(36)),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.UniqueConstraint("stream", "revision", name="uq_bench_raw_stream_revision"),
    sa.Index("ix_bench_raw_type_position", "type", "position"),
    sa.Index("ix_bench_raw_correlation", "correlation_id"),
)


# -- payload -------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    """The same JSON encoding the store uses for `data` and `metadata`."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def make_event(writer: int, index: int) -> NewEvent:
    """A realistic ~300-byte (UTF-8) Persian service-request event."""
    data = {
        "request_no": f"{writer:02d}-{index:06d}",
        "citizen": "زهرا احمدی",
        "subject": "درخواست ترمیم آسفالت کوچه",
        "description": "چاله بزرگ در ابتدای کوچه باعث آسیب به خودروها شده است.",
        "district": "منطقه ۳",
        "channel": "پیشخوان",
        "priority": "عادی",
    }
    return NewEvent(
        type="ServiceRequestSubmitted",
        data=data,
        metadata={"actor": "bench", "writer": writer},
    )


def payload_bytes() -> int:
    """UTF-8 size of one event's `data` as stored."""
    return len(_dumps(make_event(0, 0).data).encode())


def stream_name(tag: str, writer: int, index: int) -> str:
    """Each writer spreads its appends over its own `STREAMS_PER_WRITER` streams."""
    return f"bench-{tag}-{writer}-{index % STREAMS_PER_WRITER}"


def raw_row(tag: str, writer: int, index: int) -> dict[str, Any]:
    """The row the store would write for the same append (position left to the database)."""
    event = make_event(writer, index)
    return {
        "event_id": str(event.id),
        "stream": stream_name(tag, writer, index),
        "revision": index // STREAMS_PER_WRITER,
        "type": event.type,
        "version": event.version,
        "data": _dumps(event.data),
        "metadata": _dumps(event.metadata),
        "correlation_id": str(event.correlation),
        "causation_id": None,
        "recorded_at": datetime.now(UTC).isoformat(),
    }


# -- running writer threads ----------------------------------------------------------------

Operation = Callable[[int, int], int | None]
"""`operation(writer, index)`: one timed unit of work; may return a `$all` position."""


@dataclass
class WriterLog:
    """What one writer thread did."""

    positions: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    error: BaseException | None = None


@dataclass
class RunResult:
    """One timed run of `writers` threads doing `operations` operations in total."""

    writers: int
    operations: int
    seconds: float
    positions: list[int]
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds

    def latency_ms(self, quantile: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def _writer(
    operation: Operation, writer: int, count: int, barrier: threading.Barrier, log: WriterLog
) -> None:
    try:
        for index in range(WARMUP_PER_WRITER):
            _record(log, operation, writer, index)
        barrier.wait()
        for index in range(WARMUP_PER_WRITER, WARMUP_PER_WRITER + count):
            _record(log, operation, writer, index, timed=True)
    except BaseException as error:  # noqa: BLE001 - re-raised by the main thread
        log.error = error
        barrier.abort()


def _record(log: WriterLog, operation: Operation, writer: int, index: int, *, timed: bool = False) -> None:
    started = time.perf_counter()
    position = operation(writer, index)
    if timed:
        log.latencies.append(time.perf_counter() - started)
    if position is not None:
        log.positions.append(position)


def run_writers(operation: Operation, writers: int, total: int) -> RunResult:
    """Warm every writer up, release them together, time until the last one finishes."""
    counts = [total // writers + (1 if w < total % writers else 0) for w in range(writers)]
    barrier = threading.Barrier(writers + 1)
    logs = [WriterLog() for _ in range(writers)]
    threads = [
        threading.Thread(target=_writer, args=(operation, w, counts[w], barrier, logs[w]), daemon=True)
        for w in range(writers)
    ]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):
        barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    for log in logs:
        if log.error is not None:
            raise log.error
    return RunResult(
        writers=writers,
        operations=sum(counts),
        seconds=seconds,
        positions=[p for log in logs for p in log.positions],
        latencies=[lat for log in logs for lat in log.latencies],
    )


# -- the store side ------------------------------------------------------------------------


def store_operation(store: EventStore, tag: str) -> Operation:
    def append(writer: int, index: int) -> int:
        result = store.append(stream_name(tag, writer, index), [make_event(writer, index)], StreamState.ANY)
        return result.position

    return append


@dataclass
class Subscriber:
    """A thread following `subscribe_all` from `after`, recording every position it gets."""

    store: EventStore
    after: int
    positions: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._follow, name="bench-subscriber", daemon=True)
        self.thread.start()

    def _follow(self) -> None:
        try:
            for event in self.store.subscribe_all(self.after, idle_timeout=0.2, stop=self.stop):
                self.positions.append(event.position)
        except BaseException as error:  # noqa: BLE001 - reported by `finish`
            self.error = error

    def finish(self, last: int) -> None:
        """Let it catch up to `last` (bounded), then stop it."""
        deadline = time.monotonic() + SUBSCRIBER_DRAIN_TIMEOUT
        while time.monotonic() < deadline and self.error is None:
            if self.positions and self.positions[-1] >= last:
                break
            time.sleep(0.01)
        self.stop.set()
        assert self.thread is not None
        self.thread.join(timeout=5)


def no_skip_report(
    received: Sequence[int], appended: Sequence[int], error: BaseException | None
) -> dict[str, Any]:
    """True only if `received` is exactly the appended positions, each once, strictly increasing."""
    increasing = all(a < b for a, b in itertools.pairwise(received))
    exact = sorted(appended) == list(received)
    report: dict[str, Any] = {
        "no_skip": bool(increasing and exact and error is None),
        "appended": len(appended),
        "received": len(received),
        "strictly_increasing": increasing,
        "missing": len(set(appended) - set(received)),
        "unexpected": len(set(received) - set(appended)),
        "duplicates": len(received) - len(set(received)),
    }
    if error is not None:
        report["subscriber_error"] = repr(error)
    return report


def store_run(
    url: str, writers: int, total: int, *, check_no_skip: bool
) -> tuple[RunResult, dict[str, Any] | None]:
    """Time appends through one shared store; optionally follow them with a subscriber."""
    store = open_store(url)
    try:
        subscriber: Subscriber | None = None
        if check_no_skip:
            subscriber = Subscriber(store, store.last_position())
            subscriber.start()
        result = run_writers(store_operation(store, f"s{writers}"), writers, total)
        if subscriber is None:
            return result, None
        subscriber.finish(max(result.positions))
        return result, no_skip_report(subscriber.positions, result.positions, subscriber.error)
    finally:
        store.close()


# -- the raw side --------------------------------------------------------------------------


def raw_operation(engine: sa.Engine, tag: str) -> Operation:
    insert = raw_events_table.insert()

    def insert_one(writer: int, index: int) -> None:
        with engine.begin() as conn:  # one row per transaction, committed like an append
            conn.execute(insert, raw_row(tag, writer, index))

    return insert_one


def raw_run(url: str, writers: int, total: int) -> RunResult:
    """Time plain single-row INSERT transactions with the store's engine settings."""
    engine = make_engine(url, immediate=True, pool_size=POOL_SIZE)
    try:
        raw_metadata.create_all(engine)
        return run_writers(raw_operation(engine, f"r{writers}"), writers, total)
    finally:
        engine.dispose()


# -- catch-up read -------------------------------------------------------------------------


def catch_up(url: str) -> dict[str, Any]:
    """Read every event from position 0 through `subscribe_all`, as a new projection would
    (`CATCH_UP_PASSES` times, the fastest reported).
    PostgreSQL: after `ANALYZE`, as autovacuum leaves a store in service (the peer's table too);
    a table never analysed may be read by a sort of the whole table for every page."""
    store = open_store(url)
    try:
        if not is_sqlite(url):
            engine = make_engine(url, autocommit=True)
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("ANALYZE es_events"))
            finally:
                engine.dispose()
        last = store.last_position()
        passes: list[float] = []
        for _ in range(CATCH_UP_PASSES):
            count = 0
            started = time.perf_counter()
            if last > 0:
                for event in store.subscribe_all(0, batch=1000):
                    count += 1
                    if event.position >= last:
                        break
            passes.append(time.perf_counter() - started)
    finally:
        store.close()
    seconds = min(passes)
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "events_per_s": round(count / seconds, 1),
        "passes_s": [round(p, 3) for p in passes],
    }


# -- the peer library ----------------------------------------------------------------------

PEER_REQUIREMENTS = ("eventsourcing[postgres]==9.5.*", "psycopg[binary]")
PEER_VENV = Path(__file__).resolve().parent.parent / "var" / "peer-eventsourcing"
PEER_SCRIPT = Path(__file__).resolve().parent / "peer_eventsourcing.py"


def peer_python() -> Path:
    """The peer virtualenv's Python (`var/peer-eventsourcing`, made and filled on first use and
    kept for the next runs): the library and its psycopg 3 stay out of the desk's own venv."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        _log(f"  peer: creating {PEER_VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True, timeout=300)
    probe = subprocess.run([str(python), "-c", "import eventsourcing.postgres, psycopg"], capture_output=True)
    if probe.returncode != 0:
        _log(f"  peer: installing {' '.join(PEER_REQUIREMENTS)}")
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS],
            check=True,
            timeout=900,
            stdout=sys.stderr,
        )
    return python


class Peer:
    """The `eventsourcing` library's side (bench/peer_eventsourcing.py, run by the peer venv's
    Python) on its own scratch database of the same PostgreSQL server, kept for the whole run:
    its appends at one writer count right after ours, its catch-up read right after ours."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.python = peer_python()
        parsed = make_url(url)
        self.connection = [
            "--dbname",
            str(parsed.database),
            "--host",
            parsed.host or "127.0.0.1",
            "--port",
            str(parsed.port or 5432),
            "--user",
            parsed.username or "postgres",
            "--password",
            parsed.password or "",
        ]
        self.report: dict[str, Any] = {"appends": {}}

    def _run(self, *arguments: str) -> dict[str, Any]:
        command = [str(self.python), str(PEER_SCRIPT), *self.connection, *arguments]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, timeout=1800)
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return report

    def appends(self, writers: int, events: int) -> None:
        report = self._run("--events", str(events), "--writers", str(writers), "--no-read")
        self.report |= {key: report[key] for key in ("library", "version", "psycopg")}
        self.report["appends"] |= report["appends"]

    def catch_up(self) -> None:
        report = self._run("--writers", "")
        self.report |= {key: report[key] for key in ("catch_up", "catch_up_raw")}


@contextmanager
def peer_database() -> Iterator[Peer]:
    from tests.pg import scratch_database

    with scratch_database("pishkhan_bench_peer") as url:
        yield Peer(url)


def compare_with_peer(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """Our figures over the peer's: appends a second by writer count, and the catch-up read."""
    appends = {
        writers: round(figures["store_appends_per_s"] / peer["appends"][writers]["appends_per_s"], 3)
        for writers, figures in ours["writers"].items()
        if writers in peer["appends"]
    }
    return {
        "peer_appends_per_s": {w: p["appends_per_s"] for w, p in peer["appends"].items()},
        "append_ratio": appends,
        "peer_catch_up_per_s": peer["catch_up"]["events_per_s"],
        "peer_catch_up_raw_per_s": peer["catch_up_raw"]["events_per_s"],
        "catch_up_ratio": round(ours["catch_up"]["events_per_s"] / peer["catch_up"]["events_per_s"], 3),
    }


# -- one backend ---------------------------------------------------------------------------


def summarise(store: RunResult, raw: RunResult, subscribed: bool) -> dict[str, Any]:
    return {
        "store_appends_per_s": round(store.per_second, 1),
        "raw_inserts_per_s": round(raw.per_second, 1),
        "ratio": round(store.per_second / raw.per_second, 3),
        "store_p50_ms": round(store.latency_ms(0.5), 2),
        "store_p99_ms": round(store.latency_ms(0.99), 2),
        "raw_p50_ms": round(raw.latency_ms(0.5), 2),
        "raw_p99_ms": round(raw.latency_ms(0.99), 2),
        "events": store.operations,
        "subscriber_attached": subscribed,
    }


def bench_backend(
    url: str, events: int, writer_counts: Sequence[int], peer: Peer | None = None
) -> dict[str, Any]:
    by_writers: dict[str, Any] = {}
    no_skip: dict[str, Any] | None = None
    for writers in writer_counts:
        check = writers == NO_SKIP_WRITERS
        _log(f"  {writers} writer(s): store")
        store, report = store_run(url, writers, events, check_no_skip=check)
        _log(f"  {writers} writer(s): raw")
        raw = raw_run(url, writers, events)
        by_writers[str(writers)] = summarise(store, raw, check)
        if report is not None:
            no_skip = report
        if peer is not None:
            _log(f"  {writers} writer(s): the eventsourcing library")
            peer.appends(writers, events)
    _log("  catch-up read")
    result: dict[str, Any] = {"writers": by_writers, "catch_up": catch_up(url)}
    if peer is not None:
        _log("  catch-up read: the eventsourcing library")
        peer.catch_up()
        result["peer"] = {"library": peer.report["library"], "version": peer.report["version"]}
        result["peer"]["driver"] = peer.report["psycopg"]
        result["peer"] |= compare_with_peer(result, peer.report)
    result["no_skip"] = no_skip["no_skip"] if no_skip is not None else None
    result["no_skip_detail"] = no_skip
    return result


@contextmanager
def backend_url(backend: str) -> Iterator[str]:
    """A SQLite file in a temp dir, or a scratch PostgreSQL database."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="pishkhan-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'events.db'}"
        return
    from tests.pg import scratch_database

    with scratch_database("pishkhan_bench") as url:
        yield url


# -- machine info and entry point ----------------------------------------------------------


def postgres_info() -> dict[str, Any]:
    from tests.pg import ADMIN_URL

    engine = sa.create_engine(ADMIN_URL)
    try:
        with engine.connect() as conn:
            settings = {
                name: conn.execute(sa.text(f"SHOW {name}")).scalar_one()
                for name in ("server_version", "synchronous_commit", "fsync", "wal_sync_method")
            }
    finally:
        engine.dispose()
    return settings


def machine_info(backends: Sequence[str]) -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlalchemy": sa.__version__,
        "sqlite_version": sqlite3.sqlite_version,
        "sqlite_synchronous": os.environ.get("SQLITE_SYNCHRONOUS", "FULL"),
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    if "postgresql" in backends:
        pg = postgres_info()
        info["postgresql_version"] = pg.pop("server_version")
        info["postgresql_settings"] = pg
    return info


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.eventstore", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--events", type=int, default=DEFAULT_EVENTS, help="appends per run (per writer count)"
    )
    parser.add_argument("--backends", type=_csv, default=list(BACKENDS), help="comma list: sqlite,postgresql")
    parser.add_argument(
        "--peer",
        action="store_true",
        help="also run the eventsourcing library on PostgreSQL (own venv, var/) and report our ratios",
    )
    parser.add_argument(
        "--writers",
        type=lambda v: [int(x) for x in _csv(v)],
        default=list(WRITER_COUNTS),
        help="comma list",
    )
    args = parser.parse_args(argv)
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if args.events < max(args.writers):
        parser.error("--events must be at least the largest writer count")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    summary: dict[str, Any] = {
        "benchmark": "eventstore",
        "events_per_run": args.events,
        "payload_bytes": payload_bytes(),
        "machine": machine_info(args.backends),
        "backends": {},
    }
    for backend in args.backends:
        _log(f"{backend}:")
        with backend_url(backend) as url:
            assert is_sqlite(url) == (backend == "sqlite")
            if backend == "postgresql" and args.peer:
                with peer_database() as peer:
                    summary["backends"][backend] = bench_backend(url, args.events, args.writers, peer)
            else:
                summary["backends"][backend] = bench_backend(url, args.events, args.writers)
    checks = [b["no_skip"] for b in summary["backends"].values() if b["no_skip"] is not None]
    summary["no_skip"] = all(checks) if checks else None
    summary["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(summary, ensure_ascii=False, separators=(",", ":")), flush=True)
    return 0 if summary["no_skip"] is not False else 1


if __name__ == "__main__":
    sys.exit(main())
