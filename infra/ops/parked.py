"""`parked`: events a projection gave up on — list, inspect, retry, skip.

A parked event's projection has already moved its checkpoint past it (so the read model was not
stuck behind one bad event). `retry` applies the event once more, now, in its own transaction,
and removes it from the parked list when that works; `skip` removes it without applying it
(the operator decided the read model is right without it). Both say what they did.
"""

from __future__ import annotations

import traceback
from typing import Any

import sqlalchemy as sa

from contracts.envelope import RecordedEvent
from contracts.events import registry
from contracts.eventstore import EventStore
from infra.db import Database
from infra.projections import Context, Projection, parked_table


def list_parked(db: Database, projection: str | None = None) -> list[dict[str, Any]]:
    """Parked rows, oldest first, without their (long) error traces."""
    query = sa.select(parked_table).order_by(parked_table.c.id)
    if projection is not None:
        query = query.where(parked_table.c.projection == projection)
    with db.read.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        row["error"] = (row["error"].strip().splitlines() or [""])[-1]
    return rows


def _row(db: Database, parked_id: int) -> dict[str, Any] | None:
    with db.read.connect() as conn:
        row = conn.execute(sa.select(parked_table).where(parked_table.c.id == parked_id)).first()
    return None if row is None else dict(row._mapping)


def _recorded(store: EventStore, position: int, event_id: str) -> RecordedEvent:
    for event in store.read_all(position - 1, limit=1):
        if str(event.id) == event_id:
            return event
    raise LookupError(f"event {event_id} is not at position {position} any more")


def inspect(store: EventStore, db: Database, parked_id: int) -> dict[str, Any] | None:
    """One parked row with its full error and the event as stored."""
    row = _row(db, parked_id)
    if row is None:
        return None
    event = _recorded(store, row["position"], row["event_id"])
    row["event"] = {
        "stream": event.stream,
        "revision": event.revision,
        "type": event.type,
        "version": event.version,
        "data": event.data,
        "metadata": event.metadata,
        "correlation_id": str(event.correlation_id),
        "causation_id": str(event.causation_id) if event.causation_id else None,
        "recorded_at": event.recorded_at.isoformat(),
    }
    return row


def retry(store: EventStore, db: Database, projections: list[Projection], parked_id: int) -> tuple[bool, str]:
    """Apply a parked event again; (True, "") when it worked and is no longer parked."""
    row = _row(db, parked_id)
    if row is None:
        return False, f"no parked event {parked_id}"
    chosen = [p for p in projections if p.name == row["projection"]]
    if not chosen:
        return False, f"projection {row['projection']} is not one of this service's read models"
    event = _recorded(store, row["position"], row["event_id"])
    try:
        with db.write.begin() as conn:
            chosen[0].apply(conn, registry.decode(event), Context(store, event))
            conn.execute(parked_table.delete().where(parked_table.c.id == parked_id))
    except Exception:  # noqa: BLE001 - the operator sees why, the row stays parked
        error = traceback.format_exc()
        with db.write.begin() as conn:
            conn.execute(
                parked_table.update()
                .where(parked_table.c.id == parked_id)
                .values(error=error, attempts=parked_table.c.attempts + 1)
            )
        return False, error.strip().splitlines()[-1]
    return True, ""


def skip(db: Database, parked_id: int) -> bool:
    """Forget a parked event without applying it; False when there was none."""
    with db.write.begin() as conn:
        return conn.execute(parked_table.delete().where(parked_table.c.id == parked_id)).rowcount > 0
