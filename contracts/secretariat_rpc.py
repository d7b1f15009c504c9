"""RPC payloads of the secretariat service: who acts (with the scope of their role), and on what.

The gateway fills `staff` from the signed-in principal; the service checks the scope itself, so
a clerk of one province never reads or changes another province's requests, whatever calls it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts import normalise
from contracts.fields import Digits, OptionalDigits, OptionalText, Text
from contracts.requests import AttachmentRef
from contracts.rpc import Payload

STAFF_ROLES = ("clerk", "representative", "admin", "desk_officer")


class Staff(BaseModel):
    """The acting staff member and their scope: a clerk's secretariat, a representative's unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str = Field(min_length=1, max_length=100)
    name: str = Field(default="", max_length=200)
    roles: tuple[str, ...] = ()
    province: str | None = None
    unit: str | None = None

    def has(self, *roles: str) -> bool:
        """True when the staff member holds any of `roles`."""
        return any(role in self.roles for role in roles)

    @property
    def label(self) -> str:
        """The name to show in the history (the account id when there is no name)."""
        return self.name or self.account_id


class CaseCommand(Payload):
    """An action on one request. `expected_version` is the version of the request the page showed:
    when someone else acted since, the action is refused with `conflict` instead of applied
    on top of what the actor never saw."""

    request_id: str = Field(min_length=1, max_length=64)
    staff: Staff
    expected_version: int | None = Field(default=None, ge=-1)


class WithReason(CaseCommand):
    """Release, close, archive, reopen: an action with a (sometimes required) reason."""

    reason: Text = Field(default="", max_length=2000)


class Recall(WithReason):
    """Take a referral back to the secretariat's desk. The reason is required, and its absence is
    the rule's refusal (`case_reason_required`, a Persian message), not a validation error."""


class Refer(CaseCommand):
    """Refer to a unit, or to one of its follow-up representatives, with an instruction."""

    unit: Text = Field(min_length=1, max_length=50)
    unit_name: Text = Field(default="", max_length=200)
    representative: str | None = Field(default=None, max_length=100)
    representative_name: OptionalText = Field(default=None, max_length=200)
    instruction: Text = Field(min_length=1, max_length=4000)


class AddNote(CaseCommand):
    """An internal note."""

    text: Text = Field(min_length=1, max_length=4000)


class ReturnToApplicant(CaseCommand):
    """Send back to the applicant for correction."""

    reason: Text = Field(min_length=1, max_length=4000)


class SetRequestStatus(CaseCommand):
    """The request-status field of seed 000."""

    value: Literal["undetermined", "yes", "no"]
    reason: Text = Field(default="", max_length=2000)


class Reply(CaseCommand):
    """An interim or final reply with the structured fields of seed 003's printable reply."""

    kind: Literal["interim", "final"] = "final"
    body: Text = Field(min_length=1, max_length=10000)
    reply_number: OptionalDigits = Field(default=None, max_length=50)
    reply_date: OptionalDigits = Field(default=None, max_length=10)
    legal_basis: OptionalText = Field(default=None, max_length=4000)
    appeal_authority: OptionalText = Field(default=None, max_length=500)
    appeal_deadline: OptionalText = Field(default=None, max_length=200)
    notes: OptionalText = Field(default=None, max_length=4000)
    attachments: tuple[AttachmentRef, ...] = ()

    @field_validator(
        "reply_number", "reply_date", "legal_basis", "appeal_authority", "appeal_deadline", "notes"
    )
    @classmethod
    def _none_when_empty(cls, value: str | None) -> str | None:
        return value or None


class CartableQuery(BaseModel):
    """One page of a cartable folder, filtered; `after` is the last row's key of the previous page."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    staff: Staff
    folder: Literal["awaiting", "in_progress", "done", "all"] = "awaiting"
    tracking_code: Digits = Field(default="", max_length=40)
    national_code: Digits = Field(default="", max_length=20)
    registration_number: Digits = Field(default="", max_length=50)
    date_from: Digits = Field(default="", max_length=20)  # Jalali yyyy/mm/dd
    date_to: Digits = Field(default="", max_length=20)
    status: Text = Field(default="", max_length=50)
    unit: Text = Field(default="", max_length=50)
    service_id: Digits = Field(default="", max_length=20)
    province: Text = Field(default="", max_length=50)  # for admins, who see every secretariat
    overdue: bool = False
    after: int | None = None
    limit: int = Field(default=25, ge=1, le=200)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        """The search boxes pass the payloads' normaliser: refused, never a failed query."""
        normalise.check_storable(data)
        return data


class SaveCannedReply(Payload):
    """Create (no `canned_id`) or change a ready-made reply of a service."""

    staff: Staff
    service_id: str = Field(min_length=1, max_length=50)
    canned_id: str | None = Field(default=None, max_length=64)
    title: Text = Field(min_length=1, max_length=200)
    body: Text = Field(min_length=1, max_length=10000)
    legal_basis: Text = Field(default="", max_length=4000)
    appeal_authority: Text = Field(default="", max_length=500)
    appeal_deadline: Text = Field(default="", max_length=200)
    notes: Text = Field(default="", max_length=4000)
