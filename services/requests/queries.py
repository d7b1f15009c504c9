"""Reads of the citizen's view: tracking, the cartable, one request, the receipt."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.eventstore import EventStore
from contracts.persian import is_national_code, normalize_code, normalize_mobile
from contracts.tracking import normalize_tracking_code
from infra.attachments import AttachmentStore
from infra.db import snapshot
from services.requests.catalogue import load_service
from services.requests.catalogue_view import services_table
from services.requests.commands import load_request
from services.requests.drafts_view import drafts_table
from services.requests.projections import FOLDERS, history_table, replies_table, requests_table
from services.requests.request import own_request

PUBLIC_FIELDS = (
    "tracking_code",
    "service_name",
    "status",
    "registration_number",
    "submitted_at",
    "updated_at",
)


def _code(tracking_code: str) -> str:
    code = normalize_tracking_code(tracking_code)
    if code is None:
        raise DomainError("invalid_tracking_code")
    return code


def _replies(conn: sa.Connection, request_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(replies_table)
        .where(replies_table.c.request_id == request_id)
        .order_by(replies_table.c.position)
    )
    return [{**r._mapping, "attachments": json.loads(r.attachments)} for r in rows]


def _history(conn: sa.Connection, request_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(history_table)
        .where(history_table.c.request_id == request_id)
        .order_by(history_table.c.position)
    )
    return [{"step": r.step, "at": r.at, "note": r.note} for r in rows]


def track(db_read: sa.Engine, tracking_code: str, national_code: str) -> dict[str, Any]:
    """One request by its tracking code, for the citizen who filed it (the national code is
    the second factor; a wrong one reads exactly like an unknown code)."""
    code = _code(tracking_code)
    national_code = normalize_code(national_code)
    if not is_national_code(national_code):
        raise DomainError("request_not_found")  # no request holds it: no query to make
    with snapshot(db_read) as conn:
        row = conn.execute(
            sa.select(requests_table).where(
                requests_table.c.tracking_code == code,
                requests_table.c.national_code == national_code,
            )
        ).first()
        if row is None:
            raise DomainError("request_not_found")
        view = {k: v for k, v in row._mapping.items() if k not in ("details", "attachments")}
        view["replies"] = [
            {k: r[k] for k in ("reply_id", "kind", "body", "posted_at")}
            for r in _replies(conn, row.request_id)
        ]
    return view


def public_track(db_read: sa.Engine, tracking_code: str, second_factor: str) -> dict[str, Any]:
    """Status and steps of a request by its tracking code and the applicant's mobile or national
    code; nothing personal. A wrong second factor reads exactly like an unknown code."""
    code = _code(tracking_code)
    factor = normalize_code(second_factor)
    mobile = normalize_mobile(factor)
    matches = [requests_table.c.national_code == factor] if is_national_code(factor) else []
    if mobile is not None:
        matches.append(requests_table.c.mobile == mobile)
    if not matches:
        raise DomainError("request_not_found")  # neither a mobile nor a national code
    match = sa.or_(*matches)
    with snapshot(db_read) as conn:
        row = conn.execute(
            sa.select(requests_table).where(requests_table.c.tracking_code == code, match)
        ).first()
        if row is None:
            raise DomainError("request_not_found")
        view = {k: row._mapping[k] for k in PUBLIC_FIELDS}
        view["history"] = [{"step": h["step"], "at": h["at"]} for h in _history(conn, row.request_id)]
    return view


def cartable(db_read: sa.Engine, account_id: str, folder: str) -> dict[str, Any]:
    """The citizen's requests in one folder (newest first), the drafts in "awaiting", and how
    many requests each folder holds."""
    if folder not in FOLDERS:
        raise DomainError("invalid_input", f"folder: one of {sorted(FOLDERS)}")
    mine = requests_table.c.account_id == account_id
    with snapshot(db_read) as conn:
        rows = conn.execute(
            sa.select(requests_table)
            .where(mine, requests_table.c.status.in_(FOLDERS[folder]))
            .order_by(requests_table.c.submitted_at.desc())
        ).all()
        counts: dict[str, int] = dict(
            conn.execute(
                sa.select(requests_table.c.status, sa.func.count())
                .where(mine)
                .group_by(requests_table.c.status)
            ).all()
        )
        drafts: list[Any] = []
        if folder == "awaiting":
            drafts = list(
                conn.execute(
                    sa.select(drafts_table, services_table.c.name.label("service_name"))
                    .join(
                        services_table, services_table.c.service_id == drafts_table.c.service_id, isouter=True
                    )
                    .where(drafts_table.c.account_id == account_id)
                    .order_by(drafts_table.c.saved_at.desc())
                ).all()
            )
            draft_count = len(drafts)
        else:
            draft_count = conn.execute(
                sa.select(sa.func.count())
                .select_from(drafts_table)
                .where(drafts_table.c.account_id == account_id)
            ).scalar_one()
    items = [
        {k: v for k, v in r._mapping.items() if k not in ("details", "text", "attachments")} for r in rows
    ]
    sizes = {name: sum(counts.get(s, 0) for s in statuses) for name, statuses in FOLDERS.items()}
    sizes["awaiting"] += draft_count
    return {"folder": folder, "items": items, "drafts": [dict(d._mapping) for d in drafts], "counts": sizes}


def request_detail(db_read: sa.Engine, account_id: str, request_id: str) -> dict[str, Any]:
    """One of the citizen's requests: what was filed, its status, replies and history."""
    with snapshot(db_read) as conn:
        row = conn.execute(
            sa.select(requests_table).where(
                requests_table.c.request_id == request_id, requests_table.c.account_id == account_id
            )
        ).first()
        if row is None:
            raise DomainError("request_not_found")
        view = dict(row._mapping)
        view["details"] = json.loads(row.details)
        view["attachments"] = json.loads(row.attachments)
        view["replies"] = _replies(conn, request_id)
        view["history"] = _history(conn, request_id)
    return view


def receipt(store: EventStore, request_id: str, account_id: str) -> dict[str, Any]:
    """The service receipt (رسید خدمت), from the request's own stream: ready the moment it is
    submitted, whatever the read models' lag."""
    submitted = own_request(load_request(store, request_id).state, account_id)
    view = submitted.model_dump(mode="json")
    if submitted.service_id:
        card = load_service(store, submitted.service_id).card
        view.update(
            unit_name=card.unit_name,
            service_type=card.service_type,
            expected_duration_days=card.expected_duration_days,
            responsible=card.responsible,
        )
    return view


def attachment(
    store: EventStore, files: AttachmentStore, request_id: str, account_id: str, attachment_id: str
) -> dict[str, Any]:
    """One file of the citizen's own request, as base64, after checking its hash."""
    request = load_request(store, request_id).state
    own_request(request, account_id)
    ref = next((a for a in request.carried if a.attachment_id == attachment_id), None)
    if ref is None:
        raise DomainError("request_not_found")
    data = files.get(ref.attachment_id)
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise DomainError("internal_error", "stored file does not match its hash")
    return {"name": ref.name, "media_type": ref.media_type, "content_base64": base64.b64encode(data).decode()}
