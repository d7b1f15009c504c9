"""The citizen's view of each request: status, number, replies and history (the cartable)."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import sqlalchemy as sa

from contracts.requests import AttachmentRef, RequestResubmitted, RequestSubmitted
from contracts.secretariat import (
    CaseReferred,
    NumberAssigned,
    ReferralRecalled,
    ReplyPosted,
    ReturnedForCorrection,
)
from infra import jsontext
from infra.projections import Context, RowsProjection
from infra.rows import Rows

metadata = sa.MetaData()

requests_table = sa.Table(
    "requests_cartable",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("tracking_code", sa.String(20), nullable=False, unique=True),
    sa.Column("account_id", sa.String(100), index=True),
    sa.Column("national_code", sa.String(10), nullable=False, index=True),
    sa.Column("mobile", sa.String(11), nullable=False),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("province", sa.String(50), nullable=False),
    sa.Column("unit", sa.String(50)),
    sa.Column("service_id", sa.String(11)),
    sa.Column("service_name", sa.String(200)),
    sa.Column("form", sa.String(10), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("registration_number", sa.String(50)),
    sa.Column("return_reason", sa.Text),
    sa.Column("submitted_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("final_at", sa.String(40)),
    sa.Column("attachments", sa.Text, nullable=False),  # the files now, after corrections
    sa.Column("details", sa.Text, nullable=False),  # the submitted event, for the receipt
)

replies_table = sa.Table(
    "requests_reply_view",
    metadata,
    sa.Column("reply_id", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("posted_at", sa.String(40), nullable=False),
    sa.Column("reply_number", sa.String(50)),
    sa.Column("reply_date", sa.String(20)),
    sa.Column("legal_basis", sa.Text),
    sa.Column("appeal_authority", sa.Text),
    sa.Column("appeal_deadline", sa.Text),
    sa.Column("notes", sa.Text),
    sa.Column("attachments", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)

history_table = sa.Table(
    "requests_history",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("step", sa.String(30), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("note", sa.Text),
)

referrals_table = sa.Table(
    "requests_referred_units",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("unit", sa.String(50), primary_key=True),
)
"""The units a request is referred to now (a recalled referral leaves): a partner bound to a
unit reads them too (Open311, `open311_queries`)."""

STATUS_SUBMITTED, STATUS_REGISTERED, STATUS_REPLIED, STATUS_DONE, STATUS_RETURNED = (
    "submitted",
    "registered",
    "replied",
    "done",
    "returned",
)
FOLDERS = {
    "awaiting": (STATUS_RETURNED,),
    "progress": (STATUS_SUBMITTED, STATUS_REGISTERED, STATUS_REPLIED),
    "done": (STATUS_DONE,),
}
"""The cartable's folders: در انتظار اقدام، در حال گردش، تمام شده."""


def _files(attachments: tuple[AttachmentRef, ...]) -> str:
    return jsontext.text_sorted([a.model_dump() for a in attachments])


class CitizenRequests(RowsProjection):
    """requests_cartable, requests_reply_view, requests_history and requests_referred_units."""

    name = "requests.citizen_view"
    rebuild_cost = 5.0  # the request row, its history line, its replies: several rows an event
    handles = (
        RequestSubmitted,
        NumberAssigned,
        ReplyPosted,
        ReturnedForCorrection,
        RequestResubmitted,
        CaseReferred,
        ReferralRecalled,
    )
    metadata = metadata

    def prefetch(self, rows: Rows, events: Sequence[Any]) -> None:
        rows.load_for(requests_table, events, attrgetter("request_id"), RequestSubmitted)

    def change(self, rows: Rows, event: Any, context: Context) -> None:
        at = context.at
        if isinstance(event, CaseReferred):
            rows.upsert(referrals_table, {"request_id": event.request_id, "unit": event.unit})
            return
        if isinstance(event, ReferralRecalled):
            rows.delete(referrals_table, event.request_id, event.unit)
            return
        if isinstance(event, RequestSubmitted):
            rows.insert(
                requests_table,
                {
                    "request_id": event.request_id,
                    "tracking_code": event.tracking_code,
                    "account_id": event.applicant.account_id,
                    "national_code": event.applicant.national_code,
                    "mobile": event.applicant.mobile,
                    "full_name": event.applicant.full_name,
                    "province": event.province,
                    "unit": event.unit,
                    "service_id": event.service_id,
                    "service_name": event.service_name,
                    "form": event.form,
                    "subject": event.subject,
                    "text": event.text,
                    "status": STATUS_SUBMITTED,
                    "submitted_at": event.submitted_at,
                    "updated_at": at,
                    "attachments": _files(event.attachments),
                    "details": jsontext.text_sorted(event.model_dump(mode="json")),
                },
            )
            _history(rows, event.request_id, context, "submitted")
            return
        row = rows.get(requests_table, event.request_id)
        if row is None:
            return  # not a request this view knows (its submission was parked)
        if isinstance(event, NumberAssigned):
            status = STATUS_REGISTERED if row["status"] == STATUS_SUBMITTED else row["status"]
            values = {"registration_number": event.registration_number, "status": status}
            _history(rows, event.request_id, context, "registered", event.registration_number)
        elif isinstance(event, ReplyPosted):
            _reply(rows, event, context)
            final = event.kind == "final"
            values = {"status": STATUS_DONE if final else STATUS_REPLIED}
            if final:
                values["final_at"] = at
            _history(rows, event.request_id, context, "final_reply" if final else "interim_reply")
        elif isinstance(event, ReturnedForCorrection):
            values = {"status": STATUS_RETURNED, "return_reason": event.reason}
            _history(rows, event.request_id, context, "returned", event.reason)
        else:
            registered = row["registration_number"] is not None
            values = {
                "subject": event.subject,
                "text": event.text,
                "attachments": _files(event.attachments),
                "return_reason": None,
                "status": STATUS_REGISTERED if registered else STATUS_SUBMITTED,
            }
            _history(rows, event.request_id, context, "resubmitted")
        rows.update(requests_table, event.request_id, {**values, "updated_at": at})


def _reply(rows: Rows, event: ReplyPosted, context: Context) -> None:
    rows.insert(
        replies_table,
        {
            "reply_id": event.reply_id,
            "request_id": event.request_id,
            "kind": event.kind,
            "body": event.body,
            "posted_at": event.posted_at,
            "reply_number": event.reply_number,
            "reply_date": event.reply_date,
            "legal_basis": event.legal_basis,
            "appeal_authority": event.appeal_authority,
            "appeal_deadline": event.appeal_deadline,
            "notes": event.notes,
            "attachments": _files(event.attachments),
            "position": context.recorded.position,
        },
    )


def _history(rows: Rows, request_id: str, context: Context, step: str, note: str | None = None) -> None:
    rows.insert(
        history_table,
        {
            "request_id": request_id,
            "position": context.recorded.position,
            "step": step,
            "at": context.at,
            "note": note,
        },
    )
