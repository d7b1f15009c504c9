"""The relay's projection: integration events, published and put in partners' webhook outboxes.

For each batch of stored events, in the one transaction that moves its checkpoint, the relay:
- keeps each request's public state (`relay_requests`) and each partner (`relay_partners`, from
  the partners' own events: the relay asks nobody);
- records the integration events (`relay_events`: the HTTP feed reads them by position);
- records one webhook delivery per (event, partner with a webhook in scope) in `relay_deliveries`,
  under an id derived from both, which `services/relay/webhooks.py` sends;
- publishes the batch to RabbitMQ and waits for the broker's confirms, before the transaction
  commits (`services/relay/broker.py`).
A rebuild replays history without publishing or queueing deliveries again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from contracts import integration as ie
from contracts.partners import (
    PARTNER_EVENTS,
    PartnerAdded,
    PartnerKeyRotated,
    PartnerRevoked,
    PartnerWebhookPaused,
    PartnerWebhookResumed,
)
from infra import jsontext
from infra.db import Database, lock_schema
from infra.projections import Context, Projection
from infra.rows import Rows
from services.relay import mapping
from services.relay.broker import body_of

metadata = sa.MetaData()

requests_table = sa.Table(
    "relay_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),  # JSON: mapping.Known
)

events_table = sa.Table(
    "relay_events",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),  # JSON list of units
    sa.Column("body", sa.Text, nullable=False),  # the CloudEvent, structured JSON
)

partners_table = sa.Table(
    "relay_partners",
    metadata,
    sa.Column("partner_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    sa.Column("webhook_url", sa.String(500), nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # active | revoked
    sa.Column("webhook_status", sa.String(10), nullable=False),  # active | paused
    sa.Column("paused_reason", sa.Text, nullable=False, default=""),
)

outbox_metadata = sa.MetaData()
"""The webhook outbox, apart from the projection's tables: a rebuild of the projection replays
history without queueing again, and must not forget what waits to be sent or was sent."""

deliveries_table = sa.Table(
    "relay_deliveries",
    outbox_metadata,
    sa.Column("delivery_id", sa.String(36), primary_key=True),
    sa.Column("partner_id", sa.String(32), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # pending | delivered | failed | cancelled
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("due_at", sa.Float, nullable=False),
    sa.Column("lease_until", sa.Float, nullable=False),
    sa.Column("delivered_at", sa.Float),
    sa.Column("last_error", sa.Text, nullable=False),
    sa.Index("ix_relay_deliveries_due", "status", "partner_id", "position"),
)


def create_outbox(db: Database) -> None:
    """Create the webhook outbox if it is missing (a projection runner creates only the
    projection's own tables); before the relay's projection first runs."""
    with db.write.begin() as conn:
        lock_schema(conn)
        outbox_metadata.create_all(conn)


DELIVERY_IDS = uuid.UUID("7e1a7e1a-0000-4000-8000-00000000f00d")


def delivery_id(event_id: str, partner_id: str) -> str:
    """The one id of an event's delivery to a partner (its `webhook-id`): a batch published
    again after a crash records the same row, never a second one."""
    return str(uuid.uuid5(DELIVERY_IDS, f"{event_id}:{partner_id}"))


class Broker(Protocol):
    """Where integration events are published (`broker.Publisher`, or a test's fake)."""

    def publish(self, events: Sequence[ie.IntegrationEvent]) -> None: ...


class Relay(Projection):
    """relay.outbox: see the module's docstring."""

    name = "relay.outbox"
    handles = (*mapping.HANDLED, *PARTNER_EVENTS)
    metadata = metadata

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        self.apply_batch(conn, [(event, context)])

    def apply_batch(self, conn: sa.Connection, batch: Sequence[tuple[Any, Context]]) -> None:
        # The batch's rows go through `Rows`: its requests' states read in one query, the
        # partners once, every row written at the end with one statement per table (per event,
        # these were four statements or more, a large part of a submission's cost).
        rows = Rows(conn)
        rows.load(
            requests_table,
            {mapping.request_id_of(event) for event, _ in batch if not isinstance(event, PARTNER_EVENTS)},
        )
        published: list[ie.IntegrationEvent] = []
        partners: list[tuple[str, str]] | None = None
        for event, context in batch:
            if isinstance(event, PARTNER_EVENTS):
                # A partner's change sees the deliveries queued before it (`sql` writes them
                # first), and the events after it see the partner as it now is.
                _partner(rows.sql(), event, replaying=context.replaying)
                partners = None
                continue
            made = _request(rows, event, context)
            if made is not None and not context.replaying:
                integration, body = made
                published.append(integration)
                if partners is None:
                    partners = _partners(conn)
                _queue_deliveries(rows, integration, body, partners)
        rows.flush()
        self.broker.publish(published)  # confirmed before the checkpoint commits


def _request(rows: Rows, event: Any, context: Context) -> tuple[ie.IntegrationEvent, str] | None:
    """The integration event `event` makes, with its CloudEvent's text (the feed's row and each
    delivery carry the same), its request's state kept; None when it makes none."""
    request_id = mapping.request_id_of(event)
    stored = rows.get(requests_table, request_id)
    known = None if stored is None else json.loads(stored["state"])
    made = mapping.integrate(event, known, context.recorded)
    if made is None:
        return None
    state, integration = made
    text = jsontext.text_sorted(state)
    rows.upsert(requests_table, {"request_id": request_id, "state": text})
    body = body_of(integration).decode()
    rows.insert(
        events_table,
        {
            "position": integration.position,
            "event_id": integration.id,
            "type": integration.type,
            "scope": json.dumps(list(integration.scope)),
            "body": body,
        },
    )
    return integration, body


def _partners(conn: sa.Connection) -> list[tuple[str, str]]:
    """The active partners with a webhook, and their units ("" for every unit)."""
    return [
        (partner_id, unit)
        for partner_id, unit in conn.execute(
            sa.select(partners_table.c.partner_id, partners_table.c.unit).where(
                partners_table.c.status == "active", partners_table.c.webhook_url != ""
            )
        )
    ]


def _queue_deliveries(
    rows: Rows, event: ie.IntegrationEvent, body: str, partners: Sequence[tuple[str, str]]
) -> None:
    now = time.time()
    for partner_id, unit in partners:
        if not ie.visible_to(event.scope, unit):
            continue
        rows.insert(
            deliveries_table,
            {
                "delivery_id": delivery_id(event.id, partner_id),
                "partner_id": partner_id,
                "position": event.position,
                "event_id": event.id,
                "type": event.type,
                "body": body,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "due_at": now,
                "lease_until": 0.0,
                "last_error": "",
            },
        )


def _partner(conn: sa.Connection, event: Any, *, replaying: bool) -> None:
    """Keep the partner's row; its outbox changes too, but not when a rebuild replays history."""
    where = partners_table.c.partner_id == event.partner_id
    if isinstance(event, PartnerAdded):
        conn.execute(
            partners_table.insert().values(
                partner_id=event.partner_id,
                name=event.name,
                unit=event.unit,
                webhook_url=event.webhook_url,
                generation=1,
                status="active",
                webhook_status="active",
                paused_reason="",
            )
        )
    elif isinstance(event, PartnerKeyRotated):
        conn.execute(partners_table.update().where(where).values(generation=event.generation))
    elif isinstance(event, PartnerRevoked):
        conn.execute(partners_table.update().where(where).values(status="revoked"))
        if replaying:
            return
        conn.execute(
            deliveries_table.update()
            .where(deliveries_table.c.partner_id == event.partner_id, deliveries_table.c.status == "pending")
            .values(status="cancelled", last_error="partner revoked")
        )
    elif isinstance(event, PartnerWebhookPaused):
        conn.execute(
            partners_table.update().where(where).values(webhook_status="paused", paused_reason=event.reason)
        )
    elif isinstance(event, PartnerWebhookResumed):
        conn.execute(partners_table.update().where(where).values(webhook_status="active", paused_reason=""))
        if replaying:
            return
        now = time.time()
        conn.execute(  # what waited while paused goes now, and what was given up on is tried anew
            deliveries_table.update()
            .where(
                deliveries_table.c.partner_id == event.partner_id,
                deliveries_table.c.status.in_(("pending", "failed")),
            )
            .values(status="pending", due_at=now, created_at=now, lease_until=0.0)
        )
