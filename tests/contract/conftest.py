"""One `store` fixture per adapter: every contract test runs against each of them."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.eventstore import EventStore
from tests.pg import pg_available, scratch_database


def _docker_answers() -> str | None:
    path = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            probe.connect(path)
        return None
    except OSError as error:
        return f"no Docker engine answers at {path} ({error.strerror or error})"


@pytest.fixture(scope="session")
def esdb_uri() -> Iterator[str]:
    """`ESDB_URI`, or an EventStoreDB container where Docker answers, else a printed skip."""
    if os.environ.get("ESDB_URI"):
        yield os.environ["ESDB_URI"]
        return
    reason = _docker_answers()
    if reason is not None:
        pytest.skip(f"EventStoreDB contract run skipped: ESDB_URI is not set and {reason}")
    from testcontainers.core.container import DockerContainer  # type: ignore[import-untyped]
    from testcontainers.core.waiting_utils import wait_for_logs  # type: ignore[import-untyped]

    container = (
        DockerContainer("eventstore/eventstore:23.10.0-bookworm-slim")
        .with_env("EVENTSTORE_INSECURE", "true")
        .with_env("EVENTSTORE_RUN_PROJECTIONS", "None")
        .with_exposed_ports(2113)
    )
    with container:
        wait_for_logs(container, "IS LEADER", timeout=60)
        port = container.get_exposed_port(2113)
        yield f"esdb://{container.get_container_host_ip()}:{port}?Tls=false"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    reason = pg_available()
    if reason is not None:
        pytest.skip(reason)
    with scratch_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql", "esdb", "memory"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"  # a new, empty store for each test
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(request.getfixturevalue("esdb_uri"))


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    from infra.eventstore import open_store

    opened = open_store(store_url)
    yield opened
    opened.close()
