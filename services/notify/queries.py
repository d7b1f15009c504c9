"""Reads for the citizen's receipt and the back office: messages, their statuses, templates."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.notify.planner import templates_table
from services.notify.projections import status_table
from services.notify.templates import TEMPLATES

STATUSES = (
    "queued",
    "dispatching",
    "deferred",
    "sent",
    "delivered",
    "permanent_failure",
    "technical_failure",
)
FILTERS = ("status", "template", "channel", "to", "request_id", "organisation")


FAILED = ("permanent_failure", "technical_failure")


def messages(db_read: sa.Engine, request_id: str) -> list[dict[str, Any]]:
    """The messages about one request, in the order they were queued. Besides `status`, `failed`
    says the message will never arrive and `final` that its status will not change."""
    with db_read.connect() as conn:
        rows = conn.execute(
            sa.select(status_table)
            .where(status_table.c.request_id == request_id)
            .order_by(status_table.c.queued_at, status_table.c.message_id)
        )
        return [
            {**r._mapping, "failed": r.status in FAILED, "final": r.status in (*FAILED, "delivered")}
            for r in rows
        ]


def message_list(
    db_read: sa.Engine, filters: dict[str, str], limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """Messages matching `filters` (any of `FILTERS`, plus `since`/`until` ISO times), newest
    first, with the total count and the count per status."""
    conditions = [
        getattr(status_table.c, key) == value for key, value in filters.items() if key in FILTERS and value
    ]
    if filters.get("since"):
        conditions.append(status_table.c.queued_at >= filters["since"])
    if filters.get("until"):
        conditions.append(status_table.c.queued_at < filters["until"])
    where = sa.and_(sa.true(), *conditions)
    with db_read.connect() as conn:
        rows = conn.execute(
            sa.select(status_table)
            .where(where)
            .order_by(status_table.c.queued_at.desc(), status_table.c.message_id)
            .limit(limit)
            .offset(offset)
        )
        items = [dict(r._mapping) for r in rows]
        counts: dict[str, int] = dict(
            conn.execute(
                sa.select(status_table.c.status, sa.func.count()).where(where).group_by(status_table.c.status)
            ).all()
        )
    return {"items": items, "total": sum(counts.values()), "by_status": counts}


def templates(db_read: sa.Engine, organisation: str = "*") -> list[dict[str, Any]]:
    """Every template with its seed text and its versions for `organisation`, newest first."""
    with db_read.connect() as conn:
        rows = conn.execute(
            sa.select(templates_table)
            .where(templates_table.c.organisation == organisation)
            .order_by(templates_table.c.template, templates_table.c.version.desc())
        ).all()
    versions: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        versions.setdefault(row.template, []).append(dict(row._mapping))
    return [
        {
            "name": t.name,
            "title": t.title,
            "values": list(t.values),
            "seed_text": t.text,
            "text": versions[t.name][0]["text"] if t.name in versions else t.text,
            "version": versions[t.name][0]["version"] if t.name in versions else 0,
            "versions": versions.get(t.name, []),
        }
        for t in TEMPLATES.values()
    ]
