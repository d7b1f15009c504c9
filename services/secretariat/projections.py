"""The secretariat's read model: the cartable, the workflow history, replies, deadlines.

One projection keeps every table, so a page never shows a history ahead of its cartable row.
Times come from the recorded events and the working-day calendar from configuration, so a
replay rebuilds the same rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contracts.requests import RequestResubmitted, RequestSubmitted
from contracts.secretariat import (
    CannedReplyRemoved,
    CannedReplySaved,
    CaseArchived,
    CaseClosed,
    CaseReferred,
    CaseReleased,
    CaseReopened,
    CaseTaken,
    InternalNoteAdded,
    NumberAssigned,
    ReplyPosted,
    RequestStatusSet,
    ReturnedForCorrection,
)
from infra.projections import Context, Projection
from services.secretariat import timeline
from services.secretariat.case import CITIZEN, DONE, SECRETARIAT, UNIT, parse_holder
from services.secretariat.names import CITIZEN_HOLDER, optional_types, secretariat_name
from services.secretariat.tables import (
    canned_table,
    case_units_table,
    cases_table,
    metadata,
    replies_table,
    services_table,
    stage_counts_table,
    units_table,
)
from services.secretariat.workdays import configured_calendar, default_expected_days, local_date

CATALOGUE_TYPES = optional_types("ServicePublished", "UnitDefined")

__all__ = ["Inbox", "cases_table", "metadata"]


class Inbox(Projection):
    """Every request of every secretariat with its state, holder, deadline and history."""

    name = "secretariat.cases"
    handles = (
        RequestSubmitted,
        RequestResubmitted,
        NumberAssigned,
        ReplyPosted,
        ReturnedForCorrection,
        CaseReferred,
        CaseTaken,
        CaseReleased,
        InternalNoteAdded,
        RequestStatusSet,
        CaseClosed,
        CaseArchived,
        CaseReopened,
        CannedReplySaved,
        CannedReplyRemoved,
        *CATALOGUE_TYPES,
    )
    metadata = metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        name = type(event).type_name
        if name in ("ServicePublished", "UnitDefined"):
            _catalogue(conn, event)
        elif isinstance(event, CannedReplySaved | CannedReplyRemoved):
            _canned(conn, event, context)
        elif isinstance(event, RequestSubmitted):
            _submitted(conn, event, context)
        else:
            row = conn.execute(
                sa.select(cases_table).where(cases_table.c.request_id == event.request_id)
            ).first()
            if row is None:
                return  # not a request this desk knows (its submission was parked)
            values = _change(conn, row, event, context)
            if context.recorded.stream.startswith("case-"):
                values["version"] = context.recorded.revision
            values["updated_at"] = context.recorded.recorded_at.isoformat()
            values["holder_name"] = _holder_name(conn, {**row._mapping, **values})
            conn.execute(
                cases_table.update().where(cases_table.c.request_id == row.request_id).values(values)
            )
            timeline.record(conn, {**row._mapping, **values}, event, context)


def _catalogue(conn: sa.Connection, event: Any) -> None:
    if type(event).type_name == "UnitDefined":
        _upsert(conn, units_table, {"unit": event.unit_id}, {"name": event.name})
        return
    _upsert(
        conn,
        services_table,
        {"service_id": event.service_id},
        {"name": event.name, "unit": event.unit_id, "expected_days": event.expected_duration_days},
    )
    _upsert(conn, units_table, {"unit": event.unit_id}, {"name": getattr(event, "unit_name", event.unit_id)})


def _upsert(conn: sa.Connection, table: sa.Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    where = [table.c[k] == v for k, v in key.items()]
    if conn.execute(table.update().where(*where).values(values)).rowcount == 0:
        conn.execute(table.insert().values({**key, **values}))


def _canned(conn: sa.Connection, event: Any, context: Context) -> None:
    conn.execute(canned_table.delete().where(canned_table.c.canned_id == event.canned_id))
    if isinstance(event, CannedReplySaved):
        values = event.model_dump(exclude={"actor"})
        conn.execute(canned_table.insert().values(**values, position=context.recorded.position))


def _submitted(conn: sa.Connection, event: RequestSubmitted, context: Context) -> None:
    service = None
    if event.service_id:
        service = conn.execute(
            sa.select(services_table).where(services_table.c.service_id == event.service_id)
        ).first()
    expected = service.expected_days if service is not None else default_expected_days()
    submitted = local_date(event.submitted_at)
    values = {
        "request_id": event.request_id,
        "position": context.recorded.position,
        "tracking_code": event.tracking_code,
        "province": event.province,
        "national_code": event.applicant.national_code,
        "full_name": event.applicant.full_name,
        "mobile": event.applicant.mobile,
        "applicant_kind": event.applicant.kind,
        "company_name": event.applicant.company_name,
        "subject": event.subject,
        "text": event.text,
        "form": event.form,
        "attachments": json.dumps([a.model_dump() for a in event.attachments], ensure_ascii=False),
        "service_id": event.service_id,
        "service_name": event.service_name or (service.name if service is not None else None),
        "unit": event.unit or (service.unit if service is not None else None),
        "submitted_at": _utc(event.submitted_at),  # one offset, so text order is time order
        "status": "new",
        "stage": SECRETARIAT,
        "request_status": "undetermined",
        "holder_name": secretariat_name(event.province),
        "version": -1,
        "replies": 0,
        "expected_days": expected,
        "due_on": configured_calendar().add_working_days(submitted, expected).isoformat(),
        "paused_days": 0,
        "updated_at": context.recorded.recorded_at.isoformat(),
    }
    conn.execute(cases_table.insert().values(values))
    _count(conn, event.province, SECRETARIAT, +1)
    timeline.record(conn, values, event, context)


def _utc(moment: str) -> str:
    value = datetime.fromisoformat(moment)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _count(conn: sa.Connection, province: str, stage: str, change: int) -> None:
    where = (stage_counts_table.c.province == province, stage_counts_table.c.stage == stage)
    counter = stage_counts_table.c.requests
    if (
        conn.execute(stage_counts_table.update().where(*where).values(requests=counter + change)).rowcount
        == 0
    ):
        conn.execute(stage_counts_table.insert().values(province=province, stage=stage, requests=change))


def _change(conn: sa.Connection, row: Any, event: Any, context: Context) -> dict[str, Any]:
    """The new values of the cartable row after `event`."""
    at = context.recorded.recorded_at.isoformat()
    if isinstance(event, NumberAssigned):
        status = "registered" if row.status == "new" else row.status
        return {"registration_number": event.registration_number, "registered_at": at, "status": status}
    if isinstance(event, CaseReferred):
        conn.execute(
            sa.delete(case_units_table).where(
                case_units_table.c.unit == event.unit, case_units_table.c.request_id == row.request_id
            )
        )
        conn.execute(
            case_units_table.insert().values(
                unit=event.unit, request_id=row.request_id, position=row.position
            )
        )
        if event.unit_name:
            _upsert(conn, units_table, {"unit": event.unit}, {"name": event.unit_name})
        return {
            "status": "referred",
            "stage": UNIT,
            "unit": event.unit,
            "holder_unit": event.unit,
            "holder_person": event.representative,
            "taken_by": event.representative,
            "taken_name": event.representative_name,
        }
    if isinstance(event, CaseTaken):
        return {"taken_by": event.actor, "taken_name": event.actor_name or event.actor}
    if isinstance(event, CaseReleased):
        return {"taken_by": None, "taken_name": None}
    if isinstance(event, RequestStatusSet):
        return {"request_status": event.value}
    if isinstance(event, ReturnedForCorrection):
        return {
            "status": "returned",
            "stage": CITIZEN,
            "returned_to": event.holder,
            "returned_name": row.holder_name,
            "paused_since": at,
            "due_on": None,
        }
    if isinstance(event, RequestResubmitted):
        return _resubmitted(row, event, at)
    if isinstance(event, ReplyPosted):
        conn.execute(replies_table.insert().values(_reply_row(event, context)))
        values: dict[str, Any] = {"replies": row.replies + 1}
        if event.kind == "final":
            elapsed = configured_calendar().working_days_between(local_date(row.submitted_at), local_date(at))
            values.update(
                status="done",
                stage=DONE,
                final_reply_at=event.posted_at,
                reply_days=max(elapsed - row.paused_days, 0),
                taken_by=None,
                taken_name=None,
            )
        elif row.status not in ("returned",):
            values["status"] = "replied"
        return values
    if isinstance(event, CaseClosed):
        return {"status": "closed", "stage": DONE, "taken_by": None, "taken_name": None}
    if isinstance(event, CaseArchived):
        return {"status": "archived"}
    if isinstance(event, CaseReopened):
        return {
            "status": "reopened",
            "stage": SECRETARIAT,
            "holder_unit": None,
            "holder_person": None,
            "taken_by": None,
            "taken_name": None,
            "final_reply_at": None,
            "reply_days": None,
        }
    return {}  # an internal note changes only the history


def _resubmitted(row: Any, event: RequestResubmitted, at: str) -> dict[str, Any]:
    values: dict[str, Any] = {"subject": event.subject, "text": event.text}
    if row.stage != CITIZEN or row.returned_to is None:
        return values
    calendar = configured_calendar()
    paused = row.paused_days
    if row.paused_since:
        paused += calendar.working_days_between(local_date(row.paused_since), local_date(at))
    stage, place, person = parse_holder(row.returned_to)
    submitted = local_date(row.submitted_at)
    values.update(
        status="resubmitted",
        stage=stage,
        holder_unit=place if stage == UNIT else None,
        holder_person=person if stage == UNIT else None,
        taken_by=person,
        taken_name=row.returned_name if person else None,
        returned_to=None,
        paused_since=None,
        paused_days=paused,
        due_on=calendar.add_working_days(submitted, row.expected_days + paused).isoformat(),
    )
    return values


def _reply_row(event: ReplyPosted, context: Context) -> dict[str, Any]:
    values = event.model_dump(exclude={"attachments"})
    values["attachments"] = json.dumps([a.model_dump() for a in event.attachments], ensure_ascii=False)
    values["clerk_name"] = context.recorded.metadata.get("actor_name") or event.clerk
    values["position"] = context.recorded.position
    return values


def _holder_name(conn: sa.Connection, values: dict[str, Any]) -> str:
    if values["stage"] == CITIZEN:
        return CITIZEN_HOLDER
    if values["stage"] == DONE:
        return "—"
    if values.get("taken_by"):
        return str(values.get("taken_name") or values["taken_by"])
    if values["stage"] == UNIT and values.get("holder_unit"):
        unit = conn.execute(
            sa.select(units_table.c.name).where(units_table.c.unit == values["holder_unit"])
        ).scalar()
        return f"واحد {unit or values['holder_unit']}"
    return secretariat_name(values["province"])
