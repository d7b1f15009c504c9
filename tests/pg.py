"""A throw-away PostgreSQL database on the machine's server, for tests and benchmarks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

ADMIN_URL = os.environ.get("PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        engine = sa.create_engine(ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as error:  # noqa: BLE001 - reported as the skip reason
        return f"PostgreSQL at {ADMIN_URL} does not answer: {error}"


@contextmanager
def scratch_database(prefix: str = "pishkhan_test") -> Iterator[str]:
    """Create a fresh database, yield its URL, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def required_database() -> Iterator[str]:
    """A scratch database for a test that needs the machine's PostgreSQL: fails, naming why,
    when there is none."""
    import pytest

    reason = pg_available()
    if reason is not None:
        pytest.fail(f"these tests need the machine's PostgreSQL: {reason}")
    with scratch_database() as url:
        yield url
