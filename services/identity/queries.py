"""Reads of identity's read models."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contracts.persian import normalize_code, normalize_mobile, normalize_text
from infra.db import Database
from infra.projections import checkpoints_table
from services.identity.projections import access_table, accounts_table, cases_table, reviews_table


def wait_for(db: Database, names: tuple[str, ...], position: int, timeout: float = 3.0) -> bool:
    """Block until the projections `names` have applied `position` (True), or `timeout` passed."""
    deadline = time.monotonic() + timeout
    query = sa.select(sa.func.min(checkpoints_table.c.position)).where(checkpoints_table.c.name.in_(names))
    while True:
        with db.read.connect() as conn:
            reached = conn.execute(query).scalar()
        if reached is not None and reached >= position:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def account_by_mobile(db: Database, mobile: str) -> str | None:
    """The newest citizen account with this mobile."""
    query = (
        sa.select(accounts_table.c.account_id)
        .where(accounts_table.c.mobile == mobile, accounts_table.c.kind == "citizen")
        .order_by(accounts_table.c.position.desc())
        .limit(1)
    )
    with db.read.connect() as conn:
        return conn.execute(query).scalar()


def mobile_in_use(db: Database, mobile: str, other_than: str) -> bool:
    """True when another citizen account has this mobile."""
    query = sa.select(accounts_table.c.account_id).where(
        accounts_table.c.mobile == mobile,
        accounts_table.c.kind == "citizen",
        accounts_table.c.account_id != other_than,
    )
    with db.read.connect() as conn:
        return conn.execute(query).first() is not None


def representatives(db: Database) -> list[dict[str, Any]]:
    """The follow-up representatives a clerk may refer to: account, name and unit."""
    return [
        {
            "account_id": p["account_id"],
            "full_name": p["full_name"],
            "unit": p["roles"]["representative"]["unit"],
        }
        for p in staff(db)
        if "representative" in p["roles"] and p["roles"]["representative"].get("unit") and not p["disabled"]
    ]


def staff(db: Database) -> list[dict[str, Any]]:
    """Every staff account with its roles, and whether (by whom, why, when) it is disabled."""
    access = access_table.c
    query = (
        sa.select(
            accounts_table,
            access.disabled,
            access.changed_by.label("access_changed_by"),
            access.reason.label("access_reason"),
            access.changed_at.label("access_changed_at"),
        )
        .select_from(accounts_table.outerjoin(access_table, access.account_id == accounts_table.c.account_id))
        .where(accounts_table.c.kind == "staff")
        .order_by(accounts_table.c.full_name)
    )
    with db.read.connect() as conn:
        return [
            {**row._mapping, "roles": json.loads(row.roles), "disabled": bool(row.disabled)}
            for row in conn.execute(query)
        ]


SEARCH_FIELDS = ("national_code", "name", "mobile", "tracking_id")
"""What a desk officer may look a case up by (`cartable`'s `search`)."""


def cartable(
    db: Database,
    status: str | None,
    province: str | None = None,
    limit: int = 100,
    search: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Verification cases in one status (every status: None), oldest waiting first; with
    `province`, only that province's and those that name none (a desk officer's reach,
    `verification.Reach`); with `search`, only those that match it (`search_filters`).

    Each row carries seed 004's columns besides its own: the applicant's `mobile`, how long the
    answer has been awaited (`waiting_minutes`: until now while it waits for an officer, until
    the decision after), in whose cartable it is (`holder`) and what the officers wrote (`report`)."""
    cases = cases_table.c
    query = sa.select(cases_table, accounts_table.c.mobile).select_from(
        cases_table.outerjoin(accounts_table, accounts_table.c.account_id == cases.account_id)
    )
    if status is not None:
        query = query.where(cases.status == status)
    if province is not None:
        query = query.where(sa.or_(cases.province.is_(None), cases.province == province))
    query = query.where(*search_filters(search or {})).order_by(cases.position).limit(limit)
    with db.read.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
        reviews = _reviews(conn, [row["case_id"] for row in rows])
        officers = _desk_officers(conn)
    now = datetime.now(UTC)
    return [
        row
        | {
            "waiting_minutes": _minutes_between(row["submitted_at"], row["decided_at"] or now),
            "holder": _holder(row, officers),
            "report": reviews.get(row["case_id"], []),
        }
        for row in rows
    ]


def search_filters(search: Mapping[str, str]) -> list[sa.ColumnElement[bool]]:
    """A desk officer's search: the national code (any digits), a part of the name, the mobile
    (whole in any form, or some of its digits) and the start of the case's number."""
    cases, found = cases_table.c, []
    national_code = normalize_code(search.get("national_code", ""))
    if national_code:
        found.append(cases.national_code == national_code)
    name = " ".join(normalize_text(search.get("name", "")).split())
    if name:
        found.append(cases.full_name.contains(name, autoescape=True))
    typed = search.get("mobile", "")
    if typed.strip():
        mobile, digits = normalize_mobile(typed), "".join(filter(str.isdigit, normalize_code(typed)))
        if mobile:
            found.append(accounts_table.c.mobile == mobile)
        else:
            found.append(accounts_table.c.mobile.contains(digits) if digits else sa.false())
    tracking = "".join(ch for ch in normalize_code(search.get("tracking_id", "")).lower() if ch.isalnum())
    if tracking:
        found.append(cases.case_id.startswith(tracking, autoescape=True))
    return found


def _minutes_between(start: str, end: str | datetime) -> int:
    begun = datetime.fromisoformat(start)
    ended = datetime.fromisoformat(end) if isinstance(end, str) else end
    if begun.tzinfo is None:
        begun = begun.replace(tzinfo=UTC)
    if ended.tzinfo is None:
        ended = ended.replace(tzinfo=UTC)
    return max(int((ended - begun).total_seconds() // 60), 0)


def _reviews(conn: sa.Connection, case_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The decisions on these cases, oldest first, each with its officer's name."""
    reviews = reviews_table.c
    query = (
        sa.select(reviews_table, accounts_table.c.full_name.label("officer_name"))
        .select_from(reviews_table.outerjoin(accounts_table, accounts_table.c.account_id == reviews.officer))
        .where(reviews.case_id.in_(case_ids))
        .order_by(reviews.position)
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(query) if case_ids else ():
        found.setdefault(row.case_id, []).append(dict(row._mapping))
    return found


def _desk_officers(conn: sa.Connection) -> list[tuple[str | None, str]]:
    """Every desk officer able to sign in: the province their role is bound to (None: every
    province) and their name."""
    query = (
        sa.select(accounts_table.c.full_name, accounts_table.c.roles)
        .select_from(
            accounts_table.outerjoin(access_table, access_table.c.account_id == accounts_table.c.account_id)
        )
        .where(
            accounts_table.c.kind == "staff",
            accounts_table.c.roles.contains('"desk_officer"'),
            sa.or_(access_table.c.disabled.is_(None), sa.not_(access_table.c.disabled)),
        )
        .order_by(accounts_table.c.full_name)
    )
    officers = []
    for name, roles in conn.execute(query):
        role = json.loads(roles).get("desk_officer")
        if role is not None:
            officers.append((role.get("province"), name))
    return officers


def _holder(case: dict[str, Any], officers: list[tuple[str | None, str]]) -> dict[str, Any]:
    """In whose cartable the case is (seed 004's «فعلی»): the desk officers who may review it
    while it waits for one, the applicant while it is back with them for correction, nobody
    once approved."""
    if case["status"] == "submitted":
        names = [name for bound, name in officers if bound is None or case["province"] in (None, bound)]
        return {"kind": "officer", "names": names, "province": case["province"]}
    if case["status"] == "rejected":
        return {"kind": "applicant", "names": [case["full_name"]], "province": case["province"]}
    return {"kind": "none", "names": [], "province": case["province"]}
