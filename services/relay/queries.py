"""What the relay answers: the HTTP feed's pages and a partner's delivery log."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from contracts import integration as ie
from services.relay.outbox import deliveries_table, events_table, partners_table

SCAN = 2_000
"""Events one page reads at most looking for a unit-bound partner's: past those, the page ends
with what it found and `next` moves the cursor on, so a page never takes long."""


def feed(read: sa.Engine, after: int, limit: int, unit: str) -> dict[str, Any]:
    """Integration events after position `after` that a partner of `unit` ("" for none) sees:
    `{"events": [{"position", "event"}], "next": the position to ask after next}`."""
    found: list[dict[str, Any]] = []
    cursor = after
    with read.connect() as conn:
        rows = conn.execute(
            sa.select(events_table.c.position, events_table.c.scope, events_table.c.body)
            .where(events_table.c.position > after)
            .order_by(events_table.c.position)
            .limit(SCAN if unit else limit)
        ).all()
    for position, scope, body in rows:
        cursor = int(position)
        if ie.visible_to(json.loads(scope), unit):
            found.append({"position": cursor, "event": json.loads(body)})
            if len(found) == limit:
                break
    return {"events": found, "next": cursor}


def deliveries(read: sa.Engine, partner_id: str, limit: int = 100) -> dict[str, Any]:
    """A partner's webhook state and its latest deliveries, newest first."""
    with read.connect() as conn:
        partner = conn.execute(
            sa.select(partners_table.c.webhook_status, partners_table.c.paused_reason).where(
                partners_table.c.partner_id == partner_id
            )
        ).one_or_none()
        rows = conn.execute(
            sa.select(
                deliveries_table.c.delivery_id,
                deliveries_table.c.position,
                deliveries_table.c.event_id,
                deliveries_table.c.type,
                deliveries_table.c.status,
                deliveries_table.c.attempts,
                deliveries_table.c.created_at,
                deliveries_table.c.delivered_at,
                deliveries_table.c.due_at,
                deliveries_table.c.last_error,
            )
            .where(deliveries_table.c.partner_id == partner_id)
            .order_by(deliveries_table.c.position.desc())
            .limit(limit)
        ).all()
    return {
        "webhook_status": partner.webhook_status if partner else None,
        "paused_reason": partner.paused_reason if partner else "",
        "deliveries": [dict(row._mapping) for row in rows],
    }
