"""A whole desk in real processes on the machine's RabbitMQ, on PostgreSQL or SQLite."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import socket
from base64 import b64encode
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from itsdangerous import TimestampSigner

from contracts.envelope import StreamState, WrongExpectedVersion
from contracts.events import Event, new_event
from contracts.identity import (
    CitizenRegistered,
    RegistryRecord,
    RegistryVerified,
    RoleGranted,
    RoleRevoked,
    ShahkarChecked,
    StaffCreated,
)
from deploy.run import GATEWAYS, SIMULATORS, Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from services.identity.accounts import Account, account_stream, load_account
from tests.pg import pg_available, scratch_database
from tests.rabbit import rabbit_available, scratch_vhost
from tests.units import TEST_UNITS, define_units_on

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
            define_units_on(desk, TEST_UNITS)
            yield desk
        finally:
            desk.stop()


def session_cookie(desk: Desk, principal: Principal) -> dict[str, str]:
    """A signed session cookie for `principal`, as the gateways' session middleware writes it.

    For tests of one area that need a signed-in user without walking through the login pages
    (identity's own tests do walk through them). The gateways ask identity who a session's
    account is on every request, so the principal is first made an account identity knows
    (`make_real`), and the cookie carries its security stamp."""
    secret = session_secret_of(desk)
    stamp = make_real(desk, principal)
    data = {"user": {"account_id": principal.account_id, "stamp": stamp}, "csrf": CSRF_FOR_TESTS}
    value = TimestampSigner(secret).sign(b64encode(json.dumps(data).encode())).decode()
    return {"name": "pishkhan_" + ("backoffice" if principal.kind == "staff" else "citizen"), "value": value}


def signed_in_client(
    desk: Desk, principal: Principal, *, gateway: str | None = None, timeout: float = 20
) -> httpx.Client:
    """An HTTP client signed in as `principal` (its `session_cookie`) that sends the session's CSRF
    token as `X-CSRF-Token`, as the pages' scripts do. It speaks to `gateway`, by default the
    principal's own: the back office for staff, the citizen's gateway for citizens. Close it, or
    use it in a `with`."""
    cookie = session_cookie(desk, principal)
    return httpx.Client(
        base_url=desk.url(gateway or ("backoffice" if principal.kind == "staff" else "citizen")),
        cookies={cookie["name"]: cookie["value"]},
        headers={"X-CSRF-Token": CSRF_FOR_TESTS},
        timeout=timeout,
    )


def store_url_of(desk: Desk) -> str:
    """The event store the desk's services write to."""
    env = desk.env
    embedded = f"sqlite:///{Path(env.get('PISHKHAN_VAR', 'var')) / 'events.db'}"  # infra.db.default_url
    return env.get("EVENTSTORE_URL") or env.get("DATABASE_URL") or embedded


def make_real(desk: Desk, principal: Principal) -> int:
    """Make `principal` an account of the desk's identity, as a registration or an administrator
    would have recorded it: a citizen registered by mobile (with the Shahkar match or the
    registry's confirmation its assurance level needs), or a staff member with exactly its roles
    (a clerk's province, a representative's unit; `scopes` for any other). Idempotent: an account
    that exists only gets the roles it lacks granted and the ones it should not have revoked.
    Its security stamp (to put in a session)."""
    store = open_store(store_url_of(desk))
    try:
        while True:
            account = load_account(store, principal.account_id)
            events = _missing_events(principal, account)
            if not events:
                assert account is not None
                return account.stamp
            expected = StreamState.NO_STREAM if account is None else account.version
            try:
                store.append(
                    account_stream(principal.account_id),
                    [new_event(e, actor="test:session_cookie") for e in events],
                    expected,
                )
            except WrongExpectedVersion:
                continue  # made at the same time by another test thread: look again
    finally:
        store.close()


def _digits(seed: str, count: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:count]


def _missing_events(principal: Principal, account: Account | None) -> list[Event]:
    at = datetime.now(UTC).isoformat()
    account_id = principal.account_id
    national_code = principal.national_code or _digits(f"code:{account_id}", 10)
    mobile = principal.mobile or "09" + _digits(f"mobile:{account_id}", 9)
    if principal.kind == "citizen":
        if account is not None:
            return []
        first, _, last = principal.display_name.partition(" ")
        events: list[Event] = [
            CitizenRegistered(
                account_id=account_id,
                national_code=national_code,
                mobile=mobile,
                kind="natural",
                full_name=principal.display_name,
                first_name=first,
                last_name=last,
                birth_date="1368/04/15",
                method="mobile",
                registered_at=at,
            )
        ]
        if principal.assurance_level == 2:
            events.append(ShahkarChecked(account_id=account_id, mobile=mobile, matched=True, at=at))
        if principal.assurance_level >= 3:
            record = RegistryRecord(
                first_name=first,
                last_name=last,
                father_name="علی",
                certificate_number="123",
                certificate_serial="456",
                gender="female",
                alive=True,
                birth_date="1368/04/15",
            )
            events.append(RegistryVerified(account_id=account_id, registry=record, at=at))
        return events
    events = []
    if account is None:
        created = StaffCreated(
            account_id=account_id,
            national_code=national_code,
            full_name=principal.display_name,
            mobile=mobile,
            created_by="test",
            created_at=at,
        )
        events.append(created)
    held = account.roles if account is not None else {}
    for role in principal.roles:
        scope = _scope(principal, role)
        if held.get(role) != scope:
            events.append(RoleGranted(account_id=account_id, role=role, granted_by="test", at=at, **scope))
    for role in held:
        if role not in principal.roles:
            events.append(RoleRevoked(account_id=account_id, role=role, revoked_by="test", at=at))
    return events


def _scope(principal: Principal, role: str) -> dict[str, str | None]:
    if role in principal.scopes:
        return {
            "province": principal.scopes[role].get("province"),
            "unit": principal.scopes[role].get("unit"),
        }
    return {
        "province": principal.province if role == "clerk" else None,
        "unit": principal.unit if role == "representative" else None,
    }


def session_secret_of(desk: Desk) -> str:
    """The session secret the desk's gateways use."""
    if desk.env.get("SESSION_SECRET"):
        return desk.env["SESSION_SECRET"]
    return (Path(desk.env["PISHKHAN_VAR"]) / "session-secret").read_text().strip()


CSRF_FOR_TESTS = "test-csrf-token"
"""The CSRF token inside cookies made by `session_cookie` (send it as `X-CSRF-Token`)."""
