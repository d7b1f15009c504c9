"""CPU per submission of this checkout beside an earlier revision, both under the same load at once.

    .venv/bin/python -m bench.compare --base REV [--head REV] [--rate 20] [--seconds 40] [--sample 25]

On a machine whose speed changes by half from one minute to the next, two runs one after the
other compare the machine, not the code. So this starts both desks side by side: the revision
`REV` in a scratch git worktree and this checkout (or `--head REV`, in another worktree), each on
its own scratch database and RabbitMQ vhost, each offered `rate` submissions a second by
`bench.lag` (wrk). While both run it reads the CPU time of each desk's services and gateways
(their processes' working folder tells the desk) and of the PostgreSQL backends serving each
(found through their client's socket), over `sample` seconds. RabbitMQ is shared and left out.
Both desks see the same slow spells, so the ratio `head / base` of CPU per submission is what
the change did. `rate` should leave the machine some room: both desks must take everything
offered.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import emit, log, machine

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
PG_PORT = 5432


@contextlib.contextmanager
def worktree(revision: str | None) -> Iterator[Path]:
    """A scratch checkout of `revision` (removed afterwards); this checkout for None."""
    if revision is None:
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix="pishkhan-compare-") as parent:
        folder = Path(parent) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision], check=True
        )
        try:
            yield folder
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False
            )


def processes() -> dict[int, tuple[str, str, int]]:
    """pid → (command line, working folder, CPU ticks so far)."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            command = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{name}/cwd")
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(name)] = (command, cwd, int(fields[11]) + int(fields[12]))
    return found


def _client_ports(pids: Sequence[int]) -> dict[int, int]:
    """Local TCP port → pid, of `pids`' connections to PostgreSQL."""
    owner = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        owner[int(target[8:-1])] = pid
    ports = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                local, remote, inode = parts[1], parts[2], int(parts[9])
                if int(remote.rsplit(":", 1)[1], 16) == PG_PORT and inode in owner:
                    ports[int(local.rsplit(":", 1)[1], 16)] = owner[inode]
    return ports


def _desk_of(command: str, cwd: str, roots: dict[str, str]) -> tuple[str, str] | None:
    """(desk, part) of a service or gateway process, or None."""
    desk = roots.get(cwd)
    if desk is None:
        return None
    if "nameko run" in command:
        return desk, "services"
    if "uvicorn" in command and "gateway." in command:
        return desk, "gateways"
    return None


def sample(roots: dict[str, str], seconds: float, admin_url: str) -> dict[str, dict[str, float]]:
    """Per desk, the % of one core its services, gateways and PostgreSQL backends used."""
    engine = sa.create_engine(admin_url)

    def backends() -> dict[int, str]:
        running = processes()
        ports = _client_ports([pid for pid, (c, cwd, _) in running.items() if _desk_of(c, cwd, roots)])
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT pid, client_port FROM pg_stat_activity WHERE client_port > 0")
            )
            served = {int(pid): ports.get(int(port)) for pid, port in rows}
        return {pid: roots[running[client][1]] for pid, client in served.items() if client in running}

    try:
        serving, before = backends(), processes()
        started = time.monotonic()
        time.sleep(seconds)
        after, took = processes(), time.monotonic() - started
        serving |= backends()
    finally:
        engine.dispose()
    used: Counter[tuple[str, str]] = Counter()
    for pid, (command, cwd, ticks) in after.items():
        if pid not in before:
            continue
        part = ("postgres" in command and pid in serving and (serving[pid], "postgres")) or _desk_of(
            command, cwd, roots
        )
        if part:
            used[part] += ticks - before[pid][2]
    figures: dict[str, dict[str, float]] = {desk: {} for desk in set(roots.values())}
    for (desk, part), ticks in used.items():
        figures[desk][part] = round(100 * ticks / TICKS / took, 1)
    for parts in figures.values():
        parts["total"] = round(sum(parts.values()), 1)
    return figures


def _wrk_running() -> int:
    return sum(1 for command, _, _ in processes().values() if command.split(" ", 1)[0].endswith("wrk"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the git revision to compare with")
    parser.add_argument("--head", help="the git revision compared (default: this checkout as it is)")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="submissions offered per second to each desk"
    )
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--sample", type=float, default=25.0, help="seconds of CPU sampled while both run")
    args = parser.parse_args(argv)
    from tests.pg import ADMIN_URL

    began = time.perf_counter()
    summary: dict[str, Any] = {"benchmark": "compare", "rate": args.rate, "machine": machine()}
    with worktree(args.base) as base, worktree(args.head) as head:
        roots = {str(base): "base", str(head): "head"}
        command = [
            sys.executable,
            "-m",
            "bench.lag",
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
        ]
        command += ["--poll-ms", "50"]
        runs = {
            desk: subprocess.Popen(
                command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            for folder, desk in roots.items()
        }
        figures: dict[str, dict[str, float]] = {}

        def measure() -> None:
            while _wrk_running() < 2 and all(run.poll() is None for run in runs.values()):
                time.sleep(0.2)
            time.sleep(3)  # past the first seconds of each run
            figures.update(sample(roots, args.sample, ADMIN_URL))

        log(f"both desks at {args.rate}/s; sampling {args.sample}s of CPU once both take load …")
        sampler = threading.Thread(target=measure)
        sampler.start()
        outputs = {desk: run.communicate()[0] for desk, run in runs.items()}
        sampler.join()
    for desk, output in outputs.items():
        lag = json.loads(output.strip().splitlines()[-1])
        per_s = lag["submissions"]["per_s"]
        cpu = figures.get(desk, {})
        summary[desk] = {
            "submissions": lag["submissions"],
            "lag_p99_ms": {view: lag["lag"][view]["p99_ms"] for view in lag["lag"]},
            "cpu_percent": cpu,
            "cpu_ms_per_submission": round(10 * cpu.get("total", 0) / per_s, 2) if per_s else None,
        }
    summary["base"]["revision"] = args.base
    summary["head"]["revision"] = (
        args.head
        or subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True
        ).stdout.strip()
    )
    if summary["base"]["cpu_ms_per_submission"]:
        summary["head_to_base_cpu"] = round(
            summary["head"]["cpu_ms_per_submission"] / summary["base"]["cpu_ms_per_submission"], 3
        )
    summary["elapsed_s"] = round(time.perf_counter() - began, 1)
    emit(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
