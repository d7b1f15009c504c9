"""One request as the secretariat handles it: who holds it, where it is, what may happen next.

The state is folded from the request's own stream (submission, resubmissions) and the
secretariat's case stream; the registration number comes from the book (see `numbering`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.errors import DomainError
from contracts.requests import RequestResubmitted, RequestSubmitted
from contracts.secretariat import (
    CaseArchived,
    CaseClosed,
    CaseReferred,
    CaseReleased,
    CaseReopened,
    CaseTaken,
    ReplyPosted,
    ReturnedForCorrection,
)
from contracts.secretariat_rpc import Staff

SECRETARIAT, UNIT, CITIZEN, DONE = "secretariat", "unit", "citizen", "done"
"""Stages: at the secretariat's desk, at a unit, waiting for the citizen, finished."""


def holder_token(stage: str, place: str, person: str | None) -> str:
    """Who holds a request, as `ReturnedForCorrection.holder` records it (`unit:permits:acct-7`)."""
    return f"{stage}:{place}" + (f":{person}" if person else "")


def parse_holder(token: str) -> tuple[str, str, str | None]:
    """The stage, place and person of a holder token."""
    parts = token.split(":", 2)
    if len(parts) == 1:  # a bare name (older events): a person at the secretariat
        return SECRETARIAT, "", token
    return parts[0], parts[1], parts[2] if len(parts) > 2 else None


@dataclass
class Case:
    """The secretariat's view of one request, enough to decide any action on it."""

    request_id: str
    province: str = ""
    service_unit: str | None = None
    registration_number: str | None = None
    version: int | None = None  # the case stream's revision; None before the first action
    stage: str = SECRETARIAT
    holder_unit: str | None = None
    holder_person: str | None = None
    taken_by: str | None = None
    referred_units: set[str] = field(default_factory=set)
    finished: bool = False
    archived: bool = False
    returned_to: str | None = None
    returns: int = 0
    resubmissions: int = 0
    replies: int = 0
    final_replied: bool = False

    def apply(self, event: Any) -> None:
        """Take one recorded event into account."""
        if isinstance(event, RequestSubmitted):
            self.province, self.service_unit = event.province, event.unit
        elif isinstance(event, RequestResubmitted):
            self.resubmissions += 1
            if self.returned_to is not None and self.resubmissions >= self.returns:
                self.stage, place, person = parse_holder(self.returned_to)
                self.holder_unit = place if self.stage == UNIT else None
                self.holder_person = person if self.stage == UNIT else None
                self.taken_by = person
                self.returned_to = None
        elif isinstance(event, CaseReferred):
            self.stage, self.holder_unit = UNIT, event.unit
            self.holder_person, self.taken_by = event.representative, event.representative
            self.referred_units.add(event.unit)
        elif isinstance(event, CaseTaken):
            self.taken_by = event.actor
        elif isinstance(event, CaseReleased):
            self.taken_by = None
        elif isinstance(event, ReturnedForCorrection):
            self.returns += 1
            self.returned_to, self.stage = event.holder, CITIZEN
        elif isinstance(event, ReplyPosted):
            self.replies += 1
            if event.kind == "final":
                self.stage, self.finished, self.taken_by = DONE, True, None
                self.final_replied = True
        elif isinstance(event, CaseClosed):
            self.stage, self.finished, self.taken_by = DONE, True, None
        elif isinstance(event, CaseArchived):
            self.archived = True
        elif isinstance(event, CaseReopened):
            self.stage, self.finished, self.archived, self.final_replied = SECRETARIAT, False, False, False
            self.holder_unit = self.holder_person = self.taken_by = None

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

    def check(self, staff: Staff, expected_version: int | None, *, needs_open: bool = True) -> None:
        """Refuse what the actor may not do now: not theirs to see, not at their desk, held by a
        colleague, finished, or changed since their page showed it."""
        if not self.visible_to(staff):
            raise DomainError("request_not_found")
        if expected_version is not None and expected_version != (
            -1 if self.version is None else self.version
        ):
            raise DomainError("conflict")
        if needs_open and self.finished:
            raise DomainError("case_finished")
        if not self.at_desk_of(staff):
            if self.stage == CITIZEN and staff.unit and staff.unit == self.holder_unit:
                raise DomainError("waiting_for_citizen")  # it comes back to this desk
            raise DomainError("not_at_your_desk")
        if self.taken_by not in (None, staff.account_id) and not staff.has("admin"):
            raise DomainError("held_by_other")

    def check_active(self) -> None:
        """Refuse while the request waits for the citizen's correction."""
        if self.stage == CITIZEN:
            raise DomainError("waiting_for_citizen")
