"""A private PostgreSQL primary with a synchronous streaming standby, that a test may fail over.

The primary confirms a commit only once the standby has its WAL (`synchronous_commit=on`, the
standby named in `synchronous_standby_names`), so whatever the desk acknowledged is on the
standby when the primary dies. The standby is a base backup of the primary (`pg_basebackup -R`)
that streams from it under the name `STANDBY`. `fail_over` kills the primary's postmaster with
SIGKILL, as a crash of its machine would, and promotes the standby.

The standby runs without `synchronous_standby_names`: promoted, it has no standby of its own,
and a server that waits for one would never confirm a commit again. (Settings given on the
command line also win over `ALTER SYSTEM`, so they could not be cleared after the promotion.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa

from tests.faults.instances import PG_BIN, PrivatePostgres

RECOVERIES: dict[str, dict[str, float]] = {}
"""Failover → seconds from the kill to each step of the recovery, for the terminal summary."""

STANDBY = "pishkhan_standby"
"""The standby's `application_name`, which the primary's `synchronous_standby_names` names."""

PRIMARY_SETTINGS = {
    "wal_level": "replica",
    "max_wal_senders": "5",
    "wal_keep_size": "256MB",
    "synchronous_commit": "on",
    "synchronous_standby_names": STANDBY,
}
STANDBY_SETTINGS = {"hot_standby": "on", "wal_level": "replica", "max_wal_senders": "5"}


class StreamingPair:
    """A primary and its synchronous standby, each a `PrivatePostgres` on its own port."""

    def __init__(self) -> None:
        self.primary = PrivatePostgres(PRIMARY_SETTINGS)
        self.standby = PrivatePostgres(STANDBY_SETTINGS, initialise=False)
        self.promoted = False

    def start(self, database: str = "pishkhan") -> None:
        """Start the primary, clone the standby from it, wait until the standby streams
        synchronously and create `database` (before that, the primary would confirm no commit)."""
        self.primary.start()
        conninfo = f"host=127.0.0.1 port={self.primary.port} user=postgres application_name={STANDBY}"
        # -R writes standby.signal and primary_conninfo (with the application_name above).
        self._run(
            "pg_basebackup",
            "-d",
            conninfo,
            "-D",
            str(self.standby.folder / "data"),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        self.standby.start()
        self._wait_streaming()
        self.primary.create_database(database)

    def _run(self, tool: str, *args: str) -> str:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout

    def _wait_streaming(self, timeout: float = 60) -> None:
        engine = sa.create_engine(self.primary.url())
        try:
            deadline = time.monotonic() + timeout
            while True:
                with engine.connect() as conn:
                    rows = conn.execute(
                        sa.text("SELECT application_name, state, sync_state FROM pg_stat_replication")
                    ).all()
                if (STANDBY, "streaming", "sync") in [tuple(row) for row in rows]:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"the standby does not stream synchronously: {rows}")
                time.sleep(0.1)
        finally:
            engine.dispose()

    def url(self, database: str = "pishkhan") -> str:
        """The desk's URL: both servers, whichever of them accepts writes."""
        hosts = "&".join(f"host=127.0.0.1:{server.port}" for server in (self.primary, self.standby))
        return f"postgresql+psycopg2://postgres@/{database}?{hosts}&target_session_attrs=read-write"

    def kill_primary(self) -> None:
        """SIGKILL the primary's postmaster (its first `postmaster.pid` line), then wait until
        its backends, which notice the postmaster's death, are gone too."""
        pid = int((self.primary.folder / "data" / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def promote(self) -> None:
        """Promote the standby and wait until it accepts writes."""
        self._run("pg_ctl", "-D", str(self.standby.folder / "data"), "-w", "-t", "60", "promote")
        self.promoted = True

    def in_recovery(self, server: PrivatePostgres) -> bool:
        """`pg_is_in_recovery()` of one server."""
        engine = sa.create_engine(server.url())
        try:
            with engine.connect() as conn:
                return bool(conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar_one())
        finally:
            engine.dispose()

    def close(self) -> None:
        """Stop both servers and remove their files."""
        self.standby.close()
        self.primary.close()


def _running(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")
