"""A desk on PostgreSQL keeps within its connection budget (docs/operations/connections.md), as
`pg_stat_activity` shows it: each service process holds at most two pools of `DB_POOL_SIZE`
connections and one listening connection, gives back what rests `DB_POOL_IDLE_SECONDS`, and
names every connection `pishkhan-<service>-<role>`. Two desks share one server.

Before, a desk held 17-62 connections whatever it was doing (nothing closed a pooled one), all
of them unnamed, and two desks beside a test run exhausted a server allowing 100."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.common import citizen, submission
from deploy.run import SERVICES, Desk
from infra.db import PoolSettings, RestingPool, application_name, make_engine
from tests.desk import CSRF_FOR_TESTS, running_desk, session_cookie
from tests.pg import ADMIN_URL, required_database

pytestmark = pytest.mark.integration

POOLS = PoolSettings()
"""The default sizes, which the documented budget is worked out for."""
PEAK = len(SERVICES) * POOLS.process_ceiling()
"""A desk's ceiling: every service's two pools full, and its listening connection (35)."""
AT_REST = 3 * len(SERVICES)
"""A resting desk: per service its listener, the store connection its projections check the
store with once a second, and one more for a periodic task (15)."""
ROLES = {"store", "readmodels", "listen"}
IDLE = {"DB_POOL_IDLE_SECONDS": "1"}
"""So that the test waits a second, not half a minute, for connections to rest."""
CLIENTS, EACH = 16, 15
SETTLE = 60.0
"""Seconds to wait at most for a desk's connections to come down to the budget at rest."""

_admin = sa.create_engine(ADMIN_URL, poolclass=sa.pool.NullPool)
_ours = application_name("")
"""This process's own connections (its sessions make accounts in the desk's store) start so."""


def _connections(desk: Desk) -> Counter[str]:
    """The desk's services' connections to its database, by application name."""
    database = make_url(desk.env["DATABASE_URL"]).database
    query = sa.text(
        "SELECT application_name FROM pg_stat_activity"
        " WHERE datname = :database AND backend_type = 'client backend'"
    )
    with _admin.connect() as conn:
        names = Counter(str(name) for name in conn.execute(query, {"database": database}).scalars())
    return Counter({name: n for name, n in names.items() if not name.startswith(_ours)})


def _service_and_role(name: str) -> tuple[str, str]:
    """(`identity`, `store`) from `pishkhan-identity-store`; a name of no service fails."""
    prefix, service, role = [*name.split("-", 2), "", ""][:3]
    assert prefix == "pishkhan" and service in SERVICES and role in ROLES, f"a connection named {name!r}"
    return service, role


def _settled(desk: Desk, at_most: int) -> Counter[str]:
    """The desk's connections once they are `at_most` (or after `SETTLE` seconds)."""
    deadline = time.monotonic() + SETTLE
    while True:
        found = _connections(desk)
        if sum(found.values()) <= at_most or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _per_service(found: Counter[str]) -> Counter[str]:
    per: Counter[str] = Counter()
    for name, n in found.items():
        per[_service_and_role(name)[0]] += n
    return per


class _Peak:
    """The most connections the desk held at once while it runs, sampled every 50 ms."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.most: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            found = _connections(self.desk)
            if sum(found.values()) > sum(self.most.values()):
                self.most = found

    @contextmanager
    def running(self) -> Iterator[_Peak]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


def _burst(desk: Desk, clients: int, each: int) -> Counter[int]:
    """`clients` signed-in citizens at once, each submitting `each` requests through the citizen
    gateway's API one after the other; the answers' status codes."""
    first = uuid.uuid4().int % 10**8  # citizens of their own: two desks' bursts share nothing
    cookies = {n: session_cookie(desk, citizen(first + n)) for n in range(clients)}

    def submit_all(n: int) -> list[int]:
        cookie = cookies[n]
        with httpx.Client(
            base_url=desk.url("citizen"),
            timeout=60,
            cookies={cookie["name"]: cookie["value"]},
            headers={"X-CSRF-Token": CSRF_FOR_TESTS},
        ) as client:
            return [
                client.post(
                    "/api/requests", json=submission(first + n), headers={"Idempotency-Key": uuid.uuid4().hex}
                ).status_code
                for _ in range(each)
            ]

    with ThreadPoolExecutor(clients) as pool:
        return Counter(code for codes in pool.map(submit_all, range(clients)) for code in codes)


def _held(database: str, name: str, expected: int) -> int:
    """How many connections named `name` the server holds on `database`, once it is `expected`
    (a closed connection's server process takes a moment to leave pg_stat_activity)."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = :database AND application_name = :name"
    )
    deadline = time.monotonic() + 10
    while True:
        with _admin.connect() as conn:
            held = int(conn.execute(query, {"database": database, "name": name}).scalar_one())
        if held == expected or time.monotonic() > deadline:
            return held
        time.sleep(0.05)


def test_a_pool_gives_back_the_connections_that_rested_and_keeps_the_one_in_use() -> None:
    with required_database() as url:
        engine = make_engine(url, pool_size=2, role="budget")
        pool = engine.pool
        assert isinstance(pool, RestingPool)
        database, name = make_url(url).database or "", application_name("budget")
        try:
            with engine.connect() as first, engine.connect() as second:
                for conn in (first, second):
                    conn.execute(sa.text("SELECT 1"))
                assert _held(database, name, 2) == 2  # both named for this process and role
            assert _held(database, name, 2) == 2  # given back, not closed: a burst reuses them
            in_use = engine.connect()
            later = time.monotonic() + pool.idle + 1  # as the reaper sees them once they rested
            assert pool.close_rested(later) == 1  # the one resting, not the one in use
            assert _held(database, name, 1) == 1
            in_use.close()
            assert pool.close_rested(time.monotonic() + pool.idle + 1) == 1
            assert _held(database, name, 0) == 0
            with engine.connect() as again:  # a new one when needed
                assert again.execute(sa.text("SELECT 1")).scalar_one() == 1
        finally:
            engine.dispose()


def test_a_desk_holds_few_connections_at_rest_a_bounded_number_in_a_burst_and_gives_them_back(
    tmp_path: Path,
) -> None:
    with running_desk(tmp_path, "postgresql", **IDLE) as desk:
        rest = _settled(desk, AT_REST)
        assert sum(rest.values()) <= AT_REST, rest
        roles = [_service_and_role(name) for name in rest]  # each named for its service and role
        assert {service for service, role in roles if role == "listen"} == set(SERVICES)

        with _Peak(desk).running() as peak:
            answers = _burst(desk, CLIENTS, EACH)
        assert answers == Counter({201: CLIENTS * EACH})
        assert 0 < sum(peak.most.values()) <= PEAK, peak.most
        assert max(_per_service(peak.most).values()) <= POOLS.process_ceiling(), peak.most

        after = _settled(desk, AT_REST)  # the burst's connections rested and were closed
        assert sum(after.values()) <= AT_REST, after
        assert set(_per_service(after)) == set(SERVICES)


def test_two_desks_on_one_server_serve_bursts_at_once_within_their_budgets(tmp_path: Path) -> None:
    with ExitStack() as stack:
        desks = []
        for name in ("first", "second"):
            (tmp_path / name).mkdir()
            desks.append(stack.enter_context(running_desk(tmp_path / name, "postgresql", **IDLE)))
        peaks = [stack.enter_context(_Peak(desk).running()) for desk in desks]
        with ThreadPoolExecutor(len(desks)) as pool:
            answers = list(pool.map(lambda desk: _burst(desk, CLIENTS // 2, EACH), desks))
        assert answers == [Counter({201: CLIENTS // 2 * EACH})] * len(desks)
        for peak in peaks:
            assert 0 < sum(peak.most.values()) <= PEAK, peak.most
        resting = [_settled(desk, AT_REST) for desk in desks]
        assert [sum(found.values()) <= AT_REST for found in resting] == [True, True], resting
