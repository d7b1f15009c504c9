"""A whole desk in real processes on the machine's RabbitMQ, on PostgreSQL or SQLite."""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner

from deploy.run import GATEWAYS, SIMULATORS, Desk
from gateway.web.auth import Principal
from tests.pg import pg_available, scratch_database
from tests.rabbit import rabbit_available, scratch_vhost

DATABASE_VARIABLES = ("EVENTSTORE_URL", "DATABASE_URL", "READMODEL_URL")


_HANDED_OUT: set[int] = set()


def _ephemeral_range() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def free_port() -> int:
    """A TCP port nobody listens on right now, taken below the kernel's ephemeral range: a port
    from that range can be given to some outgoing connection before our server binds it."""
    ephemeral = _ephemeral_range()
    candidates = [p for p in range(20000, 32000) if p not in ephemeral and p not in _HANDED_OUT]
    for port in random.sample(candidates, len(candidates)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free TCP port between 20000 and 32000")


@contextlib.contextmanager
def running_desk(folder: Path, backend: str, **env: str) -> Iterator[Desk]:
    """Every simulator, service and gateway as its own process, RPC in a scratch RabbitMQ vhost;
    store and read models in a scratch PostgreSQL database or in SQLite files under `folder`."""
    for reason in (rabbit_available(), pg_available()):
        if reason is not None:
            pytest.fail(f"these tests need the machine's services: {reason}")
    with scratch_vhost() as amqp_uri, contextlib.ExitStack() as stack:
        variables = {
            **{k: v for k, v in os.environ.items() if k not in DATABASE_VARIABLES},
            "AMQP_URI": amqp_uri,
            "SMS_OUTBOX_URL": f"sqlite:///{folder / 'outbox.db'}",
            "PISHKHAN_VAR": str(folder),
            **env,
        }
        if backend == "postgresql":
            db_url = stack.enter_context(scratch_database())
            variables.update(EVENTSTORE_URL=db_url, DATABASE_URL=db_url)
        desk = Desk(
            env=variables,
            ports={g: free_port() for g in GATEWAYS},
            simulator_ports={s: free_port() for s in SIMULATORS},
            log_dir=folder / "log",
        )
        try:
            desk.start()
            yield desk
        finally:
            desk.stop()


def session_cookie(desk: Desk, principal: Principal) -> dict[str, str]:
    """A signed session cookie for `principal`, as the gateways' session middleware writes it.

    For tests of one area that need a signed-in user without walking through the login pages
    (identity's own tests do walk through them)."""
    secret = session_secret_of(desk)
    data = {"user": {**asdict(principal), "roles": list(principal.roles)}, "csrf": CSRF_FOR_TESTS}
    value = TimestampSigner(secret).sign(b64encode(json.dumps(data).encode())).decode()
    return {"name": "pishkhan_" + ("backoffice" if principal.kind == "staff" else "citizen"), "value": value}


def session_secret_of(desk: Desk) -> str:
    """The session secret the desk's gateways use."""
    if desk.env.get("SESSION_SECRET"):
        return desk.env["SESSION_SECRET"]
    return (Path(desk.env["PISHKHAN_VAR"]) / "session-secret").read_text().strip()


CSRF_FOR_TESTS = "test-csrf-token"
"""The CSRF token inside cookies made by `session_cookie` (send it as `X-CSRF-Token`)."""
