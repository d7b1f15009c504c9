"""Requests offered by `wrk`, the C load generator (bench/prepared.lua): bench.load, bench.lag and
bench.reads prepare them in a file, wrk sends each once.

A Python client costs the machine what the desk is measured on: httpx took 17 % of a core at 16
clients, 44 % at 64, and 55-62 % while offering 100/s with a backlog; wrk takes ~1 %.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import citizen, cookie_header, log, mobile, submission
from deploy.run import Desk
from gateway.common import scoped_command_id

SCRIPT = Path(__file__).with_name("prepared.lua")
Request = tuple[str, str, dict[str, str], str]
"""Method, path, headers and body of one prepared request."""


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
    """A file of prepared requests, and for submissions the mobile number each request id
    (known in advance from its Idempotency-Key) will get its SMS on."""

    path: Path
    lines: int
    mobiles: dict[str, str] = field(default_factory=dict)


def write(path: Path, requests: Iterable[Request]) -> Prepared:
    """`requests` in the file prepared.lua reads (one a line)."""
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        for method, target, headers, body in requests:
            joined = "\x1f".join(f"{name}: {value}" for name, value in headers.items())
            out.write(f"{method}\t{target}\t{joined}\t{body}\n")
            lines += 1
    return Prepared(path, lines)


def prepare(desk: Desk, path: Path, count: int, citizens: int, first: int) -> Prepared:
    """`count` submissions (POST /api/requests), submission `first + i` by citizen
    `i % citizens`, each with an Idempotency-Key of its own."""
    headers = [cookie_header(desk, citizen(i)) for i in range(citizens)]
    mobiles: dict[str, str] = {}

    def submissions() -> Iterator[Request]:
        for i in range(count):
            key = f"bench-{first + i:08d}"
            mobiles[scoped_request_id(citizen(i % citizens).account_id, key)] = mobile(first + i)
            body = json.dumps(submission(first + i), ensure_ascii=False)
            sent = headers[i % citizens] | {"Idempotency-Key": key, "Content-Type": "application/json"}
            yield "POST", "/api/requests", sent, body

    prepared = write(path, submissions())
    return Prepared(prepared.path, prepared.lines, mobiles)


def scoped_request_id(account_id: str, key: str) -> str:
    """The request id `requests.submit` derives for a citizen's Idempotency-Key."""
    from contracts.rpc import Payload

    return Payload.model_construct(command_id=scoped_command_id(account_id, key)).derived("request").hex


def command(
    desk: Desk,
    gateway: str,
    prepared: Prepared,
    clients: int,
    seconds: float,
    rate: float,
    answers: Path | None,
) -> list[str]:
    """The wrk command line (one thread: it needs no more)."""
    line = [binary(), "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
    line += ["-s", str(SCRIPT), desk.url(gateway), "--", str(prepared.path), str(rate), str(answers or "")]
    return line


def run(
    desk: Desk,
    prepared: Prepared,
    clients: int,
    seconds: float,
    rate: float = 0.0,
    answers: Path | None = None,
    gateway: str = "citizen",
) -> dict[str, Any]:
    """`clients` keep-alive connections sending the prepared requests to `gateway` for
    `seconds`, each once: as fast as answered (`rate` 0), or one every 1/`rate` s on a fixed
    schedule (a connection takes the next slot when it is free, so at most `clients` are in
    flight). With `answers`, each 201 is written there as it comes: request id, tab, wall time."""
    line = command(desk, gateway, prepared, clients, seconds, rate, answers)
    finished = subprocess.run(line, check=True, capture_output=True, text=True)
    return figures(finished.stdout, finished.stderr, prepared)


def figures(stdout: str, stderr: str, prepared: Prepared) -> dict[str, Any]:
    """What wrk's last line says, as the benchmarks report it."""
    if stderr.strip():
        log(f"wrk: {stderr.strip()}")
    said = json.loads(stdout.strip().splitlines()[-1])
    done, took = said["requests"], said["duration_us"] / 1e6
    errors = said["socket_errors"] + sum(said["refused"].values())
    return {
        "operations": done,
        "seconds": round(took, 2),
        "per_s": round((done - errors) / took, 1) if took else 0.0,
        **{f"{q}_ms": round(said[f"{q}_us"] / 1000, 2) for q in ("p50", "p95", "p99", "max")},
        "errors": errors,
        **({"refused_by_status": said["refused"]} if said["refused"] else {}),
        **({"bodies_reused": True} if done > prepared.lines else {}),
    }


class Background:
    """wrk sending prepared requests at a fixed rate from entering the block until leaving it
    (then stopped as Ctrl-C stops it: it still reports)."""

    def __init__(self, desk: Desk, prepared: Prepared, rate: float, gateway: str = "citizen") -> None:
        self.line = command(desk, gateway, prepared, 32, 24 * 3600, rate, None)
        self.prepared, self.result = prepared, dict[str, Any]()
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Background:
        if self.prepared.lines:  # a rate of 0 prepares nothing: nothing to send
            pipe = subprocess.PIPE
            self.process = subprocess.Popen(self.line, stdout=pipe, stderr=pipe, text=True)
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        stdout, stderr = self.process.communicate(timeout=60)
        self.result = figures(stdout, stderr, self.prepared)
