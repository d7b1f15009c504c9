"""The citizens' dashboard as pages read it: one row per item (announcement, uploaded form,
question and answer), and the dashboard put together with the catalogue's own forms and
questions (each service card's «فرم‌های مورد نیاز» and «پاسخ به سوالات»).

The rows keep what the events say, hidden and expired ones too: whether an announcement has
expired is decided when the page is read (a replay must rebuild the same rows whatever the day).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from contracts.content import (
    AnnouncementSaved,
    ContentHidden,
    ContentShown,
    FaqEntrySaved,
    ServiceFormSaved,
    iso_to_jalali,
)
from contracts.errors import DomainError
from infra import jsontext
from infra.projections import Context, Projection
from services.requests.catalogue_view import services_table, units_table

metadata = sa.MetaData()

content_table = sa.Table(
    "requests_content",
    metadata,
    sa.Column("item_id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False, index=True),
    sa.Column("title", sa.String(400), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("unit_id", sa.String(50), nullable=False),
    sa.Column("service_id", sa.String(11), nullable=False),
    sa.Column("published_on", sa.String(10), nullable=False),
    sa.Column("expires_on", sa.String(10)),
    sa.Column("file", sa.Text),
    sa.Column("hidden", sa.Boolean, nullable=False),
    sa.Column("first_saved_at", sa.String(40), nullable=False),
    sa.Column("saved_at", sa.String(40), nullable=False),
)


class Contents(Projection):
    """requests_content."""

    name = "requests.content"
    handles = (AnnouncementSaved, ServiceFormSaved, FaqEntrySaved, ContentHidden, ContentShown)
    metadata = metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        table = content_table
        if isinstance(event, ContentHidden | ContentShown):
            hidden = isinstance(event, ContentHidden)
            conn.execute(table.update().where(table.c.item_id == event.item_id).values(hidden=hidden))
            return
        values = _row(event)
        if (
            conn.execute(table.update().where(table.c.item_id == event.item_id).values(**values)).rowcount
            == 0
        ):
            conn.execute(
                table.insert().values(
                    item_id=event.item_id, hidden=False, first_saved_at=event.saved_at, **values
                )
            )


def _row(event: AnnouncementSaved | ServiceFormSaved | FaqEntrySaved) -> dict[str, Any]:
    file = getattr(event, "file", None)
    common = {
        "file": None if file is None else jsontext.text_sorted(file.model_dump(mode="json")),
        "saved_at": event.saved_at,
    }
    if isinstance(event, AnnouncementSaved):
        return {
            "kind": "announcement",
            "title": event.title,
            "body": event.text,
            "unit_id": "",
            "service_id": "",
            "published_on": event.published_on,
            "expires_on": event.expires_on,
            **common,
        }
    published = event.saved_at[:10]
    if isinstance(event, ServiceFormSaved):
        return {
            "kind": "form",
            "title": event.title,
            "body": "",
            "unit_id": event.unit_id,
            "service_id": event.service_id,
            "published_on": published,
            "expires_on": None,
            **common,
        }
    return {
        "kind": "faq",
        "title": event.question,
        "body": event.answer,
        "unit_id": event.unit_id,
        "service_id": event.service_id,
        "published_on": published,
        "expires_on": None,
        **common,
    }


def _item(
    row: Any, units: dict[str, str], services: dict[str, str], today: str | None = None
) -> dict[str, Any]:
    file = json.loads(row.file) if row.file else None
    return {
        "item_id": row.item_id,
        "kind": row.kind,
        "title": row.title,
        "body": row.body,
        "unit_id": row.unit_id,
        "unit_name": units.get(row.unit_id, ""),
        "service_id": row.service_id,
        "service_name": services.get(row.service_id, ""),
        "published_on": row.published_on,
        "expires_on": row.expires_on,
        "expired": bool(today and row.expires_on and row.expires_on < today),
        "hidden": row.hidden,
        "file": None if file is None else {k: file[k] for k in ("name", "media_type", "size")},
        "saved_at": row.saved_at,
    }


def _names(conn: sa.Connection) -> tuple[dict[str, str], dict[str, str]]:
    units = dict(conn.execute(sa.select(units_table.c.unit_id, units_table.c.name)).all())
    services = dict(conn.execute(sa.select(services_table.c.service_id, services_table.c.name)).all())
    return units, services


def items(db_read: sa.Engine, today: str) -> list[dict[str, Any]]:
    """Every item, hidden and expired ones too (the administrator's list): kind, then newest
    first."""
    with db_read.connect() as conn:
        units, services = _names(conn)
        rows = conn.execute(
            sa.select(content_table).order_by(
                content_table.c.kind,
                content_table.c.published_on.desc(),
                content_table.c.first_saved_at.desc(),
            )
        ).all()
    return [_item(row, units, services, today) for row in rows]


def item(db_read: sa.Engine, item_id: str) -> dict[str, Any]:
    """One item for the administrator's edit form (dates as typed: Jalali), or `content_not_found`."""
    with db_read.connect() as conn:
        units, services = _names(conn)
        row = conn.execute(sa.select(content_table).where(content_table.c.item_id == item_id)).first()
    if row is None:
        raise DomainError("content_not_found")
    found = _item(row, units, services)
    found.update(date=iso_to_jalali(row.published_on), expires=iso_to_jalali(row.expires_on))
    return found


def dashboard(db_read: sa.Engine, today: str, unit_id: str = "", service_id: str = "") -> dict[str, Any]:
    """What the citizens' dashboard shows on `today` (ISO date): the announcements not hidden nor
    expired, newest first; the forms of every service (the catalogue's and the uploaded ones),
    grouped by unit and service; the questions and answers (the administrator's and the service
    cards'), of `unit_id`/`service_id` when given; and the units with their services, for the
    filter's lists."""
    with db_read.connect() as conn:
        unit_rows = conn.execute(sa.select(units_table).order_by(units_table.c.name)).all()
        service_rows = conn.execute(
            sa.select(services_table)
            .where(services_table.c.retired.is_(False))
            .order_by(services_table.c.service_type, services_table.c.name)
        ).all()
        rows = conn.execute(
            sa.select(content_table)
            .where(content_table.c.hidden.is_(False))
            .order_by(content_table.c.published_on.desc(), content_table.c.first_saved_at.desc())
        ).all()
    units = {u.unit_id: u.name for u in unit_rows}
    services = {s.service_id: s.name for s in service_rows}
    shown = [_item(row, units, services, today) for row in rows]
    cards = {s.service_id: json.loads(s.card) for s in service_rows}
    return {
        "announcements": [i for i in shown if i["kind"] == "announcement" and not i["expired"]],
        "form_groups": _form_groups(
            unit_rows, service_rows, cards, [i for i in shown if i["kind"] == "form"]
        ),
        "faq": _faq(
            service_rows, cards, units, [i for i in shown if i["kind"] == "faq"], unit_id, service_id
        ),
        "units": [
            {
                "unit_id": u.unit_id,
                "name": u.name,
                "services": [
                    {"service_id": s.service_id, "name": s.name}
                    for s in service_rows
                    if s.unit_id == u.unit_id
                ],
            }
            for u in unit_rows
        ],
    }


def _form_groups(
    unit_rows: Sequence[Any],
    service_rows: Sequence[Any],
    cards: dict[str, Any],
    uploaded: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """One group per unit's general forms and per service with a form, in the catalogue's order."""
    groups = []
    for unit in unit_rows:
        general = [_uploaded(i) for i in uploaded if i["unit_id"] == unit.unit_id and not i["service_id"]]
        if general:
            groups.append({"unit_name": unit.name, "service_id": "", "service_name": "", "forms": general})
        for service in (s for s in service_rows if s.unit_id == unit.unit_id):
            forms = [
                {"title": f["title"], "url": f["url"], "item_id": ""}
                for f in cards[service.service_id]["forms"]
            ]
            forms += [_uploaded(i) for i in uploaded if i["service_id"] == service.service_id]
            if forms:
                groups.append(
                    {
                        "unit_name": unit.name,
                        "service_id": service.service_id,
                        "service_name": service.name,
                        "forms": forms,
                    }
                )
    return groups


def _uploaded(found: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": found["title"],
        "url": f"/dashboard/files/{found['item_id']}",
        "item_id": found["item_id"],
        "file": found["file"],
    }


def _faq(
    service_rows: Sequence[Any],
    cards: dict[str, Any],
    units: dict[str, str],
    entries: list[dict[str, Any]],
    unit_id: str,
    service_id: str,
) -> list[dict[str, Any]]:
    """The administrator's entries, then each service card's own questions."""
    found = [
        {k: e[k] for k in ("item_id", "unit_id", "unit_name", "service_id", "service_name")}
        | {"question": e["title"], "answer": e["body"]}
        for e in entries
    ]
    for service in service_rows:
        for pair in cards[service.service_id]["faq"]:
            found.append(
                {
                    "item_id": "",
                    "unit_id": service.unit_id,
                    "unit_name": units.get(service.unit_id, ""),
                    "service_id": service.service_id,
                    "service_name": service.name,
                    "question": pair["question"],
                    "answer": pair["answer"],
                }
            )
    if unit_id:
        found = [f for f in found if f["unit_id"] == unit_id]
    if service_id:
        unit_of = next((s.unit_id for s in service_rows if s.service_id == service_id), None)
        found = [
            f
            for f in found
            if f["service_id"] == service_id or (not f["service_id"] and f["unit_id"] == unit_of)
        ]
    return found
