"""The citizen's view of each request: status, number, replies and history (the cartable)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from contracts.requests import AttachmentRef, RequestResubmitted, RequestSubmitted
from contracts.secretariat import NumberAssigned, ReplyPosted, ReturnedForCorrection
from infra.projections import Context, Projection

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
    return json.dumps([a.model_dump() for a in attachments], ensure_ascii=False, sort_keys=True)


class CitizenRequests(Projection):
    """requests_cartable, requests_reply_view and requests_history."""

    name = "requests.citizen_view"
    handles = (RequestSubmitted, NumberAssigned, ReplyPosted, ReturnedForCorrection, RequestResubmitted)
    metadata = metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        at = context.recorded.recorded_at.isoformat()
        where = requests_table.c.request_id == event.request_id
        if isinstance(event, RequestSubmitted):
            conn.execute(
                requests_table.insert().values(
                    request_id=event.request_id,
                    tracking_code=event.tracking_code,
                    account_id=event.applicant.account_id,
                    national_code=event.applicant.national_code,
                    mobile=event.applicant.mobile,
                    full_name=event.applicant.full_name,
                    province=event.province,
                    unit=event.unit,
                    service_id=event.service_id,
                    service_name=event.service_name,
                    form=event.form,
                    subject=event.subject,
                    text=event.text,
                    status=STATUS_SUBMITTED,
                    submitted_at=event.submitted_at,
                    updated_at=at,
                    attachments=_files(event.attachments),
                    details=json.dumps(event.model_dump(mode="json"), ensure_ascii=False, sort_keys=True),
                )
            )
            self._history(conn, event.request_id, context, "submitted")
        elif isinstance(event, NumberAssigned):
            conn.execute(
                requests_table.update()
                .where(where)
                .values(
                    registration_number=event.registration_number,
                    status=sa.case(
                        (requests_table.c.status == STATUS_SUBMITTED, STATUS_REGISTERED),
                        else_=requests_table.c.status,
                    ),
                    updated_at=at,
                )
            )
            self._history(conn, event.request_id, context, "registered", event.registration_number)
        elif isinstance(event, ReplyPosted):
            self._reply(conn, event, context)
            final = event.kind == "final"
            values: dict[str, Any] = {"status": STATUS_DONE if final else STATUS_REPLIED, "updated_at": at}
            if final:
                values["final_at"] = at
            conn.execute(requests_table.update().where(where).values(**values))
            self._history(conn, event.request_id, context, "final_reply" if final else "interim_reply")
        elif isinstance(event, ReturnedForCorrection):
            conn.execute(
                requests_table.update()
                .where(where)
                .values(status=STATUS_RETURNED, return_reason=event.reason, updated_at=at)
            )
            self._history(conn, event.request_id, context, "returned", event.reason)
        elif isinstance(event, RequestResubmitted):
            conn.execute(
                requests_table.update()
                .where(where)
                .values(
                    subject=event.subject,
                    text=event.text,
                    attachments=_files(event.attachments),
                    return_reason=None,
                    status=sa.case(
                        (requests_table.c.registration_number.is_(None), STATUS_SUBMITTED),
                        else_=STATUS_REGISTERED,
                    ),
                    updated_at=at,
                )
            )
            self._history(conn, event.request_id, context, "resubmitted")

    @staticmethod
    def _reply(conn: sa.Connection, event: ReplyPosted, context: Context) -> None:
        conn.execute(
            replies_table.insert().values(
                reply_id=event.reply_id,
                request_id=event.request_id,
                kind=event.kind,
                body=event.body,
                posted_at=event.posted_at,
                reply_number=event.reply_number,
                reply_date=event.reply_date,
                legal_basis=event.legal_basis,
                appeal_authority=event.appeal_authority,
                appeal_deadline=event.appeal_deadline,
                notes=event.notes,
                attachments=_files(event.attachments),
                position=context.recorded.position,
            )
        )

    @staticmethod
    def _history(
        conn: sa.Connection, request_id: str, context: Context, step: str, note: str | None = None
    ) -> None:
        conn.execute(
            history_table.insert().values(
                request_id=request_id,
                position=context.recorded.position,
                step=step,
                at=context.recorded.recorded_at.isoformat(),
                note=note,
            )
        )
