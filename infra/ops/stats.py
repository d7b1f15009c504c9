"""`stats`: events per type and per day, the store's size, each read model's lag, and the
events projections parked (an incident: `pishkhan parked` shows, retries or skips them)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from contracts.eventstore import EventStore
from infra.db import Database
from infra.eventstore.schema import events_table
from infra.eventstore.sql import SqlEventStore
from infra.projections import Projection, checkpoints_table, parked_table


@dataclass
class StoreStats:
    """Counts over the whole store."""

    events: int = 0
    last_position: int = 0
    per_type: Counter[str] = field(default_factory=Counter)
    per_day: Counter[str] = field(default_factory=Counter)
    size_bytes: int | None = None


def store_stats(store: EventStore) -> StoreStats:
    """Counts by type and UTC day; SQL stores answer with GROUP BY, others by a scan of `$all`."""
    stats = StoreStats(last_position=store.last_position())
    if isinstance(store, SqlEventStore):
        day = sa.func.substr(events_table.c.recorded_at, 1, 10)
        with store.read_engine.connect() as conn:
            for name, count in conn.execute(
                sa.select(events_table.c.type, sa.func.count()).group_by(events_table.c.type)
            ):
                stats.per_type[name] = int(count)
            for name, count in conn.execute(sa.select(day, sa.func.count()).group_by(day)):
                stats.per_day[name] = int(count)
            stats.size_bytes = _sql_size(store, conn)
    else:
        position = 0
        while page := store.read_all(position, limit=1000):
            for event in page:
                stats.per_type[event.type] += 1
                stats.per_day[event.recorded_at.date().isoformat()] += 1
            position = page[-1].position
    stats.events = sum(stats.per_type.values())
    return stats


def _sql_size(store: SqlEventStore, conn: sa.Connection) -> int:
    if store.sqlite:
        path = make_url(store.url).database or ""
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if Path(p).is_file())
    return int(
        conn.execute(
            sa.text("SELECT pg_total_relation_size('es_events') + pg_total_relation_size('es_streams')")
        ).scalar_one()
    )


@dataclass(frozen=True)
class Lag:
    """How far one projection is behind the store."""

    service: str
    projection: str
    checkpoint: int
    behind_positions: int
    pending_events: int | None  # events of its types after the checkpoint (SQL stores only)


def lags(store: EventStore, service: str, db: Database, projections: list[Projection]) -> list[Lag]:
    """Each projection's checkpoint against the store's last position."""
    head = store.last_position()
    with db.read.connect() as conn:
        checkpoints = (
            {row.name: int(row.position) for row in conn.execute(sa.select(checkpoints_table))}
            if sa.inspect(conn).has_table(checkpoints_table.name)
            else {}
        )
    result = []
    for projection in projections:
        checkpoint = checkpoints.get(projection.name, 0)
        pending = None
        if isinstance(store, SqlEventStore):
            query = sa.select(sa.func.count()).where(
                events_table.c.position > checkpoint, events_table.c.type.in_(projection.type_names())
            )
            with store.read_engine.connect() as conn:
                pending = int(conn.execute(query).scalar_one())
        result.append(Lag(service, projection.name, checkpoint, max(head - checkpoint, 0), pending))
    return result


@dataclass(frozen=True)
class Parked:
    """The events one projection parked: how many, and the first of them."""

    service: str
    projection: str
    count: int
    first_position: int
    first_type: str


def parked(service: str, db: Database, projections: list[Projection]) -> list[Parked]:
    """The service's projections that parked events, with their counts (none: an empty list)."""
    names = [projection.name for projection in projections]
    first = sa.func.min(parked_table.c.position)
    query = (
        sa.select(parked_table.c.projection, sa.func.count(), first)
        .where(parked_table.c.projection.in_(names))
        .group_by(parked_table.c.projection)
    )
    with db.read.connect() as conn:
        if not sa.inspect(conn).has_table(parked_table.name):
            return []
        rows = conn.execute(query).all()
        found = []
        for name, count, position in sorted(rows):
            kind = conn.execute(
                sa.select(parked_table.c.event_type).where(
                    parked_table.c.projection == name, parked_table.c.position == position
                )
            ).scalar_one()
            found.append(Parked(service, str(name), int(count), int(position), str(kind)))
    return found
