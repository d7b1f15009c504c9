"""How fast the secretariat's cartable answers with many requests.

    python -m bench.cartable                         # 100,000 requests in a scratch SQLite file
    python -m bench.cartable --url postgresql://postgres@127.0.0.1/bench_cartable --requests 100000

Fills the read model's tables directly (the projection's work is not measured here), then times
the queries a clerk's pages make: a folder's first page with its counts, a page deep in the
folder (keyset paging), and searches by tracking code, national code, registration number,
Jalali date range, status, unit and service. Prints the median and 95th percentile per query.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from contracts.secretariat_rpc import CartableQuery, Staff
from infra.db import Database
from services.secretariat.queries import cartable
from services.secretariat.tables import cases_table, due_counts_table, metadata
from services.secretariat.workdays import to_jalali

PROVINCES = ("tehran",)  # the worst case: one clerk sees every request
UNITS = ("permits", "finance", "legal", "land")
STAGES = ("secretariat", "unit", "citizen", "done", "done", "done")
CLERK = Staff(account_id="clerk-1", name="bench", roles=("clerk",), province="tehran")


def _row(index: int, start: datetime) -> dict[str, Any]:
    rng = random.Random(index)
    submitted = start + timedelta(minutes=index * 3)
    stage = rng.choice(STAGES)
    numbered = stage != "secretariat" or rng.random() < 0.5
    return {
        "request_id": f"{index:032x}",
        "position": index + 1,
        "tracking_code": f"{10**11 + index}",
        "province": PROVINCES[index % len(PROVINCES)],
        "national_code": f"{rng.randrange(10**9, 10**10)}",
        "full_name": "متقاضی آزمون",
        "mobile": "09120000000",
        "applicant_kind": "natural",
        "subject": "درخواست",
        "text": "متن",
        "form": "wizard",
        "attachments": "[]",
        "service_id": f"{10**10 + index % 40}",
        "unit": UNITS[index % len(UNITS)],
        "submitted_at": submitted.isoformat(),
        "status": {"done": "done", "citizen": "returned", "unit": "referred"}.get(stage, "registered"),
        "stage": stage,
        "request_status": "undetermined",
        "registration_number": f"1405/x/{index + 1}" if numbered else None,
        "holder_name": "دبیرخانه",
        "version": 3,
        "replies": 1 if stage == "done" else 0,
        "reply_days": rng.randrange(0, 30) if stage == "done" else None,
        "expected_days": 15,
        "due_on": (submitted + timedelta(days=21)).date().isoformat() if stage != "citizen" else None,
        "paused_days": 0,
        "updated_at": submitted.isoformat(),
    }


def fill(db: Database, count: int) -> None:
    """`count` requests over the provinces, stages and units."""
    with db.write.begin() as conn:
        metadata.drop_all(conn)
        metadata.create_all(conn)
    start = datetime(2025, 3, 21, tzinfo=UTC)
    batch = 5000
    for first in range(0, count, batch):
        with db.write.begin() as conn:
            conn.execute(
                cases_table.insert(), [_row(i, start) for i in range(first, min(first + batch, count))]
            )
    with db.write.begin() as conn:  # what the projection keeps as it goes
        c = cases_table.c
        due_on = sa.func.coalesce(c.due_on, "")
        counted = sa.select(c.province, c.stage, due_on, sa.func.count()).group_by(
            c.province, c.stage, due_on
        )
        conn.execute(
            due_counts_table.insert().from_select(["province", "stage", "due_on", "requests"], counted)
        )
    if db.write.dialect.name == "postgresql":
        with db.write.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    else:
        with db.write.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and 95th percentile in milliseconds."""
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(int(len(samples) * 0.95) - 1, 0)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="read-model database (default: a scratch SQLite file)")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-cartable-")
    db = Database(args.url or f"sqlite:///{Path(folder) / 'secretariat.db'}")
    began = time.perf_counter()
    fill(db, args.requests)
    print(f"{args.requests} requests on {db.write.dialect.name} in {time.perf_counter() - began:.1f}s")

    def page(**filters: Any) -> Callable[[], Any]:
        return lambda: cartable(db.read, CartableQuery(staff=CLERK, **filters))

    first_page = cartable(db.read, CartableQuery(staff=CLERK, folder="all"))
    deep_key = first_page["items"][0]["position"] - 3 * args.requests // 4
    mid = _row(args.requests // 2, datetime(2025, 3, 21, tzinfo=UTC))
    day = datetime.fromisoformat(mid["submitted_at"]).date()
    cases = {
        "folder 'done', first page + counts": page(folder="done"),
        "folder 'all', page deep inside (keyset)": page(folder="all", after=deep_key),
        "tracking code": page(folder="all", tracking_code=mid["tracking_code"]),
        "national code": page(folder="all", national_code=mid["national_code"]),
        "registration number": page(folder="all", registration_number=f"1405/x/{args.requests // 2 + 1}"),
        "Jalali date range (one week)": page(
            folder="all", date_from=to_jalali(day), date_to=to_jalali(day + timedelta(days=7))
        ),
        "status + unit + service": page(
            folder="all", status="done", unit="permits", service_id=mid["service_id"]
        ),
        "overdue only": page(folder="all", overdue=True),
    }
    print(f"{'query':45} {'median ms':>10} {'p95 ms':>10}")
    for name, run in cases.items():
        median, p95 = timed(run, args.repeat)
        print(f"{name:45} {median:10.1f} {p95:10.1f}")
    db.dispose()


if __name__ == "__main__":
    main()
