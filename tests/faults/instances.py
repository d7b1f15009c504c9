"""A private PostgreSQL cluster and a private RabbitMQ node that the fault tests may kill.

The machine's own PostgreSQL (5432) and RabbitMQ (5672) serve everybody else's tests and CI, so
they are never restarted here: each fault run makes its own instances on free ports, in
temporary folders owned by the servers' system users (neither server runs as root).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from tests.desk import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


def missing_tools() -> str | None:
    """None when this machine can run private instances, else why not."""
    if os.geteuid() != 0:
        return "private PostgreSQL/RabbitMQ instances are started as their system users: run as root"
    for tool in (PG_BIN / "initdb", PG_BIN / "pg_ctl", RABBIT_BIN / "rabbitmq-server"):
        if not tool.exists():
            return f"{tool} is not installed"
    for command in ("runuser", "rabbitmqctl"):
        if shutil.which(command) is None:
            return f"{command} is not on PATH"
    return None


def _owned_folder(prefix: str, user: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    shutil.chown(folder, user)
    return folder


class PrivatePostgres:
    """A PostgreSQL 15 cluster of our own, with trust authentication on 127.0.0.1."""

    def __init__(self, settings: dict[str, str] | None = None, *, initialise: bool = True) -> None:
        """`settings`: more server settings (`-c name=value`); `initialise=False` leaves `data`
        to be filled otherwise (a standby's base backup)."""
        self.folder = _owned_folder("pishkhan-faults-pg-", "postgres")
        self.port = free_port()
        self.settings = dict(settings or {})
        if initialise:
            self._pg("initdb", "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync")

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        # fsync off: the faults are process crashes, not power cuts, so the OS keeps every write.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
            " -c fsync=off -c max_connections=300"
        ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._pg(
            "pg_ctl",
            "-D",
            str(self.folder / "data"),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )

    def crash(self) -> None:
        """Stop without a shutdown checkpoint, as a crash would: the next start recovers from WAL."""
        self._pg("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create a database; return its URL."""
        admin = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def close(self) -> None:
        """Stop the server (if it runs) and remove its files."""
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRabbit:
    """A RabbitMQ node of our own (`faults-<random>@localhost`) on free AMQP and distribution ports.

    Debian's `rabbitmq-env` lets RABBITMQ_* variables win over `/etc/rabbitmq/rabbitmq-env.conf`,
    but `/etc/rabbitmq/rabbitmq.conf` pins the AMQP listener to 5672, so the node gets its own
    config, env and (empty) plugins files. It shares the `rabbitmq` user's Erlang cookie, which
    is what `rabbitmqctl` (run through Debian's wrapper as that user) presents.
    """

    def __init__(self, config: str = "", prefix: str = "faults") -> None:
        """`config`: more `rabbitmq.conf` lines; `prefix`: the start of the node's name."""
        self.folder = _owned_folder(f"pishkhan-{prefix}-rabbit-", "rabbitmq")
        self.node = f"{prefix}-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n{config}"
        )
        (self.folder / "rabbitmq-env.conf").write_text("ERL_EPMD_ADDRESS=127.0.0.1\n")
        (self.folder / "enabled_plugins").write_text("[].\n")
        for path in self.folder.iterdir():
            shutil.chown(path, "rabbitmq")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def amqp_uri(self) -> str:
        """Where clients connect (the default vhost)."""
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}/"

    def _environment(self) -> list[str]:
        f = self.folder
        return [
            "HOME=/var/lib/rabbitmq",
            f"RABBITMQ_NODENAME={self.node}",
            f"RABBITMQ_NODE_PORT={self.port}",
            f"RABBITMQ_DIST_PORT={self.dist_port}",
            f"RABBITMQ_CONF_ENV_FILE={f / 'rabbitmq-env.conf'}",
            f"RABBITMQ_CONFIG_FILE={f / 'rabbitmq.conf'}",
            f"RABBITMQ_ENABLED_PLUGINS_FILE={f / 'enabled_plugins'}",
            f"RABBITMQ_MNESIA_BASE={f / 'mnesia'}",
            f"RABBITMQ_LOG_BASE={f / 'log'}",
            f"RABBITMQ_LOGS={f / 'log' / 'node.log'}",
            f"RABBITMQ_PID_FILE={f / 'pid'}",
            "ERL_FLAGS=-kernel inet_dist_use_interface {127,0,0,1}",
        ]

    def ctl(self, *args: str, timeout: float = 90) -> str:
        """`rabbitmqctl -n <our node> …`; its output."""
        return subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        ).stdout

    def start(self) -> None:
        """Start the node and wait until RabbitMQ runs on it."""
        with open(self.folder / "server.out", "ab") as out:
            self.process = subprocess.Popen(
                [
                    "runuser",
                    "-u",
                    "rabbitmq",
                    "--",
                    "env",
                    *self._environment(),
                    str(RABBIT_BIN / "rabbitmq-server"),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.ctl("wait", "--timeout", "60", str(self.folder / "pid"))

    def crash(self) -> None:
        """SIGKILL the node's Erlang VM, as a crash would."""
        pid = int((self.folder / "pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        (self.folder / "pid").unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the node and remove its files."""
        try:
            if self.process is not None and self.process.poll() is None:
                self.ctl("stop", timeout=60)
                self.process.wait(timeout=30)
        except (subprocess.SubprocessError, OSError):
            if (self.folder / "pid").exists():
                os.kill(int((self.folder / "pid").read_text().strip()), signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
