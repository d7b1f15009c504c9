"""Pooled PostgreSQL connections: a rested one is pinged and replaced when its server side is
gone; one taken again at once is not pinged (no round trip added to a busy service's work)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from infra import db

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(scratch_pg_url: str) -> Iterator[sa.Engine]:
    engine = db.make_engine(scratch_pg_url, pool_size=1)
    yield engine
    engine.dispose()


def _backend(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("select pg_backend_pid()")).scalar_one())


def _pings(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    pings: list[Any] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_a_connection_taken_again_at_once_is_not_pinged(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _pings(engine, monkeypatch)
    first = _backend(engine)
    assert [_backend(engine) for _ in range(20)] == [first] * 20
    assert pings == []


def test_a_rested_connection_whose_server_side_ended_is_replaced_before_use(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _pings(engine, monkeypatch)
    killed = _backend(engine)
    with sa.create_engine(engine.url, isolation_level="AUTOCOMMIT").connect() as admin:
        admin.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": killed})
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # it has rested long enough
    replaced = _backend(engine)  # no error reaches the caller
    assert replaced != killed
    assert len(pings) >= 1
