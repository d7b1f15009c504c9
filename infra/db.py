"""SQLAlchemy engines for the store and for read models, with the pragmas each backend needs."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def is_sqlite(url: str) -> bool:
    """True for `sqlite:` URLs."""
    return make_url(url).get_backend_name() == "sqlite"


def upsert_insert(url: str, table: sa.Table) -> Any:
    """`INSERT` into `table` in the dialect of `url`, which offers `on_conflict_do_update` (SQLite
    and PostgreSQL spell it alike but SQLAlchemy builds each from its own dialect)."""
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return (sqlite_insert if is_sqlite(url) else postgresql_insert)(table)


def make_engine(
    url: str,
    *,
    immediate: bool = False,
    pool_size: int = 20,
    synchronous: str | None = None,
    autocommit: bool = False,
) -> sa.Engine:
    """An engine for `url`.

    PostgreSQL: `autocommit=True` gives connections that stay in autocommit mode, for single
    statements that need no transaction: one round trip each, where READ COMMITTED costs a
    BEGIN before and a ROLLBACK or COMMIT after (and switching a pooled connection to autocommit
    for one use costs a `SET` when it is given back).

    SQLite gets WAL, a busy timeout and explicit BEGINs (pysqlite's implicit transactions would
    defeat savepoints); `immediate=True` takes the write lock at BEGIN so concurrent writers queue
    instead of failing with "database is locked" halfway through a transaction. Its
    `synchronous` pragma is `synchronous`, else `SQLITE_SYNCHRONOUS`, else FULL.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 60, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        synchronous = synchronous or os.environ.get("SQLITE_SYNCHRONOUS", "FULL")

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if parsed.drivername == "postgresql":
        # psycopg2 cooperates with eventlet through psycogreen; pin it as the driver.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    # The store's numbering reads max(position) after taking its lock: that needs a fresh
    # snapshot per statement, whatever the server's default isolation is. An UPDATE or DELETE
    # with many rows (a projection batch's) goes in pages of statements, not one round trip
    # per row (nothing reads the row count of such a statement).
    engine = sa.create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        isolation_level="AUTOCOMMIT" if autocommit else "READ COMMITTED",
        executemany_mode="values_plus_batch",
        executemany_batch_page_size=500,
    )
    _ping_after_idle(engine)
    return engine


@contextmanager
def snapshot(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection whose queries all see the database as of the first one: a page built from
    several tables (a request's row, its history, its replies) never mixes a projection batch's
    before and after. PostgreSQL's READ COMMITTED takes a snapshot per statement, so the
    transaction is REPEATABLE READ there; SQLite's explicit BEGIN already holds one."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


PING_AFTER_IDLE = 1.0
"""Seconds a pooled connection may rest before it is checked with a ping when taken again."""


def _ping_after_idle(engine: sa.Engine) -> None:
    """Ping a pooled connection before use only when it has rested a while: a server restart
    or a dropped connection is found before the caller's statement fails, without the round
    trip that pinging every checkout (`pool_pre_ping`) costs each of the many short
    transactions a busy service makes."""

    @sa.event.listens_for(engine, "checkin")
    def _rested(_dbapi_connection: Any, record: Any) -> None:
        record.info["rested_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rested = record.info.get("rested_at")
        if rested is None or time.monotonic() - rested < PING_AFTER_IDLE:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure means: take another connection
            raise sa.exc.DisconnectionError(str(error)) from error
        if not alive:
            raise sa.exc.DisconnectionError("the ping was not answered")


def default_url(name: str) -> str:
    """The embedded default: a SQLite file under `./var/` (or `$PISHKHAN_VAR`)."""
    var = Path(os.environ.get("PISHKHAN_VAR", "var"))
    return f"sqlite:///{var / name}.db"


class Database:
    """A read-model database: `write` for transactions, `read` for queries.

    On SQLite the writer takes the lock at BEGIN (so competing writers queue and a projection's
    check-then-write is atomic) while readers do not block each other; on PostgreSQL both are
    the same engine.
    """

    def __init__(self, url: str, *, pool_size: int = 10, synchronous: str | None = None) -> None:
        self.url = url
        self.write = make_engine(url, immediate=True, pool_size=pool_size, synchronous=synchronous)
        sqlite = is_sqlite(url)
        self.read = make_engine(url, pool_size=pool_size, synchronous=synchronous) if sqlite else self.write

    def create_tables(self, metadata: sa.MetaData) -> None:
        """Create `metadata`'s missing tables, under the schema lock (instances start at once)."""
        with self.write.begin() as conn:
            lock_schema(conn)
            metadata.create_all(conn)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def readmodel_url(service: str) -> str:
    """Where a service keeps its read models: `READMODEL_URL`, else `DATABASE_URL`, else
    `./var/<service>.db`. Table names carry the service's name, so services can share one
    PostgreSQL database. SQLite files are never shared with the store: a projection that appends
    to the store while holding its read model's write lock would wait on itself."""
    url = os.environ.get("READMODEL_URL") or os.environ.get("DATABASE_URL")
    if url and is_sqlite(url):
        database = make_url(url).database or ""
        return f"sqlite:///{Path(database).with_name(service + '.db')}"
    return url or default_url(service)


SCHEMA_LOCK_KEY = 0x5049_5349


def lock_schema(conn: sa.Connection) -> None:
    """Serialise schema changes of processes starting at once (PostgreSQL's CREATE TABLE IF NOT
    EXISTS races otherwise; SQLite's writer already holds the database lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))
