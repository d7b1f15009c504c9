"""The workflow history of a request: one row per step, with who, when and why."""

from __future__ import annotations

import json
from typing import Any

from contracts.partners import partner_actor
from contracts.requests import RequestResubmitted, RequestSubmitted
from contracts.secretariat import (
    CaseArchived,
    CaseClosed,
    CaseReferred,
    CaseReleased,
    CaseReopened,
    CaseTaken,
    InternalNoteAdded,
    NumberAssigned,
    ReferralRecalled,
    ReplyPosted,
    RequestStatusSet,
    ReturnedForCorrection,
)
from infra.projections import Context
from infra.rows import Rows
from services.secretariat.channels import PARTNER, partner_system
from services.secretariat.tables import case_details_table, history_table, partners_table

ACTIONS = {
    "submitted": "ثبت و ارسال درخواست",
    "resubmitted": "ارسال مجدد پس از اصلاح",
    "numbered": "ثبت در دبیرخانه",
    "referred": "ارجاع",
    "recalled": "بازپس‌گیری ارجاع",
    "taken": "برداشتن درخواست",
    "released": "آزاد کردن درخواست",
    "note": "یادداشت داخلی",
    "returned": "بازگشت به متقاضی برای اصلاح",
    "status_set": "تعیین وضعیت درخواست",
    "reply_interim": "پاسخ موقت",
    "reply_final": "پاسخ نهایی",
    "closed": "بستن درخواست",
    "archived": "بایگانی",
    "reopened": "بازگشایی",
}
"""Each step's Persian label, for the history list and chart."""

REQUEST_STATUS_LABELS = {"undetermined": "تعیین نشده", "yes": "بله", "no": "خیر"}


def _step(event: Any) -> tuple[str, str, bool]:
    """The action, its text and whether only staff may read it."""
    if isinstance(event, RequestSubmitted):
        return "submitted", event.subject, False
    if isinstance(event, RequestResubmitted):
        return "resubmitted", event.subject, False
    if isinstance(event, NumberAssigned):
        return "numbered", event.registration_number, False
    if isinstance(event, CaseReferred):
        target = event.unit_name or event.unit
        if event.representative:
            target += f" / {event.representative_name or event.representative}"
        return "referred", f"{target}: {event.instruction}", True
    if isinstance(event, ReferralRecalled):
        return "recalled", f"{event.unit_name or event.unit}: {event.reason}", True
    if isinstance(event, CaseTaken):
        return "taken", "", True
    if isinstance(event, CaseReleased):
        return "released", event.reason, True
    if isinstance(event, InternalNoteAdded):
        return "note", event.text, True
    if isinstance(event, ReturnedForCorrection):
        return "returned", event.reason, False
    if isinstance(event, RequestStatusSet):
        label = REQUEST_STATUS_LABELS[event.value]
        return "status_set", label + (f" — {event.reason}" if event.reason else ""), True
    if isinstance(event, ReplyPosted):
        return f"reply_{event.kind}", event.body, False
    if isinstance(event, CaseClosed):
        return "closed", event.reason, False
    if isinstance(event, CaseArchived):
        return "archived", event.reason, True
    if isinstance(event, CaseReopened):
        return "reopened", event.reason, False
    raise TypeError(f"no history step for {type(event).__name__}")


def _applicant(
    rows: Rows, row: dict[str, Any], event: RequestSubmitted | RequestResubmitted
) -> tuple[str, str]:
    """Who filed (or corrected) the request: the citizen by national code and name, or the
    partner system that filed it for someone through Open311 (no national code) by its id and
    name, as the desk knows them at this event, so a replay records the same. A submission
    names its partner; a correction's is in what the applicant gave (the case's details)."""
    if row["applicant_kind"] != PARTNER:
        return f"citizen:{row['national_code']}", row["full_name"]
    if isinstance(event, RequestSubmitted):
        partner_id = event.applicant.partner_id or ""
    else:
        details = rows.get(case_details_table, row["request_id"])
        given = json.loads(details["applicant"]) if details is not None and details["applicant"] else {}
        partner_id = given.get("partner_id") or ""
    known = rows.get(partners_table, partner_id) if partner_id else None
    return partner_actor(partner_id), partner_system(known["name"] if known is not None else None)


def _actor(rows: Rows, event: Any, context: Context, row: dict[str, Any]) -> tuple[str, str]:
    if isinstance(event, RequestSubmitted | RequestResubmitted):
        return _applicant(rows, row, event)
    fields = vars(event)  # not getattr: a model's miss goes through its slow __getattr__
    actor = fields.get("actor") or fields.get("clerk") or ""
    name = fields.get("actor_name") or context.recorded.metadata.get("actor_name") or actor
    return str(actor), str(name)


def record(rows: Rows, row: dict[str, Any], event: Any, context: Context) -> None:
    """Add the step `event` made to the request's history."""
    action, text, internal = _step(event)
    actor, actor_name = _actor(rows, event, context, row)
    rows.insert(
        history_table,
        {
            "position": context.recorded.position,
            "request_id": row["request_id"],
            "at": context.at,
            "action": action,
            "actor": actor,
            "actor_name": actor_name,
            "text": text,
            "holder_name": row["holder_name"],
            "internal": internal,
        },
    )
