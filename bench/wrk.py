"""Submissions offered by `wrk`, the C load generator (bench/submit.lua), for bench.load and bench.lag.

A Python client costs the machine what the desk is measured on: httpx took 17 % of a core at 16
clients, 44 % at 64, and 55-62 % while offering 100/s with a backlog; wrk takes ~1 %.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import citizen, cookie_header, log, mobile, submission
from deploy.run import Desk
from gateway.common import scoped_command_id

SUBMIT_SCRIPT = Path(__file__).with_name("submit.lua")


def binary() -> str:
    """The `wrk` binary, installed from Debian's packages when missing and running as root."""
    found = shutil.which("wrk")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        log("installing wrk …")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if found is None:
        raise SystemExit("the benchmark needs wrk: apt-get install wrk")
    return found


@dataclass(frozen=True)
class Prepared:
    """A file of submissions, one a line (cookie, CSRF token, Idempotency-Key, JSON body), and
    the mobile number each request id (known in advance from its key) will get its SMS on."""

    path: Path
    lines: int
    mobiles: dict[str, str]


def prepare(desk: Desk, path: Path, count: int, citizens: int, first: int) -> Prepared:
    """`count` submissions: submission `first + i` by citizen `i % citizens`."""
    headers = [cookie_header(desk, citizen(i)) for i in range(citizens)]
    mobiles: dict[str, str] = {}
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            header, key = headers[i % citizens], f"bench-{first + i:08d}"
            account = citizen(i % citizens).account_id
            mobiles[scoped_request_id(account, key)] = mobile(first + i)
            body = json.dumps(submission(first + i), ensure_ascii=False)
            out.write(f"{header['Cookie']}\t{header['X-CSRF-Token']}\t{key}\t{body}\n")
    return Prepared(path, count, mobiles)


def scoped_request_id(account_id: str, key: str) -> str:
    """The request id `requests.submit` derives for a citizen's Idempotency-Key."""
    from contracts.rpc import SubmitRequest

    command = SubmitRequest.model_construct(command_id=scoped_command_id(account_id, key))
    return command.derived("request").hex


def run(
    desk: Desk,
    prepared: Prepared,
    clients: int,
    seconds: float,
    rate: float = 0.0,
    answers: Path | None = None,
) -> dict[str, Any]:
    """`clients` keep-alive connections POSTing the prepared submissions for `seconds`, each
    once: as fast as answered (`rate` 0), or one every 1/`rate` s on a fixed schedule (a
    connection takes the next slot when it is free, so at most `clients` are in flight). With
    `answers`, each 201 is written there as it comes: request id, tab, wall time."""
    command = [binary(), "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
    command += ["-s", str(SUBMIT_SCRIPT), desk.url("citizen"), "--", str(prepared.path)]
    command += [str(rate), str(answers or "")]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    if finished.stderr.strip():
        log(f"wrk: {finished.stderr.strip()}")
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    done, took = figures["requests"], figures["duration_us"] / 1e6
    errors = figures["socket_errors"] + figures["http_errors"]
    return {
        "operations": done,
        "seconds": round(took, 2),
        "per_s": round((done - errors) / took, 1) if took else 0.0,
        **{f"{q}_ms": round(figures[f"{q}_us"] / 1000, 2) for q in ("p50", "p95", "p99", "max")},
        "errors": errors,
        **({"refused_by_status": figures["refused"]} if figures["refused"] else {}),
        **({"bodies_reused": True} if done > prepared.lines else {}),
    }
