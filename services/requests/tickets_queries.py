"""Reads of the support tickets: the citizen's «تیکت‌های من», the back office's «پشتیبانی»
folder with its deadline, and one ticket's thread. Pages only: commands decide on the streams."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import sqlalchemy as sa

from contracts.errors import DomainError
from infra.db import snapshot
from infra.projections import checkpoints_table
from services.requests import support_sla
from services.requests.tickets_view import Tickets, messages_table, tickets_table

FOLDERS = {
    "open": ("open",),
    "answered": ("answered",),
    "closed": ("closed",),
    "all": ("open", "answered", "closed"),
}
"""The support folder's tabs: waiting for an answer, answered, closed, every ticket."""
LIST_FIELDS = ("ticket_id", "number", "subject", "status", "opened_at", "updated_at", "messages")
PAGE = 200
WAIT_SECONDS = 3.0


def wait_for(db_read: sa.Engine, answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` once the tickets' read model has applied what the command recorded (its
    `position`), or after `WAIT_SECONDS`: the page the citizen or staff member goes to next reads
    their own message there."""
    position = answer.pop("position", None)
    deadline = time.monotonic() + WAIT_SECONDS
    while position is not None and time.monotonic() < deadline:
        with db_read.connect() as conn:
            reached = conn.execute(
                sa.select(checkpoints_table.c.position).where(checkpoints_table.c.name == Tickets.name)
            ).scalar()
        if reached is not None and reached >= position:
            break
        time.sleep(0.05)
    return answer


def my_tickets(db_read: sa.Engine, account_id: str) -> list[dict[str, Any]]:
    """The citizen's tickets, newest change first."""
    with snapshot(db_read) as conn:
        rows = conn.execute(
            sa.select(*(tickets_table.c[name] for name in LIST_FIELDS))
            .where(tickets_table.c.account_id == account_id)
            .order_by(tickets_table.c.updated_at.desc(), tickets_table.c.number.desc())
            .limit(PAGE)
        )
        return [dict(r._mapping) for r in rows]


def support_folder(db_read: sa.Engine, folder: str, *, on: date | None = None) -> dict[str, Any]:
    """The tickets of one tab of the support folder, the longest waiting first, each with its
    deadline (`due`, `overdue`) and the folder's counts."""
    statuses = FOLDERS.get(folder, FOLDERS["open"])
    days, calendar = support_sla.answer_days(), support_sla.configured_calendar()
    today = on or support_sla.today()
    with snapshot(db_read) as conn:
        rows = conn.execute(
            sa.select(tickets_table)
            .where(tickets_table.c.status.in_(statuses))
            .order_by(
                tickets_table.c.awaiting_since.is_(None),
                tickets_table.c.awaiting_since,
                tickets_table.c.updated_at.desc(),
            )
            .limit(PAGE)
        ).all()
        counts: dict[str, int] = dict(
            conn.execute(
                sa.select(tickets_table.c.status, sa.func.count()).group_by(tickets_table.c.status)
            ).all()
        )
    items = [{**r._mapping, **support_sla.deadline(r.awaiting_since, today, calendar, days)} for r in rows]
    return {
        "folder": folder if folder in FOLDERS else "open",
        "items": items,
        "counts": {status: int(counts.get(status, 0)) for status in ("open", "answered", "closed")},
        "overdue": sum(1 for item in items if item["overdue"]),
        "answer_days": days,
    }


def ticket(db_read: sa.Engine, ticket_id: str, account_id: str | None = None) -> dict[str, Any]:
    """One ticket with its messages, for its citizen (`account_id`; another's reads like none)
    or for support (None, with its deadline)."""
    with snapshot(db_read) as conn:
        row = conn.execute(sa.select(tickets_table).where(tickets_table.c.ticket_id == ticket_id)).first()
        if row is None or (account_id is not None and row.account_id != account_id):
            raise DomainError("ticket_not_found")
        messages = conn.execute(
            sa.select(messages_table)
            .where(messages_table.c.ticket_id == ticket_id)
            .order_by(messages_table.c.position)
        ).all()
    view = dict(row._mapping)
    view["thread"] = [
        {
            "author": m.author,
            "author_name": m.author_name,
            "text": m.text,
            "attachments": json.loads(m.attachments),
            "at": m.at,
        }
        for m in messages
    ]
    if account_id is None:
        calendar, days = support_sla.configured_calendar(), support_sla.answer_days()
        view |= support_sla.deadline(row.awaiting_since, support_sla.today(), calendar, days)
    else:
        view.pop("awaiting_since", None)
    return view
