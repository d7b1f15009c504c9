"""Submissions through the citizen gateway by many signed-in citizens, beside raw Nameko RPC.

    .venv/bin/python -m bench.load [--clients 16] [--seconds 30] [--citizens 1000]

Starts a whole desk on a scratch PostgreSQL database and RabbitMQ vhost, then:
1. gateway: `clients` loops (one `httpx.AsyncClient`, a pool of keep-alive connections) each
   POSTing /api/requests with the session cookie and CSRF token of one of `citizens` citizens;
2. baseline: the same number of threads, each calling `requests.submit` straight over Nameko RPC
   through a pool of started `ClusterRpcProxy`s (gateway/rpc.RpcPool, as the gateway does).
Both run for `seconds` after a short warm-up. Targets: ≥ 300 submissions/s, p99 < 200 ms, no
errors at 16 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Sequence
from typing import Any

import httpx

from bench.common import (
    LoadResult,
    citizen,
    closed_loop,
    cookie_header,
    desk_on_postgresql,
    emit,
    log,
    machine,
    submission,
    threaded_loop,
)
from deploy.run import Desk
from gateway.rpc import RpcPool, amqp_config

TARGET = {"submissions_per_s": 300, "p99_ms": 200, "errors": 0}


async def gateway_run(desk: Desk, clients: int, seconds: float, citizens: int, first: int) -> LoadResult:
    """Submissions through POST /api/requests, each by a signed-in citizen."""
    headers = [cookie_header(desk, citizen(i)) for i in range(citizens)]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=desk.url("citizen"), limits=limits, timeout=30) as client:

        async def submit(index: int) -> bool:
            answer = await client.post(
                "/api/requests", json=submission(index), headers=headers[index % citizens]
            )
            if answer.status_code != 201:
                raise RuntimeError(f"{answer.status_code} {answer.text[:200]}")
            return True

        await closed_loop(submit, clients, min(3.0, seconds), first=first + 10**8)  # warm-up
        return await closed_loop(submit, clients, seconds, first=first)


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
    with desk_on_postgresql() as (desk, _url, _folder):
        log(f"gateway: {args.clients} clients for {args.seconds}s")
        gateway = asyncio.run(gateway_run(desk, args.clients, args.seconds, args.citizens, 0)).figures()
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
