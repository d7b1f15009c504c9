"""Reads of identity's read models."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa

from infra.db import Database
from infra.projections import checkpoints_table
from services.identity.projections import access_table, accounts_table, cases_table


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


def cartable(
    db: Database, status: str, province: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Verification cases in one status, oldest waiting first; with `province`, only that
    province's and those that name none (a desk officer's reach, `verification.Reach`)."""
    query = sa.select(cases_table).where(cases_table.c.status == status)
    if province is not None:
        query = query.where(sa.or_(cases_table.c.province.is_(None), cases_table.c.province == province))
    query = query.order_by(cases_table.c.position).limit(limit)
    with db.read.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
