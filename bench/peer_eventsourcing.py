"""The `eventsourcing` library's PostgreSQL recorder doing what `bench.eventstore` times on ours.

Run by the peer virtualenv's own Python (`bench.eventstore --peer` makes it and passes the
scratch database): it imports nothing of the desk. It appends the same ~300-byte events, one
event an append, with each count of writer threads (each spreading its appends over its own 50
streams), then reads everything back with `select_notifications` in pages of 1,000, each
state JSON-decoded. One JSON line on stdout. Called once a writer count (`--no-read`) and once
to read (`--writers ''`), so that each figure is taken right after ours.

    python bench/peer_eventsourcing.py --dbname D [--host H --port P --user U] [--events N]
        [--writers 1,4,16] [--no-read]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
import uuid
from importlib import metadata
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

STREAMS_PER_WRITER = 50
WARMUP_PER_WRITER = 2
PAGE = 1000
PASSES = 3
TOPIC = "pishkhan.requests:ServiceRequestSubmitted"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def state(writer: int, index: int) -> bytes:
    """The same document `bench.eventstore.make_event` stores as `data`."""
    return _dumps(
        {
            "request_no": f"{writer:02d}-{index:06d}",
            "citizen": "زهرا احمدی",
            "subject": "درخواست ترمیم آسفالت کوچه",
            "description": "چاله بزرگ در ابتدای کوچه باعث آسیب به خودروها شده است.",
            "district": "منطقه ۳",
            "channel": "پیشخوان",
            "priority": "عادی",
        }
    ).encode()


def run_writers(recorder: PostgresApplicationRecorder, writers: int, total: int) -> dict[str, Any]:
    counts = [total // writers + (1 if w < total % writers else 0) for w in range(writers)]
    streams = [[uuid.uuid4() for _ in range(STREAMS_PER_WRITER)] for _ in range(writers)]
    barrier = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def append(writer: int, index: int) -> None:
        recorder.insert_events(
            [
                StoredEvent(
                    originator_id=streams[writer][index % STREAMS_PER_WRITER],
                    originator_version=index // STREAMS_PER_WRITER,
                    topic=TOPIC,
                    state=state(writer, index),
                )
            ]
        )

    def work(writer: int) -> None:
        try:
            for index in range(WARMUP_PER_WRITER):
                append(writer, index)
            barrier.wait()
            for index in range(WARMUP_PER_WRITER, WARMUP_PER_WRITER + counts[writer]):
                append(writer, index)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return {"appends": total, "seconds": round(seconds, 3), "appends_per_s": round(total / seconds, 1)}


def catch_up(recorder: PostgresApplicationRecorder, *, decode: bool) -> dict[str, Any]:
    """Every notification from the first, in pages of `PAGE`, as a new follower reads them
    (`PASSES` times, the fastest reported, as `bench.eventstore` reads ours)."""
    loads = json.loads
    passes: list[float] = []
    for _ in range(PASSES):
        count = 0
        start = 1
        started = time.perf_counter()
        while True:
            page = recorder.select_notifications(start, PAGE)
            if decode:
                for notification in page:
                    loads(notification.state)
            count += len(page)
            if len(page) < PAGE:
                break
            start = page[-1].id + 1
        passes.append(time.perf_counter() - started)
    seconds = min(passes)
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "events_per_s": round(count / seconds, 1),
        "passes_s": [round(p, 3) for p in passes],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dbname", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5432")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--password", default="")
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--writers", default="1,4,16", help="comma list; empty: no appends")
    parser.add_argument("--no-read", action="store_true", help="no catch-up read")
    args = parser.parse_args()
    writer_counts = [int(w) for w in args.writers.split(",") if w.strip()]
    import psycopg

    datastore = PostgresDatastore(
        args.dbname,
        args.host,
        args.port,
        args.user,
        args.password,
        pool_size=max(writer_counts, default=1),
        max_overflow=0,
    )
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        appends: dict[str, Any] = {}
        for writers in writer_counts:
            print(f"  peer: {writers} writer(s)", file=sys.stderr, flush=True)
            appends[str(writers)] = run_writers(recorder, writers, args.events)
        report: dict[str, Any] = {
            "library": "eventsourcing",
            "version": metadata.version("eventsourcing"),
            "psycopg": f"{psycopg.__version__} ({psycopg.pq.__impl__})",
            "appends": appends,
        }
        if not args.no_read:
            print("  peer: catch-up read", file=sys.stderr, flush=True)
            with datastore.transaction(commit=True) as cursor:
                cursor.execute("ANALYZE stored_events")  # as bench.eventstore does to ours
            report["catch_up_raw"] = catch_up(recorder, decode=False)
            report["catch_up"] = catch_up(recorder, decode=True)
    finally:
        datastore.close()
    print(json.dumps(report, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
