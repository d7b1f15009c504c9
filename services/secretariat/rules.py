"""What each staff action decides on a case: pure rules, one per action (`Decision.rule`).

Each takes the decision (the RPC payload, the time, a looked-up unit name) and the case as
its streams tell it, and answers the events to record or refuses with the action's error code.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.errors import DomainError
from contracts.events import Event
from contracts.secretariat import (
    CaseArchived,
    CaseClosed,
    CaseReferred,
    CaseReleased,
    CaseReopened,
    CaseTaken,
    InternalNoteAdded,
    ReferralRecalled,
    ReplyPosted,
    RequestStatusSet,
    ReturnedForCorrection,
)
from contracts.secretariat_rpc import (
    AddNote,
    CaseCommand,
    Recall,
    Refer,
    Reply,
    ReturnToApplicant,
    SetRequestStatus,
    WithReason,
)
from services.secretariat.case import UNIT, Case, Decision
from services.secretariat.workdays import TEHRAN, parse_jalali, to_jalali

ReasonedEvent = type[CaseReleased] | type[CaseClosed] | type[CaseArchived] | type[CaseReopened]
"""The events of the actions `WithReason` carries: which request, why, and who."""


def _reasoned(event: ReasonedEvent, command: WithReason) -> Sequence[Event]:
    """What a release, close, archive or reopen records: the request, the reason as given,
    and the staff member (their account and the name pages show)."""
    staff = command.staff
    return [
        event(
            request_id=command.request_id,
            reason=command.reason,
            actor=staff.account_id,
            actor_name=staff.label,
        )
    ]


def _require_reason(command: WithReason) -> None:
    """Refuse an action whose reason is required but empty (a rule's refusal with a Persian
    message, not a validation error)."""
    if not command.reason:
        raise DomainError("case_reason_required")


def register(decision: Decision[CaseCommand], case: Case) -> Sequence[Event]:
    """Whether a clerk may give the request a number: the number itself is the book's to decide
    (`numbering`), so the case records nothing."""
    case.check_clerk(decision.payload)
    if case.registration_number is not None:
        raise DomainError("already_numbered")
    return []


def refer(decision: Decision[Refer], case: Case) -> Sequence[Event]:
    """Refer to a unit (or one of its representatives) with an instruction."""
    command = decision.payload
    case.check_clerk(command)
    case.check_active()
    if case.registration_number is None:
        raise DomainError("not_registered_yet")
    return [
        CaseReferred(
            request_id=command.request_id,
            unit=command.unit,
            unit_name=decision.unit_name,
            representative=command.representative or None,
            representative_name=command.representative_name or None,
            instruction=command.instruction,
            actor=command.staff.account_id,
            actor_name=command.staff.label,
        )
    ]


def recall(decision: Decision[Recall], case: Case) -> Sequence[Event]:
    """Take a referral back to the secretariat's desk, with a reason: its clerks (or an
    administrator) may whoever at the unit holds it, since that hold is what locks them out of
    every other action. The unit's staff keep reading the request; it is no longer theirs to act on."""
    command, staff = decision.payload, decision.payload.staff
    case.check_reach(staff, command.expected_version)
    if not case.is_clerk_of(staff):
        raise DomainError("forbidden")
    case.check_active()
    if case.stage != UNIT:
        raise DomainError("not_referred")
    _require_reason(command)
    return [
        ReferralRecalled(
            request_id=command.request_id,
            unit=case.holder_unit or "",
            unit_name=case.holder_unit_name,
            reason=command.reason,
            actor=staff.account_id,
            actor_name=staff.label,
        )
    ]


def take(decision: Decision[CaseCommand], case: Case) -> Sequence[Event]:
    """Take the request in hand."""
    command = decision.payload
    case.check(command.staff, command.expected_version)
    return [
        CaseTaken(
            request_id=command.request_id, actor=command.staff.account_id, actor_name=command.staff.label
        )
    ]


def release(decision: Decision[WithReason], case: Case) -> Sequence[Event]:
    """Let the request go back to the desk's pool: only its holder (or an administrator)."""
    command, staff = decision.payload, decision.payload.staff
    if not case.visible_to(staff):
        raise DomainError("request_not_found")
    if case.taken_by is None or (case.taken_by != staff.account_id and not staff.has("admin")):
        raise DomainError("not_holder")
    return _reasoned(CaseReleased, command)


def add_note(decision: Decision[AddNote], case: Case) -> Sequence[Event]:
    """An internal note: anyone who may see the request may comment, even after it is finished,
    whatever changed since their page showed it (notes commute)."""
    command = decision.payload
    if not case.visible_to(command.staff):
        raise DomainError("request_not_found")
    return [
        InternalNoteAdded(
            request_id=command.request_id,
            note_id=command.derived("note").hex,
            text=command.text,
            actor=command.staff.account_id,
            actor_name=command.staff.label,
        )
    ]


def return_to_applicant(decision: Decision[ReturnToApplicant], case: Case) -> Sequence[Event]:
    """Send the request back for correction; it comes back to whoever holds it now."""
    command = decision.payload
    case.check(command.staff, command.expected_version)
    case.check_active()
    return [
        ReturnedForCorrection(
            request_id=command.request_id,
            reason=command.reason,
            clerk=command.staff.account_id,
            holder=case.holder_now(),
        )
    ]


def set_request_status(decision: Decision[SetRequestStatus], case: Case) -> Sequence[Event]:
    """The request-status field, which only the secretariat's clerk sets (seed 000)."""
    command = decision.payload
    case.check_clerk(command)
    return [
        RequestStatusSet(
            request_id=command.request_id,
            value=command.value,
            reason=command.reason,
            actor=command.staff.account_id,
            actor_name=command.staff.label,
        )
    ]


def _jalali_day(text: str | None, field: str) -> str | None:
    """`text` as the Jalali yyyy/mm/dd it names, None when empty; `invalid_jalali_date` (its
    Persian message names the expected form) when it is no day of the Jalali calendar."""
    if not text:
        return None
    try:
        return to_jalali(parse_jalali(text))
    except ValueError:
        raise DomainError("invalid_jalali_date", field) from None


def reply(decision: Decision[Reply], case: Case) -> Sequence[Event]:
    """An interim or final reply; the request must be numbered, and a final reply finishes it.
    Its number and date default to the registration number's next reply and today in Tehran; a
    date typed is a real Jalali day (in any digits), kept as yyyy/mm/dd."""
    command = decision.payload
    reply_date = _jalali_day(command.reply_date, "reply_date")
    if case.final_replied and case.visible_to(command.staff):
        raise DomainError("already_final")
    case.check(command.staff, command.expected_version)
    case.check_active()
    if case.registration_number is None:
        raise DomainError("not_numbered")
    return [
        ReplyPosted(
            request_id=command.request_id,
            reply_id=command.derived("reply").hex,
            kind=command.kind,
            body=command.body,
            clerk=command.staff.account_id,
            posted_at=decision.at.isoformat(),
            reply_number=command.reply_number or f"{case.registration_number}/{case.replies + 1}",
            reply_date=reply_date or to_jalali(decision.at.astimezone(TEHRAN).date()),
            legal_basis=command.legal_basis,
            appeal_authority=command.appeal_authority,
            appeal_deadline=command.appeal_deadline,
            notes=command.notes,
            attachments=command.attachments,
        )
    ]


def close(decision: Decision[WithReason], case: Case) -> Sequence[Event]:
    """Close an open request (with a reason)."""
    command = decision.payload
    case.check_clerk(command)
    _require_reason(command)
    return _reasoned(CaseClosed, command)


def archive(decision: Decision[WithReason], case: Case) -> Sequence[Event]:
    """Archive a finished request."""
    command = decision.payload
    case.check_clerk(command, needs_open=False)
    if not case.finished or case.archived:
        raise DomainError("case_open" if not case.finished else "case_finished")
    return _reasoned(CaseArchived, command)


def reopen(decision: Decision[WithReason], case: Case) -> Sequence[Event]:
    """Open a finished request again, at the secretariat's desk."""
    command = decision.payload
    case.check_clerk(command, needs_open=False)
    if not case.finished:
        raise DomainError("case_open")
    _require_reason(command)
    return _reasoned(CaseReopened, command)
