"""One request as the secretariat handles it: who holds it, where it is, what may happen next.

The case is an aggregate folded from three sources in their global order: the request's own
stream (submission, resubmissions), the secretariat's case stream, and the request's number,
found by its id in whatever registry book holds it (see `numbering`). `evolve` is the only way
its state changes; each staff action is a `Decision` whose rule (`rules`) decides on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from contracts.errors import DomainError
from contracts.events import Event
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
from contracts.secretariat_rpc import CaseCommand, Staff
from infra.decider import Decider

SECRETARIAT, UNIT, CITIZEN, DONE = "secretariat", "unit", "citizen", "done"
"""Stages: at the secretariat's desk, at a unit, waiting for the citizen, finished."""

CASE_EVENTS = (
    CaseReferred,
    ReferralRecalled,
    CaseTaken,
    CaseReleased,
    InternalNoteAdded,
    RequestStatusSet,
    ReturnedForCorrection,
    ReplyPosted,
    CaseClosed,
    CaseArchived,
    CaseReopened,
)
"""What the case stream holds: each is one revision of it (the version a page shows)."""


def holder_token(stage: str, place: str, person: str | None) -> str:
    """Who holds a request, as `ReturnedForCorrection.holder` records it (`unit:permits:acct-7`)."""
    return f"{stage}:{place}" + (f":{person}" if person else "")


def parse_holder(token: str) -> tuple[str, str, str | None]:
    """The stage, place and person of a holder token."""
    parts = token.split(":", 2)
    if len(parts) == 1:  # a bare name (older events): a person at the secretariat
        return SECRETARIAT, "", token
    return parts[0], parts[1], parts[2] if len(parts) > 2 else None


@dataclass(frozen=True)
class Case:
    """The secretariat's view of one request, enough to decide any action on it."""

    request_id: str = ""
    submitted: bool = False  # the request's stream holds its submission
    province: str = ""
    service_unit: str | None = None
    registration_number: str | None = None
    version: int | None = None  # the case stream's revision; None before the first action
    stage: str = SECRETARIAT
    holder_unit: str | None = None
    holder_unit_name: str = ""  # as the referral named it
    holder_person: str | None = None
    taken_by: str | None = None
    referred_units: Set[str] = frozenset()
    finished: bool = False
    archived: bool = False
    returned_to: str | None = None
    returns: int = 0
    resubmissions: int = 0
    replies: int = 0
    final_replied: bool = False

    # -- who may do what ------------------------------------------------------------------

    def visible_to(self, staff: Staff) -> bool:
        """A clerk sees their secretariat's requests; a representative what was referred to their
        unit; an administrator everything."""
        if staff.has("admin"):
            return True
        if staff.has("clerk") and staff.province and staff.province == self.province:
            return True
        return bool(staff.has("representative") and staff.unit and staff.unit in self.referred_units)

    def is_clerk_of(self, staff: Staff) -> bool:
        """The secretariat's own staff (its clerks) or an administrator."""
        return staff.has("admin") or (staff.has("clerk") and staff.province == self.province)

    def at_desk_of(self, staff: Staff) -> bool:
        """True when the request sits where `staff` may act on it now."""
        if self.is_clerk_of(staff):
            return True
        return (
            staff.has("representative")
            and self.stage == UNIT
            and staff.unit == self.holder_unit
            and self.holder_person in (None, staff.account_id)
        )

    def holder_now(self) -> str:
        """The holder token of the request as it stands (to come back to after a correction)."""
        if self.stage == UNIT:
            return holder_token(UNIT, self.holder_unit or "", self.holder_person or self.taken_by)
        return holder_token(SECRETARIAT, self.province, self.taken_by)

    def check_exists(self) -> None:
        """Refuse a request the requests service never submitted (no such stream)."""
        if not self.submitted:
            raise DomainError("request_not_found")

    def check_reach(self, staff: Staff, expected_version: int | None, *, needs_open: bool = True) -> None:
        """Refuse what the actor may not touch whoever holds it: not theirs to see, changed since
        their page showed it, or finished."""
        if not self.visible_to(staff):
            raise DomainError("request_not_found")
        if expected_version is not None and expected_version != (
            -1 if self.version is None else self.version
        ):
            raise DomainError("conflict")
        if needs_open and self.finished:
            raise DomainError("case_finished")

    def check(self, staff: Staff, expected_version: int | None, *, needs_open: bool = True) -> None:
        """Refuse what the actor may not do now: `check_reach`, not at their desk, or held by a
        colleague."""
        self.check_reach(staff, expected_version, needs_open=needs_open)
        if not self.at_desk_of(staff):
            if self.stage == CITIZEN and staff.unit and staff.unit == self.holder_unit:
                raise DomainError("waiting_for_citizen")  # it comes back to this desk
            raise DomainError("not_at_your_desk")
        if self.taken_by not in (None, staff.account_id) and not staff.has("admin"):
            raise DomainError("held_by_other")

    def check_clerk(self, command: CaseCommand, *, needs_open: bool = True) -> None:
        """`check`, and only the secretariat's clerks (or an administrator) may."""
        self.check(command.staff, command.expected_version, needs_open=needs_open)
        if not self.is_clerk_of(command.staff):
            raise DomainError("forbidden")

    def check_active(self) -> None:
        """Refuse while the request waits for the citizen's correction."""
        if self.stage == CITIZEN:
            raise DomainError("waiting_for_citizen")


def evolve(case: Case, event: Event) -> Case:
    """The case after one more event of its request, its case stream or its number."""
    if isinstance(event, CASE_EVENTS):
        case = replace(case, version=0 if case.version is None else case.version + 1)
    return _evolved(case, event)


def _evolved(case: Case, event: Any) -> Case:
    if isinstance(event, RequestSubmitted):
        return replace(
            case,
            request_id=event.request_id,
            submitted=True,
            province=event.province,
            service_unit=event.unit,
        )
    if isinstance(event, RequestResubmitted):
        return _resubmitted(replace(case, resubmissions=case.resubmissions + 1))
    if isinstance(event, NumberAssigned):
        return replace(case, registration_number=event.registration_number)
    if isinstance(event, CaseReferred):
        return replace(
            case,
            stage=UNIT,
            holder_unit=event.unit,
            holder_unit_name=event.unit_name,
            holder_person=event.representative,
            taken_by=event.representative,
            referred_units=case.referred_units | {event.unit},
        )
    if isinstance(event, ReferralRecalled):
        return replace(
            case, stage=SECRETARIAT, holder_unit=None, holder_unit_name="", holder_person=None, taken_by=None
        )
    if isinstance(event, CaseTaken):
        return replace(case, taken_by=event.actor)
    if isinstance(event, CaseReleased):
        return replace(case, taken_by=None)
    if isinstance(event, ReturnedForCorrection):
        return replace(case, returns=case.returns + 1, returned_to=event.holder, stage=CITIZEN)
    if isinstance(event, ReplyPosted):
        if event.kind == "final":
            return replace(
                case, replies=case.replies + 1, stage=DONE, finished=True, taken_by=None, final_replied=True
            )
        return replace(case, replies=case.replies + 1)
    if isinstance(event, CaseClosed):
        return replace(case, stage=DONE, finished=True, taken_by=None)
    if isinstance(event, CaseArchived):
        return replace(case, archived=True)
    if isinstance(event, CaseReopened):
        return replace(
            case,
            stage=SECRETARIAT,
            finished=False,
            archived=False,
            final_replied=False,
            holder_unit=None,
            holder_unit_name="",
            holder_person=None,
            taken_by=None,
        )
    return case


def _resubmitted(case: Case) -> Case:
    """A correction sent once every return is answered: back to whoever held the request."""
    if case.returned_to is None or case.resubmissions < case.returns:
        return case
    stage, place, person = parse_holder(case.returned_to)
    return replace(
        case,
        stage=stage,
        holder_unit=place if stage == UNIT else None,
        holder_person=person if stage == UNIT else None,
        taken_by=person,
        returned_to=None,
    )


P = TypeVar("P", bound=CaseCommand)


@dataclass(frozen=True)
class Decision(Generic[P]):
    """One staff action on a case: the rule that decides it (`rules`), the RPC payload it came
    with, and what deciding needs from outside the case: when it happens, and for a referral
    the unit's name as the catalogue defines it."""

    rule: Callable[[Decision[P], Case], Sequence[Event]]
    payload: P
    at: datetime
    unit_name: str = ""


def decide(decision: Decision[Any], case: Case) -> Sequence[Event]:
    """What the action decides on the case as it stands: its rule's events, or a refusal."""
    case.check_exists()
    return decision.rule(decision, case)


CASE: Decider[Decision[Any], Case] = Decider(initial=Case, evolve=evolve, decide=decide)
"""The case aggregate: its stream is `case-<request id>`, folded with the request's stream
and its number."""
