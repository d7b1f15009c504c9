"""Start the whole desk on one machine: every service, both gateways; stop all on Ctrl-C.

    python -m deploy.run            # SQLite under ./var unless DATABASE_URL/EVENTSTORE_URL say otherwise

Each service runs as its own `nameko run` process on RabbitMQ; each gateway as its own uvicorn.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from infra.settings import GatewaySettings

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("identity", "requests", "secretariat", "notify", "survey", "relay")
GATEWAYS = {"citizen": 8000, "backoffice": 8001}


@dataclass(frozen=True)
class Simulator:
    """A stand-in for a government system or provider we cannot reach, run as its own HTTP
    service; `url_variable` tells the services' adapters where it listens."""

    module: str  # an ASGI app, "package.module:app"
    port: int
    url_variable: str


SIMULATORS = {
    "civil-registry": Simulator("deploy.simulators.civil_registry:app", 8101, "CIVIL_REGISTRY_URL"),
    "shahkar": Simulator("deploy.simulators.shahkar:app", 8102, "SHAHKAR_URL"),
    "sms-provider": Simulator("deploy.simulators.sms_provider:app", 8103, "SMS_HTTP_URL"),
    "smtp": Simulator("deploy.simulators.smtp:app", 8104, "SMTP_SIMULATOR_URL"),
}


def available_simulators() -> dict[str, Simulator]:
    """The simulators whose code exists in this checkout."""
    return {
        name: sim
        for name, sim in SIMULATORS.items()
        if importlib.util.find_spec(sim.module.split(":")[0]) is not None
    }


def service_command(service: str) -> list[str]:
    """The command that runs one service."""
    return [
        sys.executable,
        "-m",
        "nameko",
        "run",
        "--config",
        str(ROOT / "deploy" / "nameko.yaml"),
        f"services.{service}.service",
    ]


def uvicorn_command(app: str, port: int) -> list[str]:
    """The command that runs one ASGI app (a gateway or a simulator)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        GatewaySettings.load().GATEWAY_HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


@dataclass
class Desk:
    """The processes of one running desk."""

    env: Mapping[str, str]
    ports: Mapping[str, int] = field(default_factory=lambda: dict(GATEWAYS))
    simulator_ports: Mapping[str, int] = field(
        default_factory=lambda: {name: sim.port for name, sim in SIMULATORS.items()}
    )
    log_dir: Path = ROOT / "var" / "log"
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_service(self, service: str) -> None:
        """Start (or restart) one service's process."""
        self._spawn(service, service_command(service))

    def start_extra(self, name: str, service: str) -> None:
        """Start another process of `service` under `name`: a second replica on the same broker,
        store and read models, as a cluster runs it."""
        self._spawn(name, service_command(service))

    def start(self) -> None:
        """Start every simulator, service and gateway, then wait until the gateways answer
        `/healthz`. Adapters are pointed at the simulators unless the environment says otherwise."""
        env = dict(self.env)
        for name, sim in available_simulators().items():
            port = self.simulator_ports[name]
            env.setdefault(sim.url_variable, f"http://127.0.0.1:{port}")
            self._spawn(name, uvicorn_command(sim.module, port))
        env.setdefault("PUBLIC_CITIZEN_URL", f"http://127.0.0.1:{self.ports['citizen']}")
        self.env = env
        for service in SERVICES:
            self.start_service(service)
        for gateway, port in self.ports.items():
            self._spawn(gateway, uvicorn_command(f"gateway.{gateway}.app:app", port))
        self.wait_healthy()

    def _spawn(self, name: str, command: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "ab") as log:  # the child keeps its own copy
            self.processes[name] = subprocess.Popen(
                command,
                cwd=ROOT,
                env=dict(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def url(self, gateway: str) -> str:
        """The base URL of a gateway."""
        return f"http://127.0.0.1:{self.ports[gateway]}"

    def wait_healthy(self, timeout: float = 90) -> None:
        """Block until both gateways report every service reachable."""
        deadline = time.monotonic() + timeout
        pending = set(self.ports)
        while pending:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; see {self.log_dir}/{name}.log"
                    )
            for gateway in list(pending):
                try:
                    with urllib.request.urlopen(self.url(gateway) + "/healthz", timeout=5) as answer:
                        if answer.status == 200:
                            pending.discard(gateway)
                except (urllib.error.URLError, OSError):
                    pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"not healthy after {timeout}s: {sorted(pending)}")
            time.sleep(0.3)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to one process and wait for it to end."""
        process = self.processes[name]
        process.send_signal(sig)
        process.wait(timeout=30)

    def stop(self) -> None:
        """Stop everything: SIGTERM, then SIGKILL whatever lingers."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


DEMO_ADMIN = {"ADMIN_NATIONAL_CODE": "0084575948", "ADMIN_MOBILE": "09120000000"}


def demo_admin(env: dict[str, str]) -> str | None:
    """On a machine without an administrator configured, make (once) a demo one with a random
    password kept in var/admin-credentials.txt; returns a line to print, or None."""
    if env.get("ADMIN_NATIONAL_CODE"):
        return None
    path = Path(env.get("PISHKHAN_VAR", "var")) / "admin-credentials.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        path.write_text(f"{DEMO_ADMIN['ADMIN_NATIONAL_CODE']}\n{password}\n{DEMO_ADMIN['ADMIN_MOBILE']}\n")
        path.chmod(0o600)
    code, password, mobile = path.read_text().split()
    env.update(ADMIN_NATIONAL_CODE=code, ADMIN_PASSWORD=password, ADMIN_MOBILE=mobile)
    return f"demo administrator:  national code {code}, password {password} (one-time codes: SMS outbox)"


def signing_key(env: dict[str, str]) -> str | None:
    """Without `EVENTSTORE_SIGNING_KEY`, make (once) a key for signed heads of the history, kept in
    var/head-signing-key (a real desk keeps its key where the database's administrators cannot
    read it, and publishes its heads elsewhere: docs/operations.md); returns a line to print."""
    if env.get("EVENTSTORE_SIGNING_KEY"):
        return None
    from infra.ops.heads import new_key, private_key, public_key_of

    path = Path(env.get("PISHKHAN_VAR", "var")) / "head-signing-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key() + "\n")
        path.chmod(0o600)
    key = path.read_text().strip()
    env["EVENTSTORE_SIGNING_KEY"] = key
    return f"signed heads:        key {public_key_of(private_key(key))[:16]}… in {path} (pishkhan heads)"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args()
    env = dict(os.environ)  # handed on to every child process, which reads its own settings
    admin = demo_admin(env)
    heads_line = signing_key(env)
    desk = Desk(env=env)
    print("starting services and gateways …", flush=True)
    try:
        desk.start()
        citizen, office = desk.url("citizen"), desk.url("backoffice")
        print(f"citizen gateway:     {citizen}/  (API: {citizen}/openapi.json)")
        print(f"back-office gateway: {office}/api/inbox  (API: {office}/openapi.json)")
        print(f"health:              {citizen}/healthz  {office}/healthz")
        print(f"logs:                {desk.log_dir}/  (SMS outbox: var/sms-outbox.db)")
        if admin:
            print(admin)
        if heads_line:
            print(heads_line)
        print("Ctrl-C stops everything.", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)
        while True:
            for name, process in desk.processes.items():
                if process.poll() is not None:
                    print(f"{name} stopped with {process.returncode}; see {desk.log_dir}/{name}.log")
                    return
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping …", flush=True)
        desk.stop()


if __name__ == "__main__":
    main()
