"""SQLAlchemy engines for the store and for read models, with the pragmas each backend needs.

On PostgreSQL every pool is bounded and gives its idle connections back to the server (see
`RestingPool`), and every connection names its process and role in `application_name`, so
`pg_stat_activity` tells whose connection is whose. The budget this gives a desk is worked out
in docs/operations/connections.md.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, QueuePool

from infra.settings import CommonSettings, sqlite_file


def is_sqlite(url: str) -> bool:
    """True for `sqlite:` URLs."""
    return make_url(url).get_backend_name() == "sqlite"


def upsert_insert(url: str, table: sa.Table) -> Any:
    """`INSERT` into `table` in the dialect of `url`, which offers `on_conflict_do_update` (SQLite
    and PostgreSQL spell it alike but SQLAlchemy builds each from its own dialect)."""
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return (sqlite_insert if is_sqlite(url) else postgresql_insert)(table)


@dataclass(frozen=True)
class PoolSettings:
    """How many PostgreSQL connections a pool may hold and how long one may rest unused."""

    size: int = 3
    """`DB_POOL_SIZE`: the most connections one pool holds at once (a caller beyond waits)."""
    idle_seconds: float = 30.0
    """`DB_POOL_IDLE_SECONDS`: a connection unused this long is closed."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PoolSettings:
        """The settings in `env` (the process's environment by default), as `CommonSettings`
        reads and checks them."""
        settings = CommonSettings.load(env)
        return cls(size=settings.DB_POOL_SIZE, idle_seconds=settings.DB_POOL_IDLE_SECONDS)

    def process_ceiling(self) -> int:
        """The most PostgreSQL connections one service process holds: its two pools full (the
        store's and the read models') and the store's listening connection. The SMS outbox, when
        it is kept in PostgreSQL, adds a third pool to notify's."""
        return 2 * self.size + 1


def process_name(argv: Sequence[str] | None = None) -> str:
    """Who this process is, for `application_name`: the service of `nameko run
    services.<name>.service`, the gateway of `uvicorn gateway.<name>.app:app`, else the
    program's name (`pishkhan`, `pytest`, a benchmark's module)."""
    argv = sys.argv if argv is None else argv
    for argument in argv[1:]:
        parts = argument.split(":")[0].split(".")
        if len(parts) == 3 and parts[0] in ("services", "gateway") and parts[2] in ("service", "app"):
            return parts[1]
    program = Path(argv[0]) if argv and argv[0] else Path("python")
    return program.parent.name if program.stem == "__main__" else program.stem  # python -m pytest


def application_name(role: str) -> str:
    """`pishkhan-<process>-<role>`, at most the 63 bytes PostgreSQL keeps."""
    return f"pishkhan-{process_name()}-{role}"[:63]


class RestingPool(QueuePool):
    """A bounded pool whose connections go back to the server once they have rested `idle`
    seconds unused.

    QueuePool keeps every connection it ever opened, up to `pool_size`, for as long as the
    process lives: after one burst a desk held 61 idle connections of a server that allows
    100. Its overflow closes a connection as soon as it is given back, which makes a busy
    service open and close one per statement. Here the pool hands out the connection given
    back last (LIFO), so under a light load the same few are used and the others rest; a
    reaper thread (`_Reaper`) closes whichever rested longer than `idle`. No overflow: the
    pool's size is its ceiling."""

    idle: float = PoolSettings.idle_seconds

    def __init__(self, creator: Any, **kw: Any) -> None:
        kw["use_lifo"] = True
        super().__init__(creator, **kw)
        _reaper.watch(self)

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        record.info["rested_at"] = time.monotonic()
        super()._do_return_conn(record)

    def recreate(self) -> RestingPool:
        pool = super().recreate()
        assert isinstance(pool, RestingPool)
        pool.idle = self.idle
        return pool

    def close_rested(self, now: float | None = None) -> int:
        """Close the connections that rested longer than `idle`; how many were closed."""
        now = time.monotonic() if now is None else now
        queue = self._pool
        rested: list[ConnectionPoolEntry] = []
        with queue.mutex:  # type: ignore[attr-defined]
            waiting = queue.queue  # type: ignore[attr-defined]  # a deque, oldest rest on the left
            while waiting and now - waiting[0].info.get("rested_at", now) > self.idle:
                rested.append(waiting.popleft())
        for record in rested:
            with suppress(Exception):  # a connection that fails to close is gone all the same
                record.close()
            self._dec_overflow()  # one connection fewer: a caller may open a new one
        return len(rested)


class _Reaper:
    """One daemon thread per process that closes the rested connections of every `RestingPool`
    (a green thread in a Nameko service, where threading is monkey-patched)."""

    def __init__(self) -> None:
        self._pools: weakref.WeakSet[RestingPool] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, pool: RestingPool) -> None:
        with self._lock:
            self._pools.add(pool)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-pool-reaper", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self._pass())

    def _pass(self) -> float:
        """Close what rested too long in every pool; the seconds until the next pass: a quarter
        of the shortest rest allowed (a connection closes at most 25 % after its time)."""
        with self._lock:
            pools = list(self._pools)
        for pool in pools:
            with suppress(Exception):  # the thread must outlive any one pool's trouble
                pool.close_rested()
        return min([max(pool.idle / 4, 0.05) for pool in pools] + [5.0])


_reaper = _Reaper()


def make_engine(
    url: str,
    *,
    immediate: bool = False,
    pool_size: int | None = None,
    synchronous: str | None = None,
    autocommit: bool = False,
    role: str = "db",
) -> sa.Engine:
    """An engine for `url`.

    PostgreSQL: a `RestingPool` of `pool_size` connections (else `DB_POOL_SIZE`) that close
    after `DB_POOL_IDLE_SECONDS` unused, each named `pishkhan-<process>-<role>` in
    `application_name` (unless the URL names one). `autocommit=True` gives connections that
    stay in autocommit mode, for single statements that need no transaction: one round trip
    each, where READ COMMITTED costs a BEGIN before and a ROLLBACK or COMMIT after (and
    switching a pooled connection to autocommit for one use costs a `SET` when it is given back).

    SQLite gets WAL, a busy timeout and explicit BEGINs (pysqlite's implicit transactions would
    defeat savepoints); `immediate=True` takes the write lock at BEGIN so concurrent writers queue
    instead of failing with "database is locked" halfway through a transaction. Its
    `synchronous` pragma is `synchronous`, else `SQLITE_SYNCHRONOUS`, else FULL. Its pool
    (`pool_size`, else 20, as many again in overflow) holds file handles, not server processes.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        sqlite_pool = pool_size or 20
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 60, "check_same_thread": False},
            pool_size=sqlite_pool,
            max_overflow=sqlite_pool,
        )
        synchronous = synchronous or CommonSettings.load().SQLITE_SYNCHRONOUS

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
    settings = PoolSettings.from_env()
    # The store's numbering reads max(position) after taking its lock: that needs a fresh
    # snapshot per statement, whatever the server's default isolation is. An UPDATE or DELETE
    # with many rows (a projection batch's) goes in pages of statements, not one round trip
    # per row (nothing reads the row count of such a statement).
    engine = sa.create_engine(
        _postgresql(parsed),
        poolclass=RestingPool,
        pool_size=pool_size or settings.size,
        max_overflow=0,
        connect_args=connect_arguments(parsed, role),
        isolation_level="AUTOCOMMIT" if autocommit else "READ COMMITTED",
        executemany_mode="values_plus_batch",
        executemany_batch_page_size=500,
    )
    assert isinstance(engine.pool, RestingPool)
    engine.pool.idle = settings.idle_seconds
    _ping_after_idle(engine)
    _fail_over(engine)
    return engine


def listening_engine(url: str) -> sa.Engine:
    """PostgreSQL: an engine without a pool, for a connection held open for LISTEN for as long
    as the process runs (role `listen`): it never rests, so it is not the pools' to count."""
    parsed = make_url(url)
    engine = sa.create_engine(
        _postgresql(parsed), poolclass=NullPool, connect_args=connect_arguments(parsed, "listen")
    )
    _fail_over(engine)
    return engine


def _postgresql(parsed: sa.URL) -> sa.URL:
    # psycopg2 cooperates with eventlet through psycogreen; pin it as the driver.
    return parsed.set(drivername="postgresql+psycopg2") if parsed.drivername == "postgresql" else parsed


FAILOVER_DEFAULTS = {
    "connect_timeout": "5",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
}
"""libpq settings for a server that vanishes without a word (its machine, its network): a
connection attempt gives up on it after 5 s and tries the URL's next host, and a connection it
held is declared dead after about 25 s of silence instead of the kernel's two hours."""


def connect_arguments(parsed: sa.URL, role: str) -> dict[str, str]:
    """psycopg2's arguments beyond what the URL says: the connection's `application_name` and
    `FAILOVER_DEFAULTS`, each unless the URL sets it. The URL may name several servers
    (`?host=a:5432&host=b:5432&target_session_attrs=read-write`): libpq tries them in turn and
    keeps the first that accepts writes, which after a failover is the promoted standby."""
    wanted = {"application_name": application_name(role), **FAILOVER_DEFAULTS}
    return {name: value for name, value in wanted.items() if name not in parsed.query}


READ_ONLY_SQLSTATES = frozenset({"25006"})
"""`read_only_sql_transaction`: the server a pooled connection reached is no longer the primary
(a demoted primary back as a standby)."""


def _fail_over(engine: sa.Engine) -> None:
    """A statement refused because the server became read-only is a lost primary, like a dropped
    connection: the pool drops its connections (the next are made to whichever server accepts
    writes) and the caller sees an `OperationalError`, which the services answer as
    `service_unavailable` (503, "try again") and projections retry."""

    @sa.event.listens_for(engine, "handle_error")
    def _read_only(context: sa.engine.ExceptionContext) -> BaseException | None:
        if getattr(context.original_exception, "pgcode", None) not in READ_ONLY_SQLSTATES:
            return None
        context.is_disconnect = True
        return sa.exc.OperationalError(
            context.statement, context.parameters, context.original_exception, connection_invalidated=True
        )


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
    transactions a busy service makes. `RestingPool` stamps when a connection was given back."""

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
    return sqlite_file(CommonSettings.load().PISHKHAN_VAR, name)


class Database:
    """A read-model database: `write` for transactions, `read` for queries.

    On SQLite the writer takes the lock at BEGIN (so competing writers queue and a projection's
    check-then-write is atomic) while readers do not block each other; on PostgreSQL both are
    the same engine, one pool named `role` (`pool_size`, else `DB_POOL_SIZE`; 10 on SQLite).
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int | None = None,
        synchronous: str | None = None,
        role: str = "readmodels",
    ) -> None:
        self.url = url
        sqlite = is_sqlite(url)
        size = pool_size or (10 if sqlite else None)
        self.write = make_engine(url, immediate=True, pool_size=size, synchronous=synchronous, role=role)
        self.read = make_engine(url, pool_size=size, synchronous=synchronous) if sqlite else self.write

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
    url = CommonSettings.load().READMODEL_URL  # else DATABASE_URL
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
