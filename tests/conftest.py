"""Fixtures every test folder shares: a fresh event store and a read-model database on SQLite in
the test's own folder, the in-memory store, a scratch PostgreSQL database, and notify in one
process. Each closes what it opened when its test ends.

A folder's conftest may give one of these names a narrower meaning, never another one:
tests/contract's `store` is the same fresh store, once per adapter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from contracts.eventstore import EventStore
from infra.db import Database
from infra.eventstore import open_store
from infra.eventstore.sql import SqlEventStore
from tests.pg import required_database

if TYPE_CHECKING:
    from tests.unit.test_notify_fakes import NotifyDesk


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlEventStore]:
    """An empty event store in `events.db` under the test's folder (the embedded default's
    adapter, so `engine`, `read_engine` and `url` are there to look behind it)."""
    opened = open_store(f"sqlite:///{tmp_path / 'events.db'}")
    assert isinstance(opened, SqlEventStore)
    yield opened
    opened.close()


@pytest.fixture
def memory_store() -> Iterator[EventStore]:
    """An empty event store in this process's memory, for tests of rules that need no
    database (a new one each time: `memory://` names no shared store)."""
    opened = open_store("memory://")
    yield opened
    opened.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """An empty read-model database in `read.db` under the test's folder; the tables are the
    test's to create (a `ProjectionRunner`'s `setup`, or `create_tables`)."""
    database = Database(f"sqlite:///{tmp_path / 'read.db'}")
    yield database
    database.dispose()


@pytest.fixture
def scratch_pg_url() -> Iterator[str]:
    """A new database on the machine's PostgreSQL, dropped after the test. The test fails,
    naming why, where there is no server (tests/contract's session-wide `pg_url` skips instead)."""
    with required_database() as url:
        yield url


@pytest.fixture
def notify_desk(store: SqlEventStore, db: Database) -> NotifyDesk:
    """Notify in one process: its planner, which sends through a `FakeSmsProvider`, and its
    status view, over `store` and `db`."""
    from infra.projections import ProjectionRunner
    from services.notify.dispatch import Channels
    from services.notify.projections import Planner, Status
    from tests.fakes import FakeSmsProvider
    from tests.unit.test_notify_fakes import NotifyDesk

    sms = FakeSmsProvider()
    runner = ProjectionRunner(store, db, [Planner(channels=Channels(sms)), Status()])
    runner.setup()
    return NotifyDesk(store, runner, sms)
