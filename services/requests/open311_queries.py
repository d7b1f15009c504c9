"""Reads of requests for a partner system (Open311 GeoReport v2 `GET requests`).

A partner bound to a unit sees only requests filed to that unit, letters addressed to it and
requests referred to it now;
one without a unit sees all. What it reads of a request another filed carries no personal
data: no name, national code, phone, e-mail or address of the citizen, and the subject in
place of the text a citizen wrote (it may name them); a request the partner filed itself comes
back with what it sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.tracking import normalize_tracking_code
from infra.db import snapshot
from services.requests.catalogue_view import units_table
from services.requests.projections import FOLDERS, referrals_table, requests_table

MAX_REQUESTS = 1000
MAX_DAYS = 90
"""GeoReport v2: at most 1000 requests, from at most 90 days (the last 90 by default)."""

CLOSED = FOLDERS["done"]


def _moment(text: str, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DomainError("partner_request_invalid", field) from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _scope(unit: str) -> sa.ColumnElement[bool]:
    """The requests a partner bound to `unit` reads: filed to it, a letter addressed to it, or
    referred to it now ("": every request)."""
    table = requests_table
    if not unit:
        return sa.true()
    referred = sa.select(referrals_table.c.request_id).where(referrals_table.c.unit == unit)
    return sa.or_(
        table.c.unit == unit,
        table.c.request_id.in_(referred),
        table.c.details.contains(json.dumps({"addressee_unit": unit}, ensure_ascii=False)[1:-1]),
    )


def _view(row: Any, partner_id: str, units: dict[str, str]) -> dict[str, Any]:
    details = json.loads(row.details)
    applicant = details["applicant"]
    own = bool(partner_id) and applicant.get("partner_id") == partner_id
    view: dict[str, Any] = {
        "request_id": row.request_id,
        "tracking_code": row.tracking_code,
        "status": row.status,
        "service_id": row.service_id or "",
        "service_name": row.service_name or row.subject,
        "description": row.text if own else row.subject,
        "unit_name": units.get(row.unit or "", ""),
        "submitted_at": row.submitted_at,
        "updated_at": row.updated_at,
        "filed_by_partner": own,
    }
    if own:
        first, _, last = applicant["full_name"].partition(" ")
        view["person"] = {
            "first_name": first,
            "last_name": last,
            "phone": applicant.get("mobile") or applicant.get("landline") or "",
            "email": applicant.get("email") or "",
        }
        view["address"] = applicant.get("address") or ""
    return view


def _units(conn: sa.Connection) -> dict[str, str]:
    return {r.unit_id: r.name for r in conn.execute(sa.select(units_table.c.unit_id, units_table.c.name))}


def requests_for(
    db_read: sa.Engine, partner: dict[str, Any], filters: dict[str, Any]
) -> list[dict[str, Any]]:
    """The requests `partner` ({"partner_id", "unit"}) may see matching `filters`
    (service_request_id: tracking codes, service_code, status "open"/"closed", start_date,
    end_date: ISO 8601), newest first, at most 1000 from at most 90 days."""
    table = requests_table
    query = sa.select(table).order_by(table.c.submitted_at.desc()).limit(MAX_REQUESTS)
    codes = [c for c in (filters.get("service_request_id") or []) if c]
    if codes:
        normal = [normalize_tracking_code(c) for c in codes[:MAX_REQUESTS]]
        query = query.where(table.c.tracking_code.in_([c for c in normal if c]))
    else:
        end = _moment(filters["end_date"], "end_date") if filters.get("end_date") else datetime.now(UTC)
        if filters.get("start_date"):
            start = _moment(filters["start_date"], "start_date")
        else:
            start = end - timedelta(days=MAX_DAYS)
        if start > end or end - start > timedelta(days=MAX_DAYS):
            raise DomainError("partner_request_invalid", "start_date")
        query = query.where(
            table.c.submitted_at >= start.isoformat(), table.c.submitted_at <= end.isoformat()
        )
    if filters.get("service_code"):
        query = query.where(table.c.service_id.in_(str(filters["service_code"]).split(",")))
    status = filters.get("status") or ""
    if status == "closed":
        query = query.where(table.c.status.in_(CLOSED))
    elif status == "open":
        query = query.where(table.c.status.not_in(CLOSED))
    elif status:
        raise DomainError("partner_request_invalid", "status")
    query = query.where(_scope(str(partner.get("unit") or "")))
    with snapshot(db_read) as conn:
        rows = conn.execute(query).all()
        units = _units(conn)
    partner_id = str(partner.get("partner_id") or "")
    return [_view(r, partner_id, units) for r in rows]


def request_for(db_read: sa.Engine, partner: dict[str, Any], key: str) -> dict[str, Any]:
    """One request by its tracking code or (a token) its id, if `partner` may see it; any
    other reads as missing (`request_not_found`)."""
    table = requests_table
    code = normalize_tracking_code(key)
    where = table.c.tracking_code == code if code else table.c.request_id == key
    with snapshot(db_read) as conn:
        row = conn.execute(sa.select(table).where(where, _scope(str(partner.get("unit") or "")))).first()
        units = _units(conn)
    if row is None:
        raise DomainError("request_not_found")
    return _view(row, str(partner.get("partner_id") or ""), units)
