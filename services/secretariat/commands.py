"""What staff do to a request: load the case, decide, append with the version decided on."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contracts.catalogue import UnitDefined, unit_stream
from contracts.envelope import RecordedEvent, StreamNotFound, StreamState, WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import Event, new_event, registry
from contracts.eventstore import EventStore
from contracts.rpc import AssignNumber, PostReply
from contracts.secretariat import (
    CaseReferred,
    CaseReleased,
    CaseTaken,
    InternalNoteAdded,
    ReplyPosted,
    RequestStatusSet,
    ReturnedForCorrection,
)
from contracts.secretariat_rpc import (
    AddNote,
    CaseCommand,
    Refer,
    Reply,
    ReturnToApplicant,
    SetRequestStatus,
    Staff,
    WithReason,
)
from infra.commands import append_command
from infra.projections import caught_up
from services.secretariat.case import Case
from services.secretariat.numbering import take_number
from services.secretariat.projections import Inbox
from services.secretariat.tables import cases_table
from services.secretariat.workdays import to_jalali, today

NOTE_RETRIES = 20
AWAITS_NUMBER = frozenset({"not_numbered", "not_registered_yet"})
CATCH_UP_SECONDS = 2.0
"""How long a step refused for want of a number waits for the inbox to catch up first."""


def case_stream(request_id: str) -> str:
    """The stream of the secretariat's own events about one request."""
    return f"case-{request_id}"


def request_stream(request_id: str) -> str:
    """The requests service's stream of one request (read, never written, here)."""
    return f"request-{request_id}"


def _read(store: EventStore, stream: str) -> list[RecordedEvent]:
    try:
        return store.read_stream(stream)
    except StreamNotFound:
        return []


def load_case(
    store: EventStore, db_read: sa.Engine, request_id: str
) -> tuple[Case, dict[uuid.UUID, RecordedEvent]]:
    """The case as its streams tell it now, and the case stream's events by id."""
    with db_read.connect() as conn:
        row = conn.execute(
            sa.select(cases_table.c.registration_number).where(cases_table.c.request_id == request_id)
        ).first()
    if row is None:
        raise DomainError("request_not_found")
    case = Case(request_id, registration_number=row.registration_number)
    own = _read(store, case_stream(request_id))
    # Both streams in their global order: a resubmission answers the return before it.
    for recorded in sorted(_read(store, request_stream(request_id)) + own, key=lambda r: r.position):
        case.apply(registry.decode(recorded))
    if own:
        case.version = own[-1].revision
    return case, {recorded.id: recorded for recorded in own}


def _append(store: EventStore, case: Case, command: CaseCommand, event: Event) -> dict[str, Any]:
    envelope = new_event(event, event_id=command.derived("case"), actor=f"staff:{command.staff.account_id}")
    envelope.metadata["actor_name"] = command.staff.label
    expected = StreamState.NO_STREAM if case.version is None else case.version
    try:
        result = append_command(store, case_stream(case.request_id), [envelope], expected, command)
    except WrongExpectedVersion:
        raise DomainError("conflict") from None
    return {"version": result.revision, "event": event.model_dump(mode="json")}


Decide = Callable[[Case], Event]


def act(
    store: EventStore, db_read: sa.Engine, command: CaseCommand, decide: Decide, *, retry: bool = False
) -> dict[str, Any]:
    """Load, decide, append; a repeated command answers without recording twice. With `retry`
    (for steps that commute, like notes) a concurrent change is decided again instead of refused.

    A step refused for want of a registration number is decided once more after the inbox has
    caught up with the store: a request numbered a moment ago shows its number there shortly
    after (the number is the book's event, not the case's)."""
    conflicts, waited = 0, False
    while True:
        case, seen = load_case(store, db_read, command.request_id)
        earlier = seen.get(command.derived("case"))
        if earlier is not None:  # the same command again: the first answer (if the same input)
            command.check_repeat(earlier)
            return {"version": earlier.revision, "event": registry.decode(earlier).model_dump(mode="json")}
        try:
            return _append(store, case, command, decide(case))
        except DomainError as error:
            if error.code in AWAITS_NUMBER and not waited:
                waited = True
                if caught_up(db_read, Inbox.name, store.last_position(), CATCH_UP_SECONDS):
                    continue
            conflicts += error.code == "conflict"
            if not (retry and error.code == "conflict") or conflicts >= NOTE_RETRIES:
                raise


def clerk_check(case: Case, command: CaseCommand, *, needs_open: bool = True) -> None:
    case.check(command.staff, command.expected_version, needs_open=needs_open)
    if not case.is_clerk_of(command.staff):
        raise DomainError("forbidden")


def register(store: EventStore, db_read: sa.Engine, command: CaseCommand) -> dict[str, Any]:
    """Give the request the next number of its secretariat's book for this year."""
    case, _ = load_case(store, db_read, command.request_id)
    clerk_check(case, command)
    if case.registration_number is not None:
        raise DomainError("already_numbered")
    staff = command.staff
    event = take_number(
        store,
        case.province,
        case.request_id,
        staff.account_id,
        actor_name=staff.label,
        command_id=command.command_id,
        fingerprint=command.fingerprint,
    )
    return event.model_dump()


def defined_unit_name(store: EventStore, unit_id: str) -> str:
    """The unit's name as the catalogue's stream defines it now, or `unknown_unit`: a referral
    to a unit nobody defined would leave the request where no representative will see it."""
    events = map(registry.decode, _read(store, unit_stream(unit_id)))
    units = [event for event in events if isinstance(event, UnitDefined)]
    if not units:
        raise DomainError("unknown_unit", f"unit: {unit_id}")
    return units[-1].name


def refer(store: EventStore, db_read: sa.Engine, command: Refer) -> dict[str, Any]:
    """Refer to a unit (or one of its representatives) with an instruction."""
    defined = defined_unit_name(store, command.unit)
    unit_name = command.unit_name or defined

    def decide(case: Case) -> Event:
        clerk_check(case, command)
        case.check_active()
        if case.registration_number is None:
            raise DomainError("not_registered_yet")
        return CaseReferred(
            request_id=case.request_id,
            unit=command.unit,
            unit_name=unit_name,
            representative=command.representative or None,
            representative_name=command.representative_name or None,
            instruction=command.instruction,
            actor=command.staff.account_id,
            actor_name=command.staff.label,
        )

    return act(store, db_read, command, decide)


def take(store: EventStore, db_read: sa.Engine, command: CaseCommand) -> dict[str, Any]:
    """Take the request in hand."""

    def decide(case: Case) -> Event:
        case.check(command.staff, command.expected_version)
        return CaseTaken(
            request_id=case.request_id, actor=command.staff.account_id, actor_name=command.staff.label
        )

    return act(store, db_read, command, decide)


def release(store: EventStore, db_read: sa.Engine, command: WithReason) -> dict[str, Any]:
    """Let the request go back to the desk's pool."""

    def decide(case: Case) -> Event:
        if not case.visible_to(command.staff):
            raise DomainError("request_not_found")
        if case.taken_by is None or (
            case.taken_by != command.staff.account_id and not command.staff.has("admin")
        ):
            raise DomainError("not_holder")
        return CaseReleased(
            request_id=case.request_id,
            reason=command.reason,
            actor=command.staff.account_id,
            actor_name=command.staff.label,
        )

    return act(store, db_read, command, decide)


def add_note(store: EventStore, db_read: sa.Engine, command: AddNote) -> dict[str, Any]:
    """An internal note: anyone who may see the request may comment, even after it is finished."""

    def decide(case: Case) -> Event:
        if not case.visible_to(command.staff):
            raise DomainError("request_not_found")
        return InternalNoteAdded(
            request_id=case.request_id,
            note_id=command.derived("note").hex,
            text=command.text,
            actor=command.staff.account_id,
            actor_name=command.staff.label,
        )

    return act(store, db_read, command, decide, retry=True)


def return_to_applicant(store: EventStore, db_read: sa.Engine, command: ReturnToApplicant) -> dict[str, Any]:
    """Send the request back for correction; it comes back to whoever holds it now."""

    def decide(case: Case) -> Event:
        case.check(command.staff, command.expected_version)
        case.check_active()
        return ReturnedForCorrection(
            request_id=case.request_id,
            reason=command.reason,
            clerk=command.staff.account_id,
            holder=case.holder_now(),
        )

    return act(store, db_read, command, decide)


def set_request_status(store: EventStore, db_read: sa.Engine, command: SetRequestStatus) -> dict[str, Any]:
    """The request-status field, which only the secretariat's clerk sets (seed 000)."""

    def decide(case: Case) -> Event:
        clerk_check(case, command)
        return RequestStatusSet(
            request_id=case.request_id,
            value=command.value,
            reason=command.reason,
            actor=command.staff.account_id,
            actor_name=command.staff.label,
        )

    return act(store, db_read, command, decide)


def reply(store: EventStore, db_read: sa.Engine, command: Reply) -> dict[str, Any]:
    """An interim or final reply; the request must be numbered, and a final reply finishes it."""

    def decide(case: Case) -> Event:
        if case.final_replied and case.visible_to(command.staff):
            raise DomainError("already_final")
        case.check(command.staff, command.expected_version)
        case.check_active()
        if case.registration_number is None:
            raise DomainError("not_numbered")
        return ReplyPosted(
            request_id=case.request_id,
            reply_id=command.derived("reply").hex,
            kind=command.kind,
            body=command.body,
            clerk=command.staff.account_id,
            posted_at=datetime.now(UTC).isoformat(),
            reply_number=command.reply_number or f"{case.registration_number}/{case.replies + 1}",
            reply_date=command.reply_date or to_jalali(today()),
            legal_basis=command.legal_basis,
            appeal_authority=command.appeal_authority,
            appeal_deadline=command.appeal_deadline,
            notes=command.notes,
            attachments=command.attachments,
        )

    return act(store, db_read, command, decide)


# -- the walking skeleton's calls, kept for its in-process tests (no RPC exposes them) ---------


def _skeleton_staff(clerk: str, province: str | None = None) -> Staff:
    return Staff(account_id=clerk, name=clerk, roles=("admin",), province=province)


def assign_number(store: EventStore, db_read: sa.Engine, command: AssignNumber) -> dict[str, Any]:
    """`register` for an administrator named `command.clerk`."""
    staff = _skeleton_staff(command.clerk)
    case_command = CaseCommand(request_id=command.request_id, staff=staff, command_id=command.command_id)
    return register(store, db_read, case_command)


def post_reply(store: EventStore, db_read: sa.Engine, command: PostReply) -> dict[str, Any]:
    """`reply` for an administrator named `command.clerk`; answers the recorded event."""
    staff = _skeleton_staff(command.clerk)
    answer = reply(
        store,
        db_read,
        Reply(
            request_id=command.request_id,
            staff=staff,
            kind=command.kind,
            body=command.body,
            command_id=command.command_id,
        ),
    )
    return dict(answer["event"])


def inbox(db_read: sa.Engine, province: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest requests first, of one province or all."""
    query = sa.select(cases_table).order_by(cases_table.c.position.desc()).limit(limit)
    if province:
        query = query.where(cases_table.c.province == province)
    with db_read.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
