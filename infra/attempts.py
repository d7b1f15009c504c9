"""Attempt counters: how many times a key (an account, a client address) tried something within
a sliding window, in the service's own database, so every instance of the service and every
gateway in front of it share one count and a restart forgets nothing.

Short-lived operational state, not facts: losing a table loses nothing but pending lock-outs,
so these tables are not projections and a replay leaves them alone. Rows older than a day go
at each new attempt.
"""

from __future__ import annotations

import sqlalchemy as sa

from infra.db import Database

KEPT_SECONDS = 86400
"""An attempt older than this is deleted (every window in use is shorter)."""


def attempts_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """A table of attempts: one row per attempt under a key, at a time (epoch seconds)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Index(f"ix_{name}_key_at", "key", "at"),
    )


def record(db: Database, table: sa.Table, now: float, *keys: str) -> None:
    """Count one attempt under each key."""
    with db.write.begin() as conn:
        conn.execute(table.insert(), [{"key": key, "at": now} for key in keys])
        conn.execute(table.delete().where(table.c.at < now - KEPT_SECONDS))


def count(db: Database, table: sa.Table, now: float, key: str, window: float) -> int:
    """Attempts under `key` within the last `window` seconds."""
    with db.read.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.key == key, table.c.at >= now - window)
            ).scalar_one()
        )


def clear(db: Database, table: sa.Table, *keys: str) -> None:
    """Forget the attempts under `keys` (after a success)."""
    with db.write.begin() as conn:
        conn.execute(table.delete().where(table.c.key.in_(keys)))
