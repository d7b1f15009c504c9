"""What staff do to a request: each action is decided on the case by `infra.decider.handle`.

The case is folded from its own stream, its request's stream and its number, found by id in
the registry book that holds it: never from the inbox, which lags the store, so a reply right
after numbering sees the number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.eventstore import EventStore
from contracts.rpc import AssignNumber, PostReply
from contracts.secretariat_rpc import (
    AddNote,
    CaseCommand,
    Recall,
    Refer,
    Reply,
    ReturnToApplicant,
    SetRequestStatus,
    Staff,
    WithReason,
)
from infra.decider import Decided, Found, handle, load_state
from infra.references import defined_unit_name
from services.secretariat import allowed, rules
from services.secretariat.case import CASE, Case, Decision, P
from services.secretariat.numbering import earlier_number, number_of, take_number
from services.secretariat.tables import cases_table


def case_stream(request_id: str) -> str:
    """The stream of the secretariat's own events about one request."""
    return f"case-{request_id}"


def request_stream(request_id: str) -> str:
    """The requests service's stream of one request (read, never written, here)."""
    return f"request-{request_id}"


def case_sources(request_id: str) -> list[str | Found]:
    """What a case folds besides its own stream: its request's stream and its number."""
    return [request_stream(request_id), number_of(request_id)]


def on_case(store: EventStore, decision: Decision[P], *, purpose: str = "case") -> Decided[Case]:
    """Decide `decision` on its case and record what it decided (the first event's id is the
    command's `derived(purpose)`, so a repeated command finds it)."""
    command = decision.payload
    return handle(
        store,
        CASE,
        decision,
        case_stream(command.request_id),
        identity=command,
        purpose=purpose,
        also=case_sources(command.request_id),
        actor=f"staff:{command.staff.account_id}",
        metadata={"actor_name": command.staff.label},
    )


def act(store: EventStore, decision: Decision[P]) -> dict[str, Any]:
    """Decide and record one action; the answer is the case's version after it and its event
    (a repeated command: its first event again, recording nothing)."""
    outcome = on_case(store, decision)
    version = outcome.recorded[-1].revision if outcome.repeated else outcome.revision
    return {"version": version, "event": outcome.events[0].model_dump(mode="json")}


def now() -> datetime:
    """When an action is decided (the clock is read here, never by a rule)."""
    return datetime.now(UTC)


def register(store: EventStore, command: CaseCommand) -> dict[str, Any]:
    """Give the request the next number of its secretariat's book for this year."""
    try:
        # The case's rules say whether this clerk may; the number is the book's to decide, so
        # the case records nothing (under a purpose of its own, never mistaken for a repeat).
        case = on_case(store, Decision(rules.register, command, now()), purpose="number").state
    except DomainError as error:
        if error.code != "already_numbered":
            raise
        return earlier_number(store, command.request_id, command).model_dump()
    staff = command.staff
    event = take_number(
        store, case.province, command.request_id, staff.account_id, actor_name=staff.label, key=command
    )
    return event.model_dump()


def refer(store: EventStore, command: Refer) -> dict[str, Any]:
    """Refer to a unit (or one of its representatives) with an instruction."""
    defined = defined_unit_name(store, command.unit)
    return act(store, Decision(rules.refer, command, now(), unit_name=command.unit_name or defined))


def recall(store: EventStore, command: Recall) -> dict[str, Any]:
    """Take a referral back to the secretariat's desk (with a reason)."""
    return act(store, Decision(rules.recall, command, now()))


def allowed_actions(store: EventStore, request_id: str, staff: Staff) -> list[str]:
    """What `staff` may do to the request now, decided on the case as its streams tell it (the
    read model may lag an action just taken)."""
    case = load_state(store, CASE, case_stream(request_id), also=case_sources(request_id)).state
    return allowed.allowed_actions(case, staff, now())


def take(store: EventStore, command: CaseCommand) -> dict[str, Any]:
    """Take the request in hand."""
    return act(store, Decision(rules.take, command, now()))


def release(store: EventStore, command: WithReason) -> dict[str, Any]:
    """Let the request go back to the desk's pool."""
    return act(store, Decision(rules.release, command, now()))


def add_note(store: EventStore, command: AddNote) -> dict[str, Any]:
    """An internal note."""
    return act(store, Decision(rules.add_note, command, now()))


def return_to_applicant(store: EventStore, command: ReturnToApplicant) -> dict[str, Any]:
    """Send the request back for correction."""
    return act(store, Decision(rules.return_to_applicant, command, now()))


def set_request_status(store: EventStore, command: SetRequestStatus) -> dict[str, Any]:
    """The request-status field."""
    return act(store, Decision(rules.set_request_status, command, now()))


def reply(store: EventStore, command: Reply) -> dict[str, Any]:
    """An interim or final reply."""
    return act(store, Decision(rules.reply, command, now()))


# -- the walking skeleton's calls, kept for its in-process tests (no RPC exposes them) ---------


def _skeleton_staff(clerk: str, province: str | None = None) -> Staff:
    return Staff(account_id=clerk, name=clerk, roles=("admin",), province=province)


def assign_number(store: EventStore, command: AssignNumber) -> dict[str, Any]:
    """`register` for an administrator named `command.clerk`."""
    staff = _skeleton_staff(command.clerk)
    case_command = CaseCommand(request_id=command.request_id, staff=staff, command_id=command.command_id)
    return register(store, case_command)


def post_reply(store: EventStore, command: PostReply) -> dict[str, Any]:
    """`reply` for an administrator named `command.clerk`; answers the recorded event."""
    staff = _skeleton_staff(command.clerk)
    answer = reply(
        store,
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
