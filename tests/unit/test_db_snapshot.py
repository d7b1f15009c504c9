"""`infra.db.snapshot`: every query of one read sees the same moment, even when a projection
commits between them (a request's row and its history never disagree on a page)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.db import Database, snapshot
from tests.pg import required_database

metadata = sa.MetaData()
requests = sa.Table(
    "requests",
    metadata,
    sa.Column("request_id", sa.String(10), primary_key=True),
    sa.Column("status", sa.String(20)),
)
history = sa.Table(
    "history",
    metadata,
    sa.Column("request_id", sa.String(10), primary_key=True),
    sa.Column("step", sa.String(20), primary_key=True),
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def views(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A request and its history, on SQLite and on PostgreSQL."""
    with ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'views.db'}" if request.param == "sqlite" else None
        database = Database(url or stack.enter_context(required_database()))
        metadata.create_all(database.write)
        with database.write.begin() as conn:
            conn.execute(requests.insert(), [{"request_id": "r1", "status": "submitted"}])
            conn.execute(history.insert(), [{"request_id": "r1", "step": "submitted"}])
        yield database
        database.dispose()


def _return_for_correction(db: Database) -> None:
    with db.write.begin() as conn:
        conn.execute(requests.update().values(status="returned"))
        conn.execute(history.insert(), [{"request_id": "r1", "step": "returned"}])


def test_a_write_committed_between_two_queries_is_not_half_seen(views: Database) -> None:
    with snapshot(views.read) as conn:
        status = conn.execute(sa.select(requests.c.status)).scalar_one()
        _return_for_correction(views)
        steps = set(conn.execute(sa.select(history.c.step)).scalars())
    assert (status, steps) == ("submitted", {"submitted"})
    with snapshot(views.read) as conn:
        assert conn.execute(sa.select(requests.c.status)).scalar_one() == "returned"
        assert set(conn.execute(sa.select(history.c.step)).scalars()) == {"submitted", "returned"}


def test_without_a_snapshot_only_postgresql_mixes_the_two_moments(views: Database) -> None:
    """What `snapshot` is for: PostgreSQL's READ COMMITTED sees the write in the second query
    only; SQLite's explicit BEGIN reads one snapshot anyway."""
    with views.read.connect() as conn:
        status = conn.execute(sa.select(requests.c.status)).scalar_one()
        _return_for_correction(views)
        steps = set(conn.execute(sa.select(history.c.step)).scalars())
    mixed = views.read.dialect.name == "postgresql"
    assert (status, steps) == ("submitted", {"submitted", "returned"} if mixed else {"submitted"})
