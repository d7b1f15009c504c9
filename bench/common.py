"""What the desk benchmarks share: a desk on PostgreSQL, citizens, percentiles, load loops.

Every benchmark prints one JSON line on stdout (its figures, the baseline it ran beside and the
machine) and its progress on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.run import Desk
from gateway.web.auth import Principal

PROVINCE = "tehran"


# -- figures -------------------------------------------------------------------------------


def percentile(values: Sequence[float], quantile: float) -> float:
    """The nearest-rank percentile (`quantile` in 0..1) of `values`; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-round(quantile * 1000) * len(ordered) // 1000))  # ceil without floats
    return ordered[min(rank, len(ordered)) - 1]


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of latencies given in seconds, in milliseconds."""
    return {
        f"{name}_ms": round(1000 * percentile(seconds, q), 2)
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
    }


def log(message: str) -> None:
    """Progress, on stderr (stdout is the JSON line)."""
    print(message, file=sys.stderr, flush=True)


def emit(summary: dict[str, Any]) -> None:
    """The benchmark's one JSON line."""
    print(json.dumps(summary, ensure_ascii=False, separators=(",", ":")), flush=True)


_SAMPLE = {
    "tracking_code": "1403-0912-4471",
    "subject": "درخواست صدور گواهی",
    "body": "متن درخواست " * 20,
    "attachments": [{"name": "scan.pdf", "size": 48213}] * 3,
}


def python_speed_ms(tries: int = 5, apart: float = 0.25) -> float:
    """Milliseconds this machine takes for a fixed piece of pure-Python work (a JSON round trip
    of a request-like document, 5,000 times), the best of `tries` spread `apart` seconds (tries
    run back to back could all meet the same passing burst of other work): the machine's speed
    swings by a third between hours, and a figure reads right only beside it (lower is faster)."""
    best = float("inf")
    for attempt in range(tries):
        if attempt:
            time.sleep(apart)
        began = time.perf_counter()
        for _ in range(5000):
            json.loads(json.dumps(_SAMPLE, ensure_ascii=False))
        best = min(best, time.perf_counter() - began)
    return round(1000 * best, 1)


def machine() -> dict[str, Any]:
    """Cores, load, speed and versions, so a figure can be read against what it ran on."""
    from bench.eventstore import postgres_info

    pg = postgres_info()
    return {
        "python_speed_ms": python_speed_ms(),
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_1m_at_start": round(os.getloadavg()[0], 2),
        "postgresql_version": pg.pop("server_version"),
        "postgresql_settings": pg,
    }


# -- citizens and their submissions --------------------------------------------------------


def national_code(index: int) -> str:
    """A valid national code (check digit right) that differs for each `index` < 10**9."""
    body = f"{index % 10**9:09d}"
    if len(set(body)) == 1:  # an all-same code is refused even with the right check digit
        body = "1" + body[1:] if body[0] != "1" else "2" + body[1:]
    total = sum(int(body[i]) * (10 - i) for i in range(9)) % 11
    check = total if total < 2 else 11 - total
    return body + str(check)


def mobile(index: int) -> str:
    """A mobile number of its own for each `index` < 10**7, so an SMS tells whose it is."""
    return f"0912{index % 10**7:07d}"


def submission(index: int) -> dict[str, str]:
    """The JSON body of POST /api/requests for citizen `index`."""
    return {
        "national_code": national_code(index),
        "full_name": "زهرا احمدی",
        "mobile": mobile(index),
        "province": PROVINCE,
        "subject": "درخواست ترمیم آسفالت کوچه",
        "text": "چاله بزرگ در ابتدای کوچه باعث آسیب به خودروها شده است.",
    }


def citizen(index: int) -> Principal:
    """A signed-in citizen."""
    return Principal(
        account_id=f"bench-citizen-{index}",
        kind="citizen",
        display_name="زهرا احمدی",
        national_code=national_code(index),
        mobile=mobile(index),
        assurance_level=2,
    )


def clerk() -> Principal:
    """The clerk of the province every benchmark submits to."""
    return Principal(
        account_id="bench-clerk", kind="staff", display_name="دبیر", roles=("clerk",), province=PROVINCE
    )


def cookie_header(desk: Desk, principal: Principal) -> dict[str, str]:
    """Headers that make a request come from `principal` (session cookie and its CSRF token)."""
    from tests.desk import CSRF_FOR_TESTS, session_cookie

    cookie = session_cookie(desk, principal)
    return {"Cookie": f"{cookie['name']}={cookie['value']}", "X-CSRF-Token": CSRF_FOR_TESTS}


# -- a desk --------------------------------------------------------------------------------


@contextlib.contextmanager
def desk_on_postgresql(url: str | None = None, **env: str) -> Iterator[tuple[Desk, str, Path]]:
    """A whole desk (as tests/desk.running_desk starts it) on PostgreSQL and a scratch RabbitMQ
    vhost: (desk, database URL, its folder). The database is `url` (already filled by the
    caller) or a scratch one."""
    from deploy.run import GATEWAYS, SIMULATORS
    from tests.desk import DATABASE_VARIABLES, free_port
    from tests.pg import scratch_database
    from tests.rabbit import scratch_vhost

    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pishkhan-bench-")))
        db_url = url or stack.enter_context(scratch_database("pishkhan_bench"))
        amqp_uri = stack.enter_context(scratch_vhost())
        variables = {
            **{k: v for k, v in os.environ.items() if k not in DATABASE_VARIABLES},
            "AMQP_URI": amqp_uri,
            "SMS_OUTBOX_URL": f"sqlite:///{folder / 'outbox.db'}",
            "PISHKHAN_VAR": str(folder),
            "EVENTSTORE_URL": db_url,
            "DATABASE_URL": db_url,
            "LOG_LEVEL": "WARNING",
            **env,
        }
        desk = Desk(
            env=variables,
            ports={g: free_port() for g in GATEWAYS},
            simulator_ports={s: free_port() for s in SIMULATORS},
            log_dir=folder / "log",
        )
        log("starting a desk on PostgreSQL …")
        started = time.perf_counter()
        try:
            desk.start()
            log(f"desk up in {time.perf_counter() - started:.1f}s")
            yield desk, db_url, folder
        finally:
            desk.stop()


# -- load loops ----------------------------------------------------------------------------

Attempt = Callable[[int], Awaitable[bool]]
"""`attempt(index)`: one operation; True when it succeeded."""


@dataclass
class LoadResult:
    """What a load loop did."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return len(self.latencies) + self.errors

    def figures(self) -> dict[str, Any]:
        """Throughput, latency percentiles and errors."""
        return {
            "operations": self.done,
            "seconds": round(self.seconds, 2),
            "per_s": round(len(self.latencies) / self.seconds, 1) if self.seconds else 0.0,
            **latency_ms(self.latencies),
            "errors": self.errors,
            **({"first_errors": self.first_errors} if self.first_errors else {}),
        }


async def _timed(attempt: Attempt, index: int, result: LoadResult) -> None:
    began = time.perf_counter()
    try:
        ok = await attempt(index)
    except Exception as error:  # noqa: BLE001 - counted and shown, never hidden
        ok = False
        if len(result.first_errors) < 5:
            result.first_errors.append(f"{type(error).__name__}: {error}")
    if ok:
        result.latencies.append(time.perf_counter() - began)
    else:
        result.errors += 1


async def closed_loop(attempt: Attempt, clients: int, seconds: float, first: int = 0) -> LoadResult:
    """`clients` loops each doing one operation after the other for `seconds`."""
    result = LoadResult(seconds=0.0)
    counter = iter(range(first, first + 10**9))
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            await _timed(attempt, next(counter), result)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = time.perf_counter() - began
    return result


async def open_loop(
    attempt: Attempt, rate: float, seconds: float, first: int = 0, stop: threading.Event | None = None
) -> LoadResult:
    """Start an operation every 1/`rate` seconds for `seconds` (or until `stop` is set), whatever
    the answers take (so a slow answer delays nothing else: the rate is the offered load)."""
    result = LoadResult(seconds=0.0)
    tasks: list[asyncio.Task[None]] = []
    began = time.perf_counter()
    for n in range(int(rate * seconds)):
        if stop is not None and stop.is_set():
            break
        delay = began + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_timed(attempt, first + n, result)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - began
    return result


def threaded_loop(call: Callable[[int], bool], clients: int, seconds: float, first: int = 0) -> LoadResult:
    """`closed_loop` for blocking calls (the raw RPC baseline): one thread per client."""
    from concurrent.futures import ThreadPoolExecutor

    async def run() -> LoadResult:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(clients) as pool:
            return await closed_loop(lambda i: loop.run_in_executor(pool, call, i), clients, seconds, first)

    return asyncio.run(run())
