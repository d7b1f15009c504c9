"""CPU a submission, process by process, with the desk taking all it can.

    .venv/bin/python -m bench.saturation [--clients 16] [--seconds 20] [--citizens 1000]

Starts a whole desk on a scratch PostgreSQL database and RabbitMQ vhost, warms it for 3 s, then
sends submissions through the citizen gateway as fast as answered (`wrk`, `clients` keep-alive
connections) for `seconds`, reading meanwhile the CPU time of each of the desk's processes
(services and gateways by name), of PostgreSQL's and RabbitMQ's processes (the machine's: nothing
else should run), and PostgreSQL's own counters for the scratch database: transactions and rows
read a submission (a statement that reads a table through grows the last with the store).
Two cores allow ~6.5 ms a submission for 300/s.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bench import wrk
from bench.common import desk_on_postgresql, emit, log, machine
from bench.compare import TICKS, processes
from bench.load import prepared

_BACKENDS = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
"""The PostgreSQL backends serving the desk's scratch database (and this query's own)."""

_COUNTERS = sa.text(
    "SELECT xact_commit, tup_returned, tup_fetched, tup_inserted, tup_updated"
    " FROM pg_stat_database WHERE datname = current_database()"
)


def _part(pid: int, command: str, names: dict[int, str]) -> str | None:
    if pid in names:
        return names[pid]
    if command.startswith("postgres"):
        return "postgresql"
    if "beam.smp" in command and "rabbit" in command:
        return "rabbitmq"
    return None


def _backends(engine: sa.Engine) -> set[int]:
    with engine.connect() as conn:
        return {int(pid) for (pid,) in conn.execute(_BACKENDS)}


def _counters(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {k: int(v) for k, v in conn.execute(_COUNTERS).mappings().one().items()}


def measure(clients: int, seconds: float, citizens: int) -> dict[str, Any]:
    """One saturated run: the load's figures, CPU a submission by part, counters a submission."""
    with desk_on_postgresql() as (desk, url, folder):
        warming, measured, warm_up = prepared(desk, seconds, citizens, folder)
        wrk.run(desk, warming, clients, warm_up)
        names = {process.pid: name for name, process in desk.processes.items()}
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            counted, backends, before = _counters(engine), _backends(engine), processes()
            began = time.monotonic()
            load = wrk.run(desk, measured, clients, seconds)
            took, after = time.monotonic() - began, processes()
            backends |= _backends(engine)
            time.sleep(1.5)  # the backends hand in their statistics when idle
            counted = {k: v - counted[k] for k, v in _counters(engine).items()}
        finally:
            engine.dispose()
    used: Counter[str] = Counter()
    desk_backends = 0
    for pid, (command, _, ticks) in after.items():
        part = _part(pid, command, names)
        if part and pid in before:
            used[part] += ticks - before[pid][2]
            if part == "postgresql" and pid in backends:
                desk_backends += ticks - before[pid][2]
    done = max(1, load["operations"] - load["errors"])
    per_submission = {part: round(1000 * t / TICKS / done, 2) for part, t in used.most_common() if t}
    return {
        "load": load,
        "cpu_ms_per_submission": {**per_submission, "total": round(sum(per_submission.values()), 2)},
        # PostgreSQL above is every postgres process of the machine (its WAL writer too, and
        # anyone else's backends on a shared machine); this is the desk's own backends alone.
        "postgresql_desk_backends_ms_per_submission": round(1000 * desk_backends / TICKS / done, 2),
        "cpu_percent_of_a_core": round(100 * sum(used.values()) / TICKS / took, 1),
        "postgresql_per_submission": {k: round(v / done, 2) for k, v in counted.items()},
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.saturation", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--citizens", type=int, default=1000)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log(f"saturating a desk with {args.clients} clients for {args.seconds}s …")
    figures = measure(args.clients, args.seconds, args.citizens)
    emit({"benchmark": "saturation", "clients": args.clients, "machine": machine(), **figures})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
