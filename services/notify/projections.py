"""From events to messages: plan each message once, send it once, keep its status.

- `Planner` (services/notify/planner.py) appends `SmsQueued` for each step worth telling, with
  its claim (`SmsDispatching`) in the same append, and gives the message to its sender, which
  hands it to its provider outside the planner's pass; it never acts while a rebuild replays
  history.
- `Status` keeps each message's state for the receipt and the back office.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import sqlalchemy as sa

from contracts.notify import SmsDeferred, SmsDelivered, SmsDispatching, SmsFailed, SmsQueued, SmsSent
from infra.projections import Context, RowsProjection
from infra.rows import Rows
from services.notify.dispatch import message_stream
from services.notify.lifecycle import FINAL
from services.notify.planner import Planner

__all__ = ["Planner", "Status", "message_stream", "status_table"]

status_metadata = sa.MetaData()
status_table = sa.Table(
    "notify_status",
    status_metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), index=True),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("to", sa.String(200), nullable=False, index=True),
    sa.Column("template", sa.String(50), nullable=False),
    sa.Column("template_version", sa.Integer, nullable=False),
    sa.Column("organisation", sa.String(100), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("one_time_code", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("provider", sa.String(30)),
    sa.Column("provider_message_id", sa.String(100)),
    sa.Column("reason", sa.Text),
    sa.Column("retry_at", sa.String(40)),
    sa.Column("queued_at", sa.String(40), nullable=False, index=True),
    sa.Column("updated_at", sa.String(40), nullable=False),
)


class Status(RowsProjection):
    """notify_status: each message's state."""

    name = "notify.status"
    handles = (SmsQueued, SmsDispatching, SmsSent, SmsDeferred, SmsDelivered, SmsFailed)
    metadata = status_metadata

    def prefetch(self, rows: Rows, events: Sequence[Any]) -> None:
        rows.load_for(status_table, events, attrgetter("message_id"), SmsQueued)

    def change(self, rows: Rows, event: Any, context: Context) -> None:
        at = context.at
        if isinstance(event, SmsQueued):
            rows.insert(
                status_table,
                {
                    "message_id": event.message_id,
                    "request_id": event.request_id,
                    "channel": event.channel,
                    "to": event.to,
                    "template": event.template,
                    "template_version": event.template_version,
                    "organisation": event.organisation,
                    "text": event.text,
                    "one_time_code": event.one_time_code,
                    "status": "queued",
                    "attempts": 0,
                    "queued_at": at,
                    "updated_at": at,
                },
            )
            return
        row = rows.get(status_table, event.message_id)
        if row is None or row["status"] in FINAL:
            return
        values: dict[str, Any] = {"updated_at": at, "provider": event.provider}
        if isinstance(event, SmsDispatching):
            values.update(status="dispatching", attempts=event.attempt, retry_at=None)
        elif isinstance(event, SmsSent):
            values.update(status="sent", provider_message_id=event.provider_message_id)
        elif isinstance(event, SmsDeferred):
            values.update(status="deferred", reason=event.reason, retry_at=event.retry_at)
        elif isinstance(event, SmsDelivered):
            values.update(status="delivered")
        else:
            values.update(status=event.status, reason=event.reason, retry_at=None)
        rows.update(status_table, event.message_id, values)
