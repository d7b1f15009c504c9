"""RPC payloads of the secretariat service: who acts (with the scope of their role), and on what.

The gateway fills `staff` from the signed-in principal; the service checks the scope itself, so
a clerk of one province never reads or changes another province's requests, whatever calls it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.persian import normalize_text
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

    reason: str = Field(default="", max_length=2000)

    @field_validator("reason")
    @classmethod
    def _text(cls, value: str) -> str:
        return normalize_text(value)


class Refer(CaseCommand):
    """Refer to a unit, or to one of its follow-up representatives, with an instruction."""

    unit: str = Field(min_length=1, max_length=50)
    unit_name: str = Field(default="", max_length=200)
    representative: str | None = Field(default=None, max_length=100)
    representative_name: str | None = Field(default=None, max_length=200)
    instruction: str = Field(min_length=1, max_length=4000)

    @field_validator("instruction", "unit", "unit_name")
    @classmethod
    def _text(cls, value: str) -> str:
        return normalize_text(value)


class AddNote(CaseCommand):
    """An internal note."""

    text: str = Field(min_length=1, max_length=4000)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return normalize_text(value)


class ReturnToApplicant(CaseCommand):
    """Send back to the applicant for correction."""

    reason: str = Field(min_length=1, max_length=4000)

    @field_validator("reason")
    @classmethod
    def _text(cls, value: str) -> str:
        return normalize_text(value)


class SetRequestStatus(CaseCommand):
    """The request-status field of seed 000."""

    value: Literal["undetermined", "yes", "no"]
    reason: str = Field(default="", max_length=2000)


class Reply(CaseCommand):
    """An interim or final reply with the structured fields of seed 003's printable reply."""

    kind: Literal["interim", "final"] = "final"
    body: str = Field(min_length=1, max_length=10000)
    reply_number: str | None = Field(default=None, max_length=50)
    reply_date: str | None = Field(default=None, max_length=10)
    legal_basis: str | None = Field(default=None, max_length=4000)
    appeal_authority: str | None = Field(default=None, max_length=500)
    appeal_deadline: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=4000)
    attachments: tuple[AttachmentRef, ...] = ()

    @field_validator(
        "body", "reply_number", "reply_date", "legal_basis", "appeal_authority", "appeal_deadline", "notes"
    )
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        value = normalize_text(value) if value else None
        return value or None


class CartableQuery(BaseModel):
    """One page of a cartable folder, filtered; `after` is the last row's key of the previous page."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    staff: Staff
    folder: Literal["awaiting", "in_progress", "done", "all"] = "awaiting"
    tracking_code: str = ""
    national_code: str = ""
    registration_number: str = ""
    date_from: str = ""  # Jalali yyyy/mm/dd
    date_to: str = ""
    status: str = ""
    unit: str = ""
    service_id: str = ""
    province: str = ""  # for admins, who see every secretariat
    overdue: bool = False
    after: int | None = None
    limit: int = Field(default=25, ge=1, le=200)


class SaveCannedReply(Payload):
    """Create (no `canned_id`) or change a ready-made reply of a service."""

    staff: Staff
    service_id: str = Field(min_length=1, max_length=50)
    canned_id: str | None = Field(default=None, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10000)
    legal_basis: str = Field(default="", max_length=4000)
    appeal_authority: str = Field(default="", max_length=500)
    appeal_deadline: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=4000)

    @field_validator("title", "body", "legal_basis", "appeal_authority", "appeal_deadline", "notes")
    @classmethod
    def _text(cls, value: str) -> str:
        return normalize_text(value)
