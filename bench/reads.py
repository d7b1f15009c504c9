"""The citizen's tracking and the clerk's cartable under load, with many requests stored.

    .venv/bin/python -m bench.reads [--requests 100000] [--rate 50] [--seconds 20] [--background 25]

Fills a scratch PostgreSQL database with `requests` requests in the read models the pages read
(the secretariat's cases, as bench/cartable.py makes them, and the citizen's view of each, one
province: a clerk who sees every request, the worst case), vacuums and analyses it as autovacuum
would have, starts a whole desk on it, then
offers `rate` requests a second for `seconds` to each of (through `wrk`, bench/wrk.py, on a fixed
schedule with up to 64 in flight; a Python client took a third of a core from the desk):
- citizen: GET /api/requests/{tracking_code}?national_code=… (the tracking view, JSON) and the
  tracking page (POST /track, the HTML page the tracking form shows);
- back office, as a clerk: GET /secretariat/cartable?folder=all (HTML) and GET /api/inbox.
All the while, `background` submissions a second go through the citizen gateway (wrk too), so
the pages are read while the desk also takes new requests, projects them and sends their SMS.
Baseline: the same reads as raw Nameko RPC (`requests.track`, `secretariat.cartable`) at the same
rate. Target: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import cartable, history, wrk
from bench.common import (
    PROVINCE,
    LoadResult,
    citizen,
    clerk,
    cookie_header,
    desk_on_postgresql,
    emit,
    log,
    machine,
    mobile,
    national_code,
    open_loop,
)
from deploy.run import Desk
from gateway.rpc import RpcPool, amqp_config
from infra.db import Database
from services.requests.projections import metadata as requests_metadata
from services.requests.projections import requests_table

TARGET_P99_MS = 50
SETTLE_S = 15
WARM_UP_S = 5.0


def citizen_row(index: int) -> dict[str, Any]:
    """The citizen's view of request `index` (same id as bench/cartable.py's case row)."""
    at = f"2026-04-{1 + index % 28:02d}T08:00:00+00:00"
    return {
        "request_id": f"{index:032x}",
        "tracking_code": history.tracking_code(index),
        "account_id": None,
        "national_code": national_code(index),
        "mobile": mobile(index),
        "full_name": "زهرا احمدی",
        "province": PROVINCE,
        "form": "api",
        "subject": "درخواست ترمیم آسفالت کوچه",
        "text": "چاله بزرگ در ابتدای کوچه باعث آسیب به خودروها شده است.",
        "status": "registered" if index % 5 else "submitted",
        "registration_number": f"1405/{index}" if index % 5 else None,
        "submitted_at": at,
        "updated_at": at,
        "attachments": "[]",
        "details": json.dumps({"request_id": f"{index:032x}"}),
    }


def fill(url: str, count: int) -> float:
    """`count` requests in both read models; seconds taken."""
    began = time.perf_counter()
    db = Database(url)
    try:
        with db.write.begin() as conn:
            requests_metadata.create_all(conn)
        for first in range(0, count, 5000):
            with db.write.begin() as conn:
                conn.execute(
                    requests_table.insert(), [citizen_row(i) for i in range(first, min(first + 5000, count))]
                )
        cartable.fill(db, count)  # the secretariat's cases and counts, then ANALYZE
        with db.write.connect() as conn:  # as autovacuum leaves a settled database: index-only
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    finally:
        db.dispose()
    return time.perf_counter() - began


def page_requests(desk: Desk, count: int, what: str, first: int, number: int) -> Iterator[wrk.Request]:
    """`number` reads of one kind of page, spread over the whole table."""
    staff = cookie_header(desk, clerk())
    for index in range(first, first + number):
        n = (index * 7919) % count
        if what == "tracking_api":
            code, headers = history.tracking_code(n), cookie_header(desk, citizen(n))
            yield "GET", f"/api/requests/{code}?national_code={national_code(n)}", headers, ""
        elif what == "tracking_page":
            form = {"tracking_code": history.tracking_code(n), "second_factor": national_code(n)}
            body = urllib.parse.urlencode(form | {"csrf_token": staff["X-CSRF-Token"]})
            headers = {"Cookie": cookie_header(desk, citizen(n))["Cookie"]}
            yield "POST", "/track", headers | {"Content-Type": "application/x-www-form-urlencoded"}, body
        elif what == "cartable_page":
            yield "GET", "/secretariat/cartable?folder=all", staff, ""
        else:
            yield "GET", "/api/inbox?folder=all", staff, ""


def http_run(desk: Desk, count: int, rate: float, seconds: float, what: str, folder: Path) -> dict[str, Any]:
    """`rate`/s of one kind of page for `seconds` (after a warm-up), offered by wrk."""
    gateway = "backoffice" if what in ("cartable_page", "inbox_api") else "citizen"
    warm_up = min(WARM_UP_S, seconds)
    warming = wrk.write(
        folder / f"{what}-warm-up.tsv", page_requests(desk, count, what, 10**6, round(rate * warm_up))
    )
    measured = wrk.write(
        folder / f"{what}.tsv", page_requests(desk, count, what, 0, round(rate * (seconds + 1)))
    )
    wrk.run(desk, warming, CONNECTIONS, warm_up, rate, gateway=gateway)
    return wrk.run(desk, measured, CONNECTIONS, seconds, rate, gateway=gateway)


CONNECTIONS = 64
"""Reads in flight at most; a slot that finds every connection busy waits for one."""


def rpc_run(desk: Desk, count: int, rate: float, seconds: float, what: str) -> LoadResult:
    """The same reads as raw RPC, at the same rate."""
    pool = RpcPool({**amqp_config(), "AMQP_URI": desk.env["AMQP_URI"]}, size=16, timeout=30)
    pool.start()
    staff = {
        "account_id": "bench-clerk",
        "name": "دبیر",
        "roles": ["clerk"],
        "province": PROVINCE,
        "unit": None,
    }
    calls: dict[str, Callable[[int], Any]] = {
        "track": lambda n: pool.call("requests", "track", history.tracking_code(n), national_code(n)),
        "cartable": lambda n: pool.call("secretariat", "cartable", {"staff": staff, "folder": "all"}),
    }

    def read(index: int) -> bool:
        reply = calls[what]((index * 7919) % count)
        if not reply.get("ok"):
            raise RuntimeError(str(reply)[:200])
        return True

    async def run() -> LoadResult:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(32) as threads:
            attempt = lambda i: loop.run_in_executor(threads, read, i)  # noqa: E731
            await open_loop(attempt, rate, min(WARM_UP_S, seconds), first=10**6)
            return await open_loop(attempt, rate, seconds)

    try:
        return asyncio.run(run())
    finally:
        pool.stop()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=50.0, help="reads offered per second, per page")
    parser.add_argument("--seconds", type=float, default=20.0, help="per page")
    parser.add_argument("--background", type=float, default=25.0, help="submissions a second meanwhile")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from tests.pg import scratch_database

    args = parse_args(argv)
    began = time.perf_counter()
    summary: dict[str, Any] = {
        "benchmark": "reads",
        "requests_stored": args.requests,
        "rate_per_page": args.rate,
        "machine": machine(),
    }
    with scratch_database("pishkhan_bench") as url:
        log(f"filling {args.requests} requests …")
        summary["fill_s"] = round(fill(url, args.requests), 1)
        with desk_on_postgresql(url) as (desk, _url, folder):
            log(f"letting the fresh desk settle for {SETTLE_S}s")
            time.sleep(SETTLE_S)  # services load the sample catalogue, autovacuum visits the fill
            pages: dict[str, Any] = {}
            raw: dict[str, Any] = {}
            log(f"background: {args.background} submissions/s")
            lasting = 6 * (WARM_UP_S + args.seconds) + 30  # every page, then the raw RPC runs
            submissions = wrk.prepare(
                desk, folder / "background.tsv", round(args.background * lasting), 100, 10**7
            )
            with wrk.Background(desk, submissions, args.background) as background:
                for what in ("tracking_api", "tracking_page", "cartable_page", "inbox_api"):
                    log(f"{what}: {args.rate}/s for {args.seconds}s")
                    pages[what] = http_run(desk, args.requests, args.rate, args.seconds, what, folder)
                    log(f"  {pages[what]}")
                for what in ("track", "cartable"):
                    log(f"raw RPC {what}: {args.rate}/s for {args.seconds}s")
                    raw[what] = rpc_run(desk, args.requests, args.rate, args.seconds, what).figures()
                    log(f"  {raw[what]}")
            summary["background_submissions"] = {"rate": args.background, **background.result}
    summary["gateway"] = pages
    summary["raw_rpc"] = raw
    summary["target_p99_ms"] = TARGET_P99_MS
    summary["met"] = {k: v["p99_ms"] < TARGET_P99_MS and v["errors"] == 0 for k, v in pages.items()}
    summary["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    summary["elapsed_s"] = round(time.perf_counter() - began, 1)
    emit(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
