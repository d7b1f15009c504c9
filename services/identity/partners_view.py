"""The partners' read model `identity_partners`: who may call the Open311 API, with which key
(its hash), for which unit, and whether its webhook is paused. Rebuilt from `partner-<id>` streams
like every table; it never holds a key or a webhook secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from contracts.partners import (
    PartnerAdded,
    PartnerKeyRotated,
    PartnerRevoked,
    PartnerWebhookPaused,
    PartnerWebhookResumed,
)
from infra.projections import Context, RowsProjection, field_of
from infra.rows import Rows

metadata = sa.MetaData()

partners_table = sa.Table(
    "identity_partners",
    metadata,
    sa.Column("partner_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    sa.Column("webhook_url", sa.String(500), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("key_prefix", sa.String(20), nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # active / revoked
    sa.Column("webhook_status", sa.String(10), nullable=False),  # active / paused
    sa.Column("pause_reason", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("revoked_at", sa.String(40)),
)


class Partners(RowsProjection):
    """identity_partners."""

    name = "identity.partners"
    handles = (PartnerAdded, PartnerKeyRotated, PartnerRevoked, PartnerWebhookPaused, PartnerWebhookResumed)
    metadata = metadata

    def prefetch(self, rows: Rows, events: Sequence[Any]) -> None:
        rows.load_for(partners_table, events, field_of("partner_id"), PartnerAdded)

    def change(self, rows: Rows, event: Any, context: Context) -> None:
        if isinstance(event, PartnerAdded):
            rows.insert(
                partners_table,
                {
                    "partner_id": event.partner_id,
                    "name": event.name,
                    "unit": event.unit,
                    "webhook_url": event.webhook_url,
                    "key_hash": event.key_hash,
                    "key_prefix": event.key_prefix,
                    "generation": 1,
                    "status": "active",
                    "webhook_status": "active",
                    "pause_reason": "",
                    "created_at": context.at,
                    "revoked_at": None,
                },
            )
            return
        if rows.get(partners_table, event.partner_id) is None:
            return  # its addition was parked
        values: dict[str, Any]
        if isinstance(event, PartnerKeyRotated):
            values = {
                "key_hash": event.key_hash,
                "key_prefix": event.key_prefix,
                "generation": event.generation,
            }
        elif isinstance(event, PartnerRevoked):
            values = {"status": "revoked", "revoked_at": context.at}
        elif isinstance(event, PartnerWebhookPaused):
            values = {"webhook_status": "paused", "pause_reason": event.reason}
        else:
            values = {"webhook_status": "active", "pause_reason": ""}
        rows.update(partners_table, event.partner_id, values)
