"""The store's tables and the migrations that create and evolve them (run by the adapter)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from infra.db import lock_schema

APPEND_LOCK_KEY = 0x5049_5348  # "PISH": the advisory lock that orders all appends (PostgreSQL)
NOTIFY_CHANNEL = "pishkhan_events"
"""PostgreSQL: the channel each append's commit notifies (`first:count:Type,Type`), for a
waiter of any event."""
TYPE_CHANNEL_PREFIX = "pishkhan_events:"
"""Since schema version 5 each commit is also told on one channel per event type it holds, so
that a waiter for some types hears nothing of other commits."""
ANY_TYPE_CHANNEL = TYPE_CHANNEL_PREFIX + "*"
"""Where a commit is told whose types are not named one by one (too many, or a name too long
for a channel): every waiter for types listens here too."""
CHANNEL_BYTES = 63
"""PostgreSQL's longest channel name."""


def type_channel(type_name: str) -> str:
    """The channel a commit holding events of `type_name` is told on."""
    channel = TYPE_CHANNEL_PREFIX + type_name
    return channel if len(channel.encode()) <= CHANNEL_BYTES else ANY_TYPE_CHANNEL


metadata = sa.MetaData()

events_table = sa.Table(
    "es_events",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("stream", sa.String(255), nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("correlation_id", sa.String(36), nullable=False),
    sa.Column("causation_id", sa.String(36)),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("hash", sa.String(64)),  # since migration 2; NULL for events stored before it
    sa.Column("chain", sa.String(64)),  # since migration 7: the store-wide link (hashchain.ledger_link)
    sa.UniqueConstraint("stream", "revision", name="uq_es_events_stream_revision"),
    sa.Index("ix_es_events_type_position", "type", "position"),
    sa.Index("ix_es_events_correlation", "correlation_id"),
)

streams_table = sa.Table(
    "es_streams",
    metadata,
    sa.Column("stream", sa.String(255), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("truncate_before", sa.BigInteger, nullable=False, default=0),
    sa.Column("last_hash", sa.String(64)),  # since migration 2: the hash chain's head
)

heads_table = sa.Table(
    "es_heads",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("chain", sa.String(64), nullable=False),
    sa.Column("signed_at", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)
"""Since migration 7: signed heads of the store-wide chain (infra/ops/heads.py)."""

schema_table = sa.Table(
    "es_schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.String(40), nullable=False),
)


def _create_v1(conn: sa.Connection) -> None:
    metadata.create_all(conn, tables=[events_table, streams_table])


def _add_hash_chain_v2(conn: sa.Connection) -> None:
    """The hash chain (infra/ops/hashchain.py): each event's hash, and each stream's last hash so
    that an append needs no extra query. A store created now got both columns from `_create_v1`
    (it creates the tables as declared today); older stores get them here. Events stored before
    keep NULL until `pishkhan integrity --backfill`."""
    present = {
        table: {column["name"] for column in sa.inspect(conn).get_columns(table)}
        for table in ("es_events", "es_streams")
    }
    if "hash" not in present["es_events"]:
        conn.execute(sa.text("ALTER TABLE es_events ADD COLUMN hash VARCHAR(64)"))
    if "last_hash" not in present["es_streams"]:
        conn.execute(sa.text("ALTER TABLE es_streams ADD COLUMN last_hash VARCHAR(64)"))


def _append_function_v3(conn: sa.Connection) -> None:
    """PostgreSQL: `es_append`, the append's write in one statement (infra/eventstore/pg_append.py)."""
    if conn.dialect.name == "postgresql":
        from infra.eventstore.pg_append import APPEND_FUNCTION_V3

        conn.execute(sa.text(APPEND_FUNCTION_V3))


def _append_function_reads_before_the_lock_v4(conn: sa.Connection) -> None:
    """PostgreSQL: `es_append` reads its events and looks for their ids before taking the lock."""
    if conn.dialect.name == "postgresql":
        from infra.eventstore.pg_append import APPEND_FUNCTION_V4

        conn.execute(sa.text(APPEND_FUNCTION_V4))


def _append_function_notifies_each_type_v5(conn: sa.Connection) -> None:
    """PostgreSQL: `es_append` also tells each commit on a channel per event type it holds."""
    if conn.dialect.name == "postgresql":
        from infra.eventstore.pg_append import APPEND_FUNCTION_V5

        conn.execute(sa.text(APPEND_FUNCTION_V5))


def _append_function_never_scans_v6(conn: sa.Connection) -> None:
    """PostgreSQL: `es_append`'s kept plans look up by key however small the store was when made."""
    if conn.dialect.name == "postgresql":
        from infra.eventstore.pg_append import APPEND_FUNCTION_V6

        conn.execute(sa.text(APPEND_FUNCTION_V6))


def _store_wide_chain_v7(conn: sa.Connection) -> None:
    """The store-wide chain: each event's link over `$all` (NULL for events stored before, until
    `pishkhan integrity --backfill`), the table of signed heads, and (PostgreSQL) `es_append`
    computing the links."""
    columns = {column["name"] for column in sa.inspect(conn).get_columns("es_events")}
    if "chain" not in columns:
        conn.execute(sa.text("ALTER TABLE es_events ADD COLUMN chain VARCHAR(64)"))
    heads_table.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        from infra.eventstore.pg_append import APPEND_FUNCTION

        conn.execute(sa.text(APPEND_FUNCTION))


# Append-only: a released migration is never edited, a new one is added after it.
MIGRATIONS: list[Callable[[sa.Connection], None]] = [
    _create_v1,
    _add_hash_chain_v2,
    _append_function_v3,
    _append_function_reads_before_the_lock_v4,
    _append_function_notifies_each_type_v5,
    _append_function_never_scans_v6,
    _store_wide_chain_v7,
]


def migrate(engine: sa.Engine) -> int:
    """Bring the schema to the newest version; safe when several processes start at once."""
    with engine.begin() as conn:
        lock_schema(conn)
        schema_table.create(conn, checkfirst=True)
        current = conn.execute(sa.select(sa.func.max(schema_table.c.version))).scalar() or 0
        for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
            step(conn)
            conn.execute(
                schema_table.insert().values(version=number, applied_at=datetime.now(UTC).isoformat())
            )
        return len(MIGRATIONS)
