"""PostgreSQL's `es_append` keeps its plans for the life of a session, made while the store was
nearly empty. An append must still find its event ids and streams by key, not by reading every
stored event: that scan grew with the store."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from contracts.envelope import NewEvent
from infra.eventstore import open_store
from tests.pg import required_database

pytestmark = pytest.mark.integration

_READ_BY_SCANS = sa.text("SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = 'es_events'")


def _rows_read_by_scans(url: str) -> int:
    """Events read by table scans, once the closed sessions' statistics have all arrived."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        last, deadline = -1, time.monotonic() + 15
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                count = int(conn.execute(_READ_BY_SCANS).scalar_one())
            if count == last:
                return count
            last = count
            time.sleep(1)
        return last
    finally:
        engine.dispose()


def test_appends_to_a_grown_store_read_no_table_through() -> None:
    with required_database() as url:
        store = open_store(url)
        try:
            for n in range(8):  # the session plans es_append's statements on a tiny table
                store.append(f"early-{n}", [NewEvent("Early", {"n": n})])
            for n in range(20):  # the store grows to 10,000 events; nothing analyses it
                store.append(f"bulk-{n}", [NewEvent("Bulk", {"n": i}) for i in range(500)])
            for n in range(8):
                store.append(f"late-{n}", [NewEvent("Late", {"n": n})])
        finally:
            store.close()  # a closed session hands in its statistics
        # One scan of the grown table would read 10,000; the first appends' look-ups in a table
        # of a few events may be scans, and cost a few dozen.
        assert _rows_read_by_scans(url) < 1_000
