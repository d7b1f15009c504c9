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

Each run's progress (its stderr) is kept in var/compare/ (`base-lag.log`, `head-lag.log`); a
run that fails or prints no figures ends the comparison with its exit code and last lines.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import wrk
from bench.common import emit, log, machine

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
PG_PORT = 5432
LOGS = ROOT / "var" / "compare"
"""Where each run's stderr is kept (the worktrees, and the desks' own logs, are removed)."""
TAIL_LINES = 20


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
        owner = ("postgres" in command and pid in serving and (serving[pid], "postgres")) or _desk_of(
            command, cwd, roots
        )
        if owner:
            used[owner] += ticks - before[pid][2]
    figures: dict[str, dict[str, float]] = {desk: {} for desk in set(roots.values())}
    for (desk, part), ticks in used.items():
        figures[desk][part] = round(100 * ticks / TICKS / took, 1)
    for parts in figures.values():
        parts["total"] = round(sum(parts.values()), 1)
    return figures


class RunFailed(Exception):
    """A benchmark run that exited non-zero or printed no JSON line."""


@dataclass
class Run:
    """One benchmark child: which benchmark, for which desk and revision, and where its stderr is."""

    benchmark: str
    desk: str
    revision: str
    process: subprocess.Popen[str]
    stderr: Path


def launch(
    benchmark: str,
    command: Sequence[str],
    folder: Path,
    desk: str,
    revision: str,
    logs: Path = LOGS,
) -> Run:
    """Start `command` in `folder` (a checkout), its stdout piped, its stderr in `logs`."""
    logs.mkdir(parents=True, exist_ok=True)
    stderr = logs / f"{desk}-{benchmark.rsplit('.', 1)[-1]}.log"
    with stderr.open("w", encoding="utf-8") as err:  # the child keeps its own copy
        process = subprocess.Popen(list(command), cwd=folder, stdout=subprocess.PIPE, stderr=err, text=True)
    return Run(benchmark, desk, revision, process, stderr)


def last_json(stdout: str) -> dict[str, Any] | None:
    """The last line of `stdout` that is a JSON object (a benchmark may print other lines)."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            found = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(found, dict):
            return found
    return None


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a file, or a note that there is none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"(no stderr: {error})"
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(kept) if kept else "(stderr empty)"


def figures_of(run: Run, stdout: str) -> dict[str, Any]:
    """The run's JSON figures, or RunFailed naming the benchmark, desk, revision, exit code and
    the last lines of its stderr."""
    code = run.process.wait()
    found = last_json(stdout) if code == 0 else None
    if found is not None:
        return found
    why = f"exited with {code}" if code else "exited with 0 but printed no JSON line"
    raise RunFailed(
        f"{run.benchmark} for {run.desk} (revision {run.revision}) {why}; "
        f"last {TAIL_LINES} lines of its stderr ({run.stderr}):\n{tail(run.stderr)}"
    )


def collect(runs: Sequence[Run]) -> dict[str, dict[str, Any]]:
    """Wait for every run; each desk's figures, or RunFailed telling every run that failed."""
    outputs = {run.desk: run.process.communicate()[0] or "" for run in runs}
    results, failures = {}, []
    for run in runs:
        try:
            results[run.desk] = figures_of(run, outputs[run.desk])
        except RunFailed as failed:
            failures.append(str(failed))
    if failures:
        raise RunFailed("\n\n".join(failures))
    return results


def _revision(rev: str | None) -> str:
    """`rev` as a short commit (this checkout's `git describe --dirty` for None)."""
    command = ["git", "-C", str(ROOT)]
    command += ["describe", "--always", "--dirty"] if rev is None else ["rev-parse", "--short", rev]
    found = subprocess.run(command, capture_output=True, text=True).stdout.strip()
    return found or str(rev)


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
    revisions = {"base": _revision(args.base), "head": _revision(args.head)}
    # Each run installs wrk when it is missing: two installing it at once collide on dpkg's lock
    # and one fails, its desk already up. Here, it is installed once before either starts.
    wrk.binary()
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
        runs = [
            launch("bench.lag", command, Path(folder), desk, revisions[desk])
            for folder, desk in roots.items()
        ]
        figures: dict[str, dict[str, float]] = {}

        def measure() -> None:
            while _wrk_running() < 2 and all(run.process.poll() is None for run in runs):
                time.sleep(0.2)
            time.sleep(3)  # past the first seconds of each run
            if any(run.process.poll() is not None for run in runs):
                return  # one ended before taking load: nothing to compare
            figures.update(sample(roots, args.sample, ADMIN_URL))

        log(f"both desks at {args.rate}/s; sampling {args.sample}s of CPU once both take load …")
        log(f"  their progress: {runs[0].stderr}, {runs[1].stderr}")
        sampler = threading.Thread(target=measure)
        sampler.start()
        try:
            results = collect(runs)
        except RunFailed as failed:
            sampler.join()
            raise SystemExit(f"bench.compare: {failed}") from None
        sampler.join()
    for desk, lag in results.items():
        per_s = lag["submissions"]["per_s"]
        cpu = figures.get(desk, {})
        summary[desk] = {
            "submissions": lag["submissions"],
            "lag_p99_ms": {view: lag["lag"][view]["p99_ms"] for view in lag["lag"]},
            "cpu_percent": cpu,
            "cpu_ms_per_submission": round(10 * cpu.get("total", 0) / per_s, 2) if per_s else None,
        }
    summary["base"]["revision"] = args.base
    summary["head"]["revision"] = args.head or revisions["head"]
    if summary["base"]["cpu_ms_per_submission"]:
        summary["head_to_base_cpu"] = round(
            summary["head"]["cpu_ms_per_submission"] / summary["base"]["cpu_ms_per_submission"], 3
        )
    summary["elapsed_s"] = round(time.perf_counter() - began, 1)
    emit(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
