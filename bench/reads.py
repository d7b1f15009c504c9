"""The citizen's tracking and the clerk's cartable under load, with many requests stored.

    .venv/bin/python -m bench.reads [--requests 100000] [--rate 50] [--seconds 20] [--background 25]

Fills a scratch PostgreSQL database with `requests` requests in the read models the pages read
(the secretariat's cases, as bench/cartable.py makes them, and the citizen's view of each, one
province: a clerk who sees every request, the worst case), vacuums and analyses it as autovacuum
would have, starts a whole desk on it, then
offers `rate` requests a second (open loop) for `seconds` to each of:
- citizen: GET /api/requests/{tracking_code}?national_code=… (the tracking view, JSON) and the
  tracking page (POST /track, the HTML page the tracking form shows);
- back office, as a clerk: GET /secretariat/cartable?folder=all (HTML) and GET /api/inbox.
All the while, `background` submissions a second go through the citizen gateway (open loop), so
the pages are read while the desk also takes new requests, projects them and sends their SMS.
Baseline: the same reads as raw Nameko RPC (`requests.track`, `secretariat.cartable`) at the same
rate. Target: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import sqlalchemy as sa

from bench import cartable, history
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
    submission,
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


async def http_run(desk: Desk, count: int, rate: float, seconds: float, what: str) -> LoadResult:
    """`rate`/s of one kind of page for `seconds`."""
    gateway = "backoffice" if what in ("cartable_page", "inbox_api") else "citizen"
    staff = cookie_header(desk, clerk())
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=desk.url(gateway), limits=limits, timeout=30) as client:

        async def read(index: int) -> bool:
            n = (index * 7919) % count  # spread over the whole table
            if what == "tracking_api":
                answer = await client.get(
                    f"/api/requests/{history.tracking_code(n)}",
                    params={"national_code": national_code(n)},
                    headers=cookie_header(desk, citizen(n)),
                )
            elif what == "tracking_page":
                answer = await client.post(
                    "/track",
                    data={"tracking_code": history.tracking_code(n), "second_factor": national_code(n)}
                    | {"csrf_token": staff["X-CSRF-Token"]},
                    headers={"Cookie": cookie_header(desk, citizen(n))["Cookie"]},
                )
            elif what == "cartable_page":
                answer = await client.get("/secretariat/cartable", params={"folder": "all"}, headers=staff)
            else:
                answer = await client.get("/api/inbox", params={"folder": "all"}, headers=staff)
            if answer.status_code != 200:
                raise RuntimeError(f"{what}: {answer.status_code} {answer.text[:200]}")
            return True

        await open_loop(read, rate, min(WARM_UP_S, seconds), first=10**6)  # warm-up
        return await open_loop(read, rate, seconds)


class Background:
    """`rate` submissions a second through the citizen gateway, in a thread of its own (its own
    event loop), from entering the block until leaving it."""

    def __init__(self, desk: Desk, rate: float) -> None:
        self.desk, self.rate = desk, rate
        self.result: LoadResult | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self._run()), name="background", daemon=True
        )

    async def _run(self) -> None:
        headers = [cookie_header(self.desk, citizen(i)) for i in range(100)]
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        async with httpx.AsyncClient(base_url=self.desk.url("citizen"), limits=limits, timeout=30) as client:

            async def submit(index: int) -> bool:
                answer = await client.post(
                    "/api/requests", json=submission(index), headers=headers[index % 100]
                )
                if answer.status_code != 201:
                    raise RuntimeError(f"background submission: {answer.status_code} {answer.text[:200]}")
                return True

            self.result = await open_loop(submit, self.rate, 24 * 3600, first=10**7, stop=self.stop)

    def __enter__(self) -> Background:
        if self.rate > 0:
            self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        if self.rate > 0:
            self.thread.join()

    def figures(self) -> dict[str, Any] | None:
        return None if self.result is None else {"rate": self.rate, **self.result.figures()}


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
        with desk_on_postgresql(url) as (desk, _url, _folder):
            log(f"letting the fresh desk settle for {SETTLE_S}s")
            time.sleep(SETTLE_S)  # services load the sample catalogue, autovacuum visits the fill
            pages: dict[str, Any] = {}
            raw: dict[str, Any] = {}
            log(f"background: {args.background} submissions/s")
            with Background(desk, args.background) as background:
                for what in ("tracking_api", "tracking_page", "cartable_page", "inbox_api"):
                    log(f"{what}: {args.rate}/s for {args.seconds}s")
                    pages[what] = asyncio.run(
                        http_run(desk, args.requests, args.rate, args.seconds, what)
                    ).figures()
                    log(f"  {pages[what]}")
                for what in ("track", "cartable"):
                    log(f"raw RPC {what}: {args.rate}/s for {args.seconds}s")
                    raw[what] = rpc_run(desk, args.requests, args.rate, args.seconds, what).figures()
                    log(f"  {raw[what]}")
            summary["background_submissions"] = background.figures()
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
