"""The secretariat's read model: the cartable, the workflow history, replies, deadlines.

One projection keeps every table, so a page never shows a history ahead of its cartable row.
Times come from the recorded events and the working-day calendar from configuration, so a
replay rebuilds the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contracts.partners import PartnerAdded
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
    ReferralRecalled,
    ReplyPosted,
    RequestStatusSet,
    ReturnedForCorrection,
)
from infra import jsontext
from infra.projections import Context, RowsProjection, field_of
from infra.rows import Rows
from services.secretariat import timeline
from services.secretariat.case import CITIZEN, DONE, SECRETARIAT, UNIT, parse_holder
from services.secretariat.names import CITIZEN_HOLDER, optional_types, secretariat_name
from services.secretariat.tables import (
    canned_table,
    case_details_table,
    case_units_table,
    cases_table,
    due_counts_table,
    metadata,
    partners_table,
    replies_table,
    services_table,
    units_table,
)
from services.secretariat.workdays import (
    WorkingCalendar,
    configured_calendar,
    default_expected_days,
    local_date,
)

CATALOGUE_TYPES = optional_types("ServicePublished", "UnitDefined")

__all__ = ["Inbox", "cases_table", "metadata"]


@dataclass(frozen=True)
class Settings:
    """The configuration deadlines are computed with: read once per batch, not per event."""

    calendar: WorkingCalendar
    expected_days: int
    """For a service the catalogue gives no duration."""

    @staticmethod
    def configured() -> Settings:
        return Settings(configured_calendar(), default_expected_days())


class Inbox(RowsProjection):
    """Every request of every secretariat with its state, holder, deadline and history."""

    name = "secretariat.cases"
    rebuild_cost = 6.0  # the cartable row, its history line, its counters: several rows an event
    handles = (
        RequestSubmitted,
        RequestResubmitted,
        NumberAssigned,
        ReplyPosted,
        ReturnedForCorrection,
        CaseReferred,
        ReferralRecalled,
        CaseTaken,
        CaseReleased,
        InternalNoteAdded,
        RequestStatusSet,
        CaseClosed,
        CaseArchived,
        CaseReopened,
        CannedReplySaved,
        CannedReplyRemoved,
        PartnerAdded,
        *CATALOGUE_TYPES,
    )
    metadata = metadata
    settings: Settings | None = None

    def apply_batch(self, conn: sa.Connection, batch: Sequence[tuple[Any, Context]]) -> None:
        self.settings = Settings.configured()
        super().apply_batch(conn, batch)

    def prefetch(self, rows: Rows, events: Sequence[Any]) -> None:
        rows.load_for(cases_table, events, field_of("request_id"), RequestSubmitted)
        rows.load_for(case_details_table, events, _filed_or_corrected, RequestSubmitted)
        services = [e.service_id for e in events if isinstance(e, RequestSubmitted) and e.service_id]
        rows.load(services_table, services)
        filed = [e.applicant.partner_id for e in events if isinstance(e, RequestSubmitted)]
        rows.load(partners_table, [partner for partner in filed if partner])  # named in the history

    def change(self, rows: Rows, event: Any, context: Context) -> None:
        settings = self.settings or Settings.configured()
        name = type(event).type_name
        if name in ("ServicePublished", "UnitDefined"):
            _catalogue(rows, event)
        elif isinstance(event, CannedReplySaved | CannedReplyRemoved):
            _canned(rows, event, context)
        elif isinstance(event, PartnerAdded):
            # whose system filed a request (the applicant's `partner_id`): a name for the pages
            rows.upsert(partners_table, {"partner_id": event.partner_id, "name": event.name})
        elif isinstance(event, RequestSubmitted):
            _submitted(rows, event, context, settings)
        else:
            row = rows.get(cases_table, event.request_id)
            if row is None:
                return  # not a request this desk knows (its submission was parked)
            values = _change(rows, row, event, context, settings)
            if context.recorded.stream.startswith("case-"):
                values["version"] = context.recorded.revision
            values["updated_at"] = context.at
            values["holder_name"] = _holder_name(rows, {**row, **values})
            changed = rows.update(cases_table, row["request_id"], values)
            assert changed is not None
            if (changed["stage"], changed["due_on"]) != (row["stage"], row["due_on"]):
                _count(rows, row, -1)
                _count(rows, changed, +1)
            timeline.record(rows, changed, event, context)


def _filed_or_corrected(event: Any) -> str | None:
    """The request whose details `event` writes: only a submission and a correction do."""
    return event.request_id if isinstance(event, RequestSubmitted | RequestResubmitted) else None


def _catalogue(rows: Rows, event: Any) -> None:
    if type(event).type_name == "UnitDefined":
        rows.upsert(units_table, {"unit": event.unit_id, "name": event.name})
        return
    rows.upsert(
        services_table,
        {
            "service_id": event.service_id,
            "name": event.name,
            "unit": event.unit_id,
            "expected_days": event.expected_duration_days,
        },
    )
    rows.upsert(units_table, {"unit": event.unit_id, "name": getattr(event, "unit_name", event.unit_id)})


def _canned(rows: Rows, event: Any, context: Context) -> None:
    rows.delete(canned_table, event.canned_id)
    if isinstance(event, CannedReplySaved):
        values = event.model_dump(exclude={"actor"})
        rows.insert(canned_table, {**values, "position": context.recorded.position})


def _submitted(rows: Rows, event: RequestSubmitted, context: Context, settings: Settings) -> None:
    service = rows.get(services_table, event.service_id) if event.service_id else None
    expected = service["expected_days"] if service is not None else settings.expected_days
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
        "attachments": jsontext.text([a.model_dump() for a in event.attachments]),
        "service_id": event.service_id,
        "service_name": event.service_name or (service["name"] if service is not None else None),
        "unit": event.unit or (service["unit"] if service is not None else None),
        "submitted_at": _utc(event.submitted_at),  # one offset, so text order is time order
        "status": "new",
        "stage": SECRETARIAT,
        "request_status": "undetermined",
        "holder_name": secretariat_name(event.province),
        "version": -1,
        "replies": 0,
        "expected_days": expected,
        "due_on": settings.calendar.add_working_days(submitted, expected).isoformat(),
        "paused_days": 0,
        "updated_at": context.at,
    }
    row = rows.insert(cases_table, values)
    _count(rows, row, +1)
    visit = event.visit.model_dump() if event.visit is not None else None
    rows.insert(
        case_details_table,
        {
            "request_id": event.request_id,
            "applicant": jsontext.text(event.applicant.model_dump(exclude={"account_id"})),
            "visit": jsontext.text(visit) if visit and any(visit.values()) else None,
            "unit": values["unit"],
            "addressee_unit": event.addressee_unit or None,
            "files_at": values["submitted_at"],
            "earlier_files": "[]",
        },
    )
    timeline.record(rows, row, event, context)


def _utc(moment: str) -> str:
    value = datetime.fromisoformat(moment)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _count(rows: Rows, case: dict[str, Any], change: int) -> None:
    """Count `case` in (or out of, `change` -1) its secretariat's stage and due date."""
    key = (case["province"], case["stage"], case["due_on"] or "")
    rows.add(due_counts_table, key, "requests", change)


def _change(
    rows: Rows, row: dict[str, Any], event: Any, context: Context, settings: Settings
) -> dict[str, Any]:
    """The new values of the cartable row after `event`."""
    at = context.at
    if isinstance(event, NumberAssigned):
        status = "registered" if row["status"] == "new" else row["status"]
        return {"registration_number": event.registration_number, "registered_at": at, "status": status}
    if isinstance(event, CaseReferred):
        rows.delete(case_units_table, event.unit, row["request_id"])
        referral = {"unit": event.unit, "request_id": row["request_id"], "position": row["position"]}
        rows.insert(case_units_table, referral)
        if event.unit_name:
            rows.upsert(units_table, {"unit": event.unit, "name": event.unit_name})
        return {
            "status": "referred",
            "stage": UNIT,
            "unit": event.unit,
            "holder_unit": event.unit,
            "holder_person": event.representative,
            "taken_by": event.representative,
            "taken_name": event.representative_name,
        }
    if isinstance(event, ReferralRecalled):
        return {
            "status": "recalled",
            "stage": SECRETARIAT,
            "holder_unit": None,
            "holder_person": None,
            "taken_by": None,
            "taken_name": None,
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
            "returned_name": row["holder_name"],
            "paused_since": at,
            "due_on": None,
        }
    if isinstance(event, RequestResubmitted):
        _keep_replaced_files(rows, row, event, at)
        return _resubmitted(row, event, at, settings.calendar)
    if isinstance(event, ReplyPosted):
        rows.insert(replies_table, _reply_row(event, context))
        values: dict[str, Any] = {"replies": row["replies"] + 1}
        if event.kind == "final":
            submitted = local_date(row["submitted_at"])
            elapsed = settings.calendar.working_days_between(submitted, local_date(at))
            values.update(
                status="done",
                stage=DONE,
                final_reply_at=event.posted_at,
                reply_days=max(elapsed - row["paused_days"], 0),
                taken_by=None,
                taken_name=None,
            )
        elif row["status"] not in ("returned",):
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


def _resubmitted(
    row: dict[str, Any], event: RequestResubmitted, at: str, calendar: WorkingCalendar
) -> dict[str, Any]:
    attachments = jsontext.text([a.model_dump() for a in event.attachments])
    values: dict[str, Any] = {"subject": event.subject, "text": event.text, "attachments": attachments}
    if row["stage"] != CITIZEN or row["returned_to"] is None:
        return values
    paused = row["paused_days"]
    if row["paused_since"]:
        paused += calendar.working_days_between(local_date(row["paused_since"]), local_date(at))
    stage, place, person = parse_holder(row["returned_to"])
    submitted = local_date(row["submitted_at"])
    values.update(
        status="resubmitted",
        stage=stage,
        holder_unit=place if stage == UNIT else None,
        holder_person=person if stage == UNIT else None,
        taken_by=person,
        taken_name=row["returned_name"] if person else None,
        returned_to=None,
        paused_since=None,
        paused_days=paused,
        due_on=calendar.add_working_days(submitted, row["expected_days"] + paused).isoformat(),
    )
    return values


def _keep_replaced_files(rows: Rows, row: dict[str, Any], event: RequestResubmitted, at: str) -> None:
    """A correction carries the request's whole new set of files: the set it replaces becomes
    an earlier version (sent when, replaced when), unless the set did not change."""
    before = json.loads(row["attachments"])
    after = [a.model_dump() for a in event.attachments]
    details = rows.get(case_details_table, row["request_id"])
    if details is None:  # filed before the table existed; a replay fills in the rest
        blank = {"request_id": row["request_id"], "files_at": row["submitted_at"], "earlier_files": "[]"}
        details = rows.insert(case_details_table, blank)
    if [a["sha256"] for a in before] == [a["sha256"] for a in after]:
        return
    earlier = json.loads(details["earlier_files"])
    if before:
        earlier.insert(0, {"sent_at": details["files_at"], "replaced_at": at, "files": before})
    rows.update(
        case_details_table,
        row["request_id"],
        {"files_at": at, "earlier_files": jsontext.text(earlier)},
    )


def _reply_row(event: ReplyPosted, context: Context) -> dict[str, Any]:
    values = event.model_dump(exclude={"attachments"})
    values["attachments"] = jsontext.text([a.model_dump() for a in event.attachments])
    values["clerk_name"] = context.recorded.metadata.get("actor_name") or event.clerk
    values["position"] = context.recorded.position
    return values


def _holder_name(rows: Rows, values: dict[str, Any]) -> str:
    if values["stage"] == CITIZEN:
        return CITIZEN_HOLDER
    if values["stage"] == DONE:
        return "—"
    if values.get("taken_by"):
        return str(values.get("taken_name") or values["taken_by"])
    if values["stage"] == UNIT and values.get("holder_unit"):
        unit = rows.get(units_table, values["holder_unit"])
        name = f"واحد {unit['name'] if unit else values['holder_unit']}"
        return name[:200]  # holder_name's width: a unit's name may take all of it
    return secretariat_name(values["province"])
