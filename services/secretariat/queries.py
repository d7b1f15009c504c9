"""Reads for staff: the cartable's folders, one request's file, units and ready-made replies.

Every read takes the staff member's scope and filters by it in the query itself.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.persian import latin_digits, normalize_text
from contracts.secretariat_rpc import CartableQuery, Staff
from infra.db import snapshot
from services.secretariat.case import CITIZEN, DONE, SECRETARIAT, UNIT, Case
from services.secretariat.channels import add_partners, name_partner_steps
from services.secretariat.names import province_name
from services.secretariat.tables import (
    canned_table,
    case_details_table,
    case_units_table,
    cases_table,
    due_counts_table,
    history_table,
    replies_table,
    services_table,
    units_table,
)
from services.secretariat.timeline import ACTIONS
from services.secretariat.workdays import TEHRAN, configured_calendar, local_date, parse_jalali, today

c = cases_table.c


def scope_filter(staff: Staff, province: str = "") -> sa.ColumnElement[bool]:
    """The requests `staff` may see, as a WHERE clause."""
    if staff.has("admin"):
        return c.province == province if province else sa.true()
    allowed: list[sa.ColumnElement[bool]] = []
    if staff.has("clerk") and staff.province:
        allowed.append(c.province == staff.province)
    if staff.has("representative") and staff.unit:
        referred = sa.select(case_units_table.c.request_id).where(
            case_units_table.c.unit == staff.unit, case_units_table.c.request_id == c.request_id
        )
        allowed.append(sa.exists(referred))
    return sa.or_(*allowed) if allowed else sa.false()


FOLDERS = ("awaiting", "in_progress", "done")
SEARCH_FIELDS: tuple[str, ...] = ("tracking_code", "national_code", "registration_number", "date_from")
SEARCH_FIELDS += ("date_to", "status", "unit", "service_id", "overdue")
"""The search form's fields: with any of them filled the search looks in every folder (the
province an administrator picks is their secretariat, not a search)."""


def _mine(staff: Staff) -> sa.ColumnElement[bool]:
    """Waiting for `staff`'s action: a clerk's secretariat, or a representative's unit."""
    if staff.has("clerk", "admin"):
        return c.stage == SECRETARIAT
    return sa.and_(c.stage == UNIT, c.holder_unit == staff.unit)


def folder_filter(staff: Staff, folder: str) -> sa.ColumnElement[bool]:
    """Seed 004's folders: awaiting my action, circulating elsewhere, finished (archive)."""
    if folder == "all":
        return sa.true()
    if folder == "done":
        return c.stage == DONE
    if folder == "awaiting":
        return _mine(staff)
    return sa.and_(c.stage != DONE, sa.not_(_mine(staff)))


def folder_of(staff: Staff) -> sa.ColumnElement[str]:
    """The folder each request is in for `staff`, as a column: the rule of `folder_filter`."""
    return sa.case((c.stage == DONE, "done"), (_mine(staff), "awaiting"), else_="in_progress")


def searching(query: CartableQuery) -> bool:
    """True when the search form names anything to look for."""
    return any(getattr(query, field) for field in SEARCH_FIELDS)


def _day_start(text: str, field: str) -> str:
    try:
        day = parse_jalali(text)
    except ValueError:
        raise DomainError("invalid_jalali_date", field) from None
    return datetime.combine(day, time(0), tzinfo=TEHRAN).astimezone(UTC).isoformat()


def filters(query: CartableQuery) -> list[sa.ColumnElement[bool]]:
    """The folder's and the search form's conditions."""
    return [*search_filters(query), folder_filter(query.staff, query.folder)]


def search_filters(query: CartableQuery) -> list[sa.ColumnElement[bool]]:
    """The search form's conditions, within the scope of the one searching, in any folder."""
    found: list[sa.ColumnElement[bool]] = [scope_filter(query.staff, query.province)]
    if query.tracking_code:
        found.append(c.tracking_code == latin_digits(query.tracking_code).replace("-", "").replace(" ", ""))
    if query.national_code:
        found.append(c.national_code == latin_digits(query.national_code).strip())
    if query.registration_number:
        found.append(c.registration_number == normalize_text(query.registration_number))
    if query.date_from:
        found.append(c.submitted_at >= _day_start(query.date_from, "date_from"))
    if query.date_to:
        try:
            end = parse_jalali(query.date_to)
        except ValueError:
            raise DomainError("invalid_jalali_date", "date_to") from None
        found.append(c.submitted_at < _day_start_after(end))
    if query.status:
        found.append(c.status == query.status)
    if query.unit:
        found.append(c.unit == query.unit)
    if query.service_id:
        found.append(c.service_id == latin_digits(query.service_id))
    if query.overdue:
        found.append(overdue_clause())
    return found


def _day_start_after(day: date) -> str:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=TEHRAN).astimezone(UTC).isoformat()


def overdue_clause(on: date | None = None) -> sa.ColumnElement[bool]:
    """Open, not waiting for the citizen, and past its due date."""
    return sa.and_(c.stage.in_((SECRETARIAT, UNIT)), c.due_on < (on or today()).isoformat())


def cartable(db_read: sa.Engine, query: CartableQuery) -> dict[str, Any]:
    """One page of a folder, newest first, with keyset paging (`next` is the next page's key).

    Each row names its `folder`, for a page that lists several; a search also counts its hits in
    each folder (`hits`), so the folder tabs can say where the hits are. A request a partner
    system filed names it (`partner_id`, `partner_name`; `channels.add_partners`)."""
    page = sa.select(cases_table, folder_of(query.staff).label("folder")).where(*filters(query))
    if query.after is not None:
        page = page.where(c.position < query.after)
    page = page.order_by(c.position.desc()).limit(query.limit + 1)
    with snapshot(db_read) as conn:
        rows = [dict(r._mapping) for r in conn.execute(page)]
        add_partners(conn, rows[: query.limit])
        counts = folder_counts(conn, query.staff, query.province)
        hits = hit_counts(conn, query) if searching(query) else None
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {
        "items": [summary(row) for row in rows],
        "next": rows[-1]["position"] if more else None,
        "counts": counts,
        "hits": hits,
    }


def hit_counts(conn: sa.Connection, query: CartableQuery) -> dict[str, int]:
    """How many requests the search finds in each folder (the folder asked for aside)."""
    hits = sa.select(folder_of(query.staff).label("folder")).where(*search_filters(query)).subquery()
    found = sa.select(hits.c.folder, sa.func.count()).group_by(hits.c.folder)
    return dict.fromkeys(FOLDERS, 0) | {name: int(n) for name, n in conn.execute(found).all()}


def folder_counts(conn: sa.Connection, staff: Staff, province: str = "") -> dict[str, int]:
    """How many requests each folder holds, and how many are overdue: for a clerk or an admin
    from the counts per stage and due date (a few rows a day), for a representative by counting
    the unit's requests."""
    if not staff.has("clerk", "admin"):
        scope = scope_filter(staff, province)
        counts = {
            folder: conn.execute(
                sa.select(sa.func.count()).where(scope, folder_filter(staff, folder))
            ).scalar_one()
            for folder in ("awaiting", "in_progress", "done")
        }
        overdue = conn.execute(sa.select(sa.func.count()).where(scope, overdue_clause())).scalar_one()
        return counts | {"overdue": overdue}
    due = due_counts_table.c
    late = sa.and_(due.stage.in_((SECRETARIAT, UNIT)), due.due_on != "", due.due_on < today().isoformat())
    query = sa.select(
        due.stage,
        sa.func.sum(due.requests),
        sa.func.sum(sa.case((late, due.requests), else_=0)),
    ).group_by(due.stage)
    if not staff.has("admin"):
        query = query.where(due.province == staff.province)
    elif province:
        query = query.where(due.province == province)
    by_stage = {stage: (int(total), int(overdue)) for stage, total, overdue in conn.execute(query).all()}
    total = {stage: figures[0] for stage, figures in by_stage.items()}
    return {
        "awaiting": total.get(SECRETARIAT, 0),
        "in_progress": total.get(UNIT, 0) + total.get(CITIZEN, 0),
        "done": total.get(DONE, 0),
        "overdue": sum(figures[1] for figures in by_stage.values()),
    }


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """A cartable row with its waiting time (working days) and whether it is overdue."""
    calendar = configured_calendar()
    end = local_date(row["final_reply_at"]) if row.get("final_reply_at") else today()
    elapsed = calendar.working_days_between(local_date(row["submitted_at"]), end) - row["paused_days"]
    if row.get("paused_since"):
        elapsed -= calendar.working_days_between(local_date(row["paused_since"]), today())
    row = {k: v for k, v in row.items() if k != "text"} | {"text": row.get("text", "")}
    row["attachments"] = json.loads(row.get("attachments") or "[]")
    row["waiting_days"] = max(elapsed, 0)
    row["overdue"] = bool(
        row["stage"] in (SECRETARIAT, UNIT) and row["due_on"] and row["due_on"] < today().isoformat()
    )
    row["paused"] = row["stage"] == CITIZEN
    row["province_name"] = province_name(row["province"])
    return row


def case_file(db_read: sa.Engine, request_id: str, staff: Staff) -> dict[str, Any]:
    """Everything staff see of one request: its row (with the partner system that filed it,
    `channels.add_partners`), history (a partner's steps naming it, `channels.name_partner_steps`),
    replies and what they may do."""
    with snapshot(db_read) as conn:
        row = conn.execute(sa.select(cases_table).where(c.request_id == request_id)).first()
        if row is None:
            raise DomainError("request_not_found")
        units = set(
            conn.execute(
                sa.select(case_units_table.c.unit).where(case_units_table.c.request_id == request_id)
            ).scalars()
        )
        case = Case(request_id, province=row.province, referred_units=units)
        if not case.visible_to(staff):
            raise DomainError("request_not_found")
        history = conn.execute(
            sa.select(history_table).where(history_table.c.request_id == request_id).order_by("position")
        ).all()
        replies = conn.execute(
            sa.select(replies_table).where(replies_table.c.request_id == request_id).order_by("position")
        ).all()
        canned = conn.execute(
            sa.select(canned_table)
            .where(canned_table.c.service_id == (row.service_id or ""))
            .order_by("title")
        ).all()
        given = filed_details(conn, request_id)
        found = dict(row._mapping)
        add_partners(conn, [found])
    steps = [dict(h._mapping) | {"label": ACTIONS.get(h.action, h.action)} for h in history]
    name_partner_steps(found, steps)
    return {
        "case": summary(found) | given,
        "history": steps,
        "report": [
            s for s in steps if s["text"] and s["action"] not in ("submitted", "resubmitted", "numbered")
        ],
        "replies": [dict(r._mapping) | {"attachments": json.loads(r.attachments)} for r in replies],
        "canned": [dict(r._mapping) for r in canned],
        "units": units_list(db_read),
    }


def filed_details(conn: sa.Connection, request_id: str) -> dict[str, Any]:
    """What the citizen gave beyond the cartable's columns, as the receipt shows it: the
    applicant's every field, the visit to the organisation, the unit filed for (the cartable's
    `unit` follows referrals) with its name, when the current files were sent and the files a
    correction replaced (`earlier_attachments`, newest first, each with `sent_at` and
    `replaced_at`). Empty for a request filed before these were kept, until a replay."""
    found = conn.execute(
        sa.select(case_details_table).where(case_details_table.c.request_id == request_id)
    ).first()
    if found is None:
        return {
            "applicant": {},
            "visit": None,
            "filed_unit": None,
            "filed_unit_name": None,
            "addressee_unit": None,
            "addressee_unit_name": None,
            "attachments_at": None,
            "earlier_attachments": [],
        }

    def name_of(unit: str | None) -> str | None:
        named = sa.select(units_table.c.name).where(units_table.c.unit == unit)
        return conn.execute(named).scalar() if unit else None

    return {
        "applicant": json.loads(found.applicant) if found.applicant else {},
        "visit": json.loads(found.visit) if found.visit else None,
        "filed_unit": found.unit,
        "filed_unit_name": name_of(found.unit),
        "addressee_unit": found.addressee_unit,
        "addressee_unit_name": name_of(found.addressee_unit),
        "attachments_at": found.files_at,
        "earlier_attachments": json.loads(found.earlier_files),
    }


def units_list(db_read: sa.Engine) -> list[dict[str, str]]:
    """The units known from the catalogue and from earlier referrals."""
    with db_read.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(units_table).order_by(units_table.c.name))]


def services_list(db_read: sa.Engine) -> list[dict[str, Any]]:
    """The services known from the catalogue."""
    with db_read.connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(sa.select(services_table).order_by(services_table.c.name))
        ]


def canned_replies(db_read: sa.Engine, service_id: str | None = None) -> list[dict[str, Any]]:
    """Ready-made replies, of one service or all."""
    query = sa.select(canned_table).order_by(canned_table.c.service_id, canned_table.c.title)
    if service_id:
        query = query.where(canned_table.c.service_id == service_id)
    with db_read.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
