"""The support tickets' read model: the lists «تیکت‌های من» and the back office's «پشتیبانی»
folder, and each ticket's thread of messages. Rebuilt from the tickets' events like every table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from contracts.requests import AttachmentRef
from contracts.support import TicketAnswered, TicketClosed, TicketFollowedUp, TicketOpened
from infra import jsontext
from infra.projections import Context, RowsProjection, field_of
from infra.rows import Rows

metadata = sa.MetaData()

tickets_table = sa.Table(
    "support_tickets",
    metadata,
    sa.Column("ticket_id", sa.String(64), primary_key=True),
    sa.Column("number", sa.Integer, nullable=False, unique=True),
    sa.Column("account_id", sa.String(100), nullable=False, index=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("opened_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("awaiting_since", sa.String(40)),  # the citizen's message support has not answered
    sa.Column("answered_at", sa.String(40)),
    sa.Column("closed_at", sa.String(40)),
    sa.Column("closed_by", sa.String(10)),
    sa.Column("messages", sa.Integer, nullable=False),
)

messages_table = sa.Table(
    "support_ticket_messages",
    metadata,
    sa.Column("ticket_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("author", sa.String(10), nullable=False),  # citizen / staff
    sa.Column("author_name", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("attachments", sa.Text, nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
)


def _files(attachments: tuple[AttachmentRef, ...]) -> str:
    return jsontext.text_sorted([a.model_dump() for a in attachments])


class Tickets(RowsProjection):
    """support_tickets and support_ticket_messages."""

    name = "requests.support_tickets"
    handles = (TicketOpened, TicketAnswered, TicketFollowedUp, TicketClosed)
    metadata = metadata

    def prefetch(self, rows: Rows, events: Sequence[Any]) -> None:
        rows.load_for(tickets_table, events, field_of("ticket_id"), TicketOpened)

    def change(self, rows: Rows, event: Any, context: Context) -> None:
        if isinstance(event, TicketOpened):
            rows.insert(
                tickets_table,
                {
                    "ticket_id": event.ticket_id,
                    "number": event.number,
                    "account_id": event.account_id,
                    "full_name": event.full_name,
                    "subject": event.subject,
                    "status": "open",
                    "opened_at": event.opened_at,
                    "updated_at": event.opened_at,
                    "awaiting_since": event.opened_at,
                    "messages": 1,
                },
            )
            self._message(rows, event.ticket_id, context, "citizen", event.full_name, event, event.opened_at)
            return
        row = rows.get(tickets_table, event.ticket_id)
        if row is None:
            return  # its opening was parked
        if isinstance(event, TicketAnswered):
            at = event.answered_at
            values = {"status": "answered", "awaiting_since": None, "answered_at": at}
            self._message(rows, event.ticket_id, context, "staff", event.staff_name, event, at)
        elif isinstance(event, TicketFollowedUp):
            at = event.written_at
            values = {"status": "open", "awaiting_since": row["awaiting_since"] or at}
            self._message(rows, event.ticket_id, context, "citizen", row["full_name"], event, at)
        else:
            at = event.closed_at
            values = {"status": "closed", "awaiting_since": None, "closed_at": at, "closed_by": event.by}
        if not isinstance(event, TicketClosed):
            values["messages"] = row["messages"] + 1
        rows.update(tickets_table, event.ticket_id, {**values, "updated_at": at})

    @staticmethod
    def _message(
        rows: Rows, ticket_id: str, context: Context, author: str, name: str, event: Any, at: str
    ) -> None:
        rows.insert(
            messages_table,
            {
                "ticket_id": ticket_id,
                "position": context.recorded.position,
                "author": author,
                "author_name": name,
                "text": event.text,
                "attachments": _files(getattr(event, "attachments", ())),
                "at": at,
            },
        )
