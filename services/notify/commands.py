"""What notify is asked to do: change a template's text, and the periodic work (retries that are
due, abandoned claims, delivery receipts). One-time codes and links are in `one_time`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.eventstore import EventStore
from contracts.notify import ChangeTemplate
from infra.decider import handle
from services.notify.dispatch import Channels, Claimed, claim, deliver, record_receipt
from services.notify.lifecycle import Policy
from services.notify.projections import status_table
from services.notify.sending import Sender
from services.notify.templates import texts, texts_stream

log = logging.getLogger(__name__)


def change_template(store: EventStore, command: ChangeTemplate) -> dict[str, Any]:
    """Record a new version of one template's text for one organisation (the text it has
    already: its last version, recording nothing)."""
    decided = handle(
        store,
        texts,
        command,
        texts_stream(command.organisation, command.template),
        purpose="template",
        actor=f"admin:{command.admin}",
    )
    last = decided.events[-1] if decided.events else decided.state.last
    assert last is not None, "a template's text is decided or already there"
    return last.model_dump()


def retry_due(
    store: EventStore,
    db_read: sa.Engine,
    channels: Channels,
    policy: Policy,
    now: datetime | None = None,
    sender: Sender | None = None,
) -> int:
    """Dispatch every message whose retry is due, whose claim was abandoned, or that waited too
    long for the sender; the store decides, the read model only points at candidates. Each
    message claimed goes to `sender` (without one, to its provider before the next is claimed),
    so that a recipient whose provider is slow holds no other's retry."""
    now = now or datetime.now(UTC)
    stale = (now - timedelta(seconds=policy.lease)).isoformat()
    forgotten = (now - timedelta(seconds=30)).isoformat()
    query = (
        sa.select(status_table.c.message_id)
        .where(
            sa.or_(
                sa.and_(status_table.c.status == "deferred", status_table.c.retry_at <= now.isoformat()),
                sa.and_(status_table.c.status == "dispatching", status_table.c.updated_at <= stale),
                sa.and_(status_table.c.status == "queued", status_table.c.queued_at <= forgotten),
            )
        )
        .limit(50)
    )
    with db_read.connect() as conn:
        candidates = [row.message_id for row in conn.execute(query)]
    for message_id in candidates:
        taken = claim(store, channels, message_id, policy, now=now)
        if not isinstance(taken, Claimed):
            continue
        if sender is None:
            deliver(store, channels, taken, taken.message.queued.text, policy)
        else:
            sender.submit(store, taken, taken.message.queued.text)
    return len(candidates)


def poll_receipts(store: EventStore, db_read: sa.Engine, channels: Channels, max_age: timedelta) -> int:
    """Ask the SMS provider for receipts of recently sent messages; record what it knows."""
    since = (datetime.now(UTC) - max_age).isoformat()
    query = (
        sa.select(status_table.c.message_id, status_table.c.provider_message_id)
        .where(
            status_table.c.status == "sent",
            status_table.c.channel == "sms",
            status_table.c.provider == channels.sms.name,
            status_table.c.updated_at >= since,
        )
        .order_by(status_table.c.updated_at)
        .limit(100)
    )
    with db_read.connect() as conn:
        sent = {row.provider_message_id: row.message_id for row in conn.execute(query)}
    recorded = 0
    for provider_id, receipt in channels.sms.receipts(list(sent)).items():
        if provider_id in sent and receipt.status != "pending":
            record_receipt(store, sent[provider_id], receipt)
            recorded += 1
    return recorded
