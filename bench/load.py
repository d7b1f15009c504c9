"""Submissions through the citizen gateway by many signed-in citizens, beside raw Nameko RPC.

    .venv/bin/python -m bench.load [--clients 16] [--seconds 30] [--citizens 1000]

Starts a whole desk on a scratch PostgreSQL database and RabbitMQ vhost, then:
1. gateway: `clients` keep-alive connections of `wrk` (bench/submit.lua), each POSTing
   /api/requests with the session cookie and CSRF token of one of `citizens` citizens, the next
   as soon as the last is answered (a C load generator: the Python client it replaces took 17 %
   of a core at 16 clients and 44 % at 64, CPU the desk was measured without);
2. baseline: the same number of threads, each calling `requests.submit` straight over Nameko RPC
   through a pool of started `ClusterRpcProxy`s (gateway/rpc.RpcPool, as the gateway does).
Both run for `seconds` after a short warm-up. Targets: ≥ 300 submissions/s, p99 < 200 ms, no
errors at 16 clients.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import wrk
from bench.common import LoadResult, desk_on_postgresql, emit, log, machine, submission, threaded_loop
from deploy.run import Desk
from gateway.rpc import RpcPool, amqp_config

TARGET = {"submissions_per_s": 300, "p99_ms": 200, "errors": 0}


PREPARED_PER_S = 1000
"""Submissions prepared per second of a run: more than the desk takes, so none is sent twice."""


def prepared(
    desk: Desk, seconds: float, citizens: int, folder: Path
) -> tuple[wrk.Prepared, wrk.Prepared, float]:
    """Submissions for a warm-up and for `seconds` measured after it, and the warm-up's length."""
    warm_up = min(3.0, seconds)
    warming = wrk.prepare(desk, folder / "warm-up.tsv", round(PREPARED_PER_S * warm_up), citizens, 10**8)
    measured = wrk.prepare(desk, folder / "submissions.tsv", round(PREPARED_PER_S * seconds), citizens, 0)
    return warming, measured, warm_up


def gateway_run(desk: Desk, clients: int, seconds: float, citizens: int, folder: Path) -> dict[str, Any]:
    """Submissions through POST /api/requests by signed-in citizens, after a warm-up."""
    warming, measured, warm_up = prepared(desk, seconds, citizens, folder)
    wrk.run(desk, warming, clients, warm_up)
    return wrk.run(desk, measured, clients, seconds)


def rpc_run(desk: Desk, clients: int, seconds: float, first: int) -> LoadResult:
    """The same submissions over Nameko RPC, without the gateway."""
    pool = RpcPool({**amqp_config(), "AMQP_URI": desk.env["AMQP_URI"]}, size=clients, timeout=30)
    pool.start()
    try:

        def submit(index: int) -> bool:
            reply = pool.call("requests", "submit", submission(index))
            if not reply.get("ok"):
                raise RuntimeError(str(reply)[:200])
            return True

        threaded_loop(submit, clients, min(3.0, seconds), first=first + 10**8)  # warm-up
        return threaded_loop(submit, clients, seconds, first=first)
    finally:
        pool.stop()


def verdict(gateway: dict[str, Any]) -> dict[str, bool]:
    """Which targets the gateway run met."""
    return {
        "submissions_per_s": gateway["per_s"] >= TARGET["submissions_per_s"],
        "p99_ms": gateway["p99_ms"] < TARGET["p99_ms"],
        "errors": gateway["errors"] == TARGET["errors"],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--citizens", type=int, default=1000, help="distinct signed-in citizens")
    parser.add_argument("--skip-baseline", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    summary: dict[str, Any] = {"benchmark": "load", "clients": args.clients, "machine": machine()}
    with desk_on_postgresql() as (desk, _url, folder):
        log(f"gateway: {args.clients} clients for {args.seconds}s")
        gateway = gateway_run(desk, args.clients, args.seconds, args.citizens, folder)
        log(f"  {gateway}")
        summary["gateway"] = gateway
        if not args.skip_baseline:
            log(f"raw RPC: {args.clients} threads for {args.seconds}s")
            rpc = rpc_run(desk, args.clients, args.seconds, 2 * 10**8).figures()
            log(f"  {rpc}")
            summary["raw_rpc"] = rpc
            summary["gateway_to_rpc_ratio"] = (
                round(gateway["per_s"] / rpc["per_s"], 3) if rpc["per_s"] else None
            )
    summary["target"] = TARGET
    summary["met"] = verdict(gateway)
    summary["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    summary["elapsed_s"] = round(time.perf_counter() - began, 1)
    emit(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
