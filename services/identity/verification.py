"""Identity verification by a desk officer (seed 004): submit → cartable → approve, or reject with
a reason → correct and resubmit, as many rounds as it takes."""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

import filetype

from contracts.envelope import StreamState, WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import Event, new_event, registry
from contracts.identity import Scan, VerificationApproved, VerificationRejected, VerificationSubmitted
from contracts.identity_rpc import Decide, SubmitVerification, UploadedFile
from contracts.requests import AttachmentRef
from services.identity.accounts import _read, case_id, case_stream, load_account, now_iso
from services.identity.deps import Deps

MEDIA_TYPES = {"application/pdf", "image/jpeg", "image/png"}


def _history(deps: Deps, case: str) -> tuple[list[Event], list[Any]]:
    recorded = _read(deps.store, case_stream(case))
    return [registry.decode(r) for r in recorded], recorded


def status(deps: Deps, account_id: str) -> dict[str, Any]:
    """The account's case: its state, rounds, and each step with actor, time and reason."""
    case = case_id(account_id)
    events, recorded = _history(deps, case)
    steps = [
        {
            "type": r.type,
            "at": getattr(e, "submitted_at", None) or getattr(e, "at", None),
            "actor": r.metadata.get("actor"),
            "reason": getattr(e, "reason", None) or getattr(e, "note", None),
            "round": e.round if hasattr(e, "round") else None,
        }
        for e, r in zip(events, recorded, strict=True)
    ]
    state = {
        VerificationSubmitted: "submitted",
        VerificationApproved: "approved",
        VerificationRejected: "rejected",
    }
    last = events[-1] if events else None
    return {
        "case_id": case,
        "status": state[type(last)] if last else "none",
        "round": max((s["round"] or 0 for s in steps), default=0),
        "reason": last.reason if isinstance(last, VerificationRejected) else None,
        "steps": steps,
        "last_submission": next(
            (e.model_dump() for e in reversed(events) if isinstance(e, VerificationSubmitted)), None
        ),
    }


def _store_file(deps: Deps, upload: UploadedFile) -> Scan:
    try:
        data = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("invalid_input", "file is not base64") from None
    if len(data) > int(os.environ.get("IDENTITY_MAX_UPLOAD_KB", "1024")) * 1024:
        raise DomainError("file_too_large")
    kind = filetype.guess(data)
    if kind is None or kind.mime not in MEDIA_TYPES:
        raise DomainError("file_type")
    extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    if {"jpeg": "jpg"}.get(extension, extension) != kind.extension:  # a disguised file
        raise DomainError("file_type")
    stored = deps.attachments.put(data)
    ref = AttachmentRef(
        attachment_id=stored.attachment_id,
        name=upload.name,
        media_type=kind.mime,
        size=stored.size,
        sha256=stored.sha256,
    )
    return Scan(purpose=upload.purpose, file=ref)


def submit(deps: Deps, command: SubmitVerification) -> dict[str, Any]:
    """Send (or resubmit) the verification form with its scans."""
    account = load_account(deps.store, command.account_id)
    if account is None:
        raise DomainError("account_not_found")
    if account.level >= 3:
        raise DomainError("already_verified")
    current = status(deps, account.account_id)
    if current["status"] == "submitted":
        raise DomainError("verification_pending")
    purposes = {f.purpose for f in command.files}
    registry_connected = os.environ.get("IDENTITY_REGISTRY_CONNECTED", "0") == "1"
    if not registry_connected and not {"national_card", "birth_certificate"} <= purposes:
        raise DomainError("scans_required")
    if account.company and account.company.capacity != "owner" and "power_of_attorney" not in purposes:
        raise DomainError("attorney_required")
    scans = tuple(_store_file(deps, f) for f in command.files)
    event = VerificationSubmitted(
        case_id=current["case_id"],
        account_id=account.account_id,
        round=current["round"] + 1,
        national_code=account.national_code,
        full_name=account.full_name,
        father_name=command.father_name or (account.registry.father_name if account.registry else None),
        birth_date=account.birth_date,
        kind="legal" if account.person_kind == "legal" else "natural",
        company=account.company,
        scans=scans,
        note=command.note or None,
        submitted_at=now_iso(),
        province=command.province,
    )
    expected: StreamState | int = len(current["steps"]) - 1 if current["steps"] else StreamState.NO_STREAM
    try:
        appended = deps.store.append(
            case_stream(current["case_id"]),
            [new_event(event, actor=f"citizen:{account.account_id}")],
            expected,
        )
    except WrongExpectedVersion:
        raise DomainError("conflict") from None
    deps.settle(appended.position)
    return status(deps, account.account_id)


class Reach:
    """Which cases a desk officer may see and decide: those of their province and those that
    name none, or every case when the role is bound to no province (seed 004: the desk officer
    of the applicant's province reviews the case)."""

    def __init__(self, province: str | None) -> None:
        self.province = province

    def covers(self, case_province: str | None) -> bool:
        return self.province is None or case_province in (None, self.province)


EVERY_CASE = Reach(None)


def desk_officer(deps: Deps, officer_id: str) -> Reach:
    """The reach of a signed-in desk officer; `forbidden` for anyone else."""
    officer = load_account(deps.store, officer_id)
    if officer is None or officer.kind != "staff" or "desk_officer" not in officer.roles:
        raise DomainError("forbidden")
    return Reach(officer.roles["desk_officer"].get("province"))


def reach_of(deps: Deps, officer_id: str) -> Reach:
    """`desk_officer`'s reach; every case for a caller that names no officer (scripts, tests)."""
    return desk_officer(deps, officer_id) if officer_id else EVERY_CASE


def _case_province(events: list[Event]) -> str | None:
    latest = next((e for e in reversed(events) if isinstance(e, VerificationSubmitted)), None)
    return latest.province if latest is not None else None


def _reachable(events: list[Event], reach: Reach) -> None:
    """A case outside the officer's reach reads as one that does not exist."""
    if not events or not reach.covers(_case_province(events)):
        raise DomainError("case_not_found")


def decide(deps: Deps, command: Decide) -> dict[str, Any]:
    """Approve (access at once) or reject with a reason (back to the citizen); only a desk officer
    whose reach covers the case."""
    reach = desk_officer(deps, command.officer)
    events, recorded = _history(deps, command.case_id)
    _reachable(events, reach)
    last = events[-1]
    if not isinstance(last, VerificationSubmitted):
        raise DomainError("case_not_pending")
    decision: Event
    if command.decision == "approve":
        decision = VerificationApproved(
            case_id=command.case_id,
            account_id=last.account_id,
            officer=command.officer,
            round=last.round,
            note=command.reason or None,
            at=now_iso(),
        )
    else:
        if not command.reason:
            raise DomainError("rejection_reason_required")
        decision = VerificationRejected(
            case_id=command.case_id,
            account_id=last.account_id,
            officer=command.officer,
            round=last.round,
            reason=command.reason,
            at=now_iso(),
        )
    try:
        appended = deps.store.append(
            case_stream(command.case_id),
            [new_event(decision, actor=f"staff:{command.officer}")],
            recorded[-1].revision,
        )
    except WrongExpectedVersion:
        raise DomainError("conflict") from None
    deps.settle(appended.position)
    return status(deps, last.account_id)


def case_detail(deps: Deps, case: str, reach: Reach = EVERY_CASE) -> dict[str, Any]:
    """A case as the officer reviews it."""
    events, _ = _history(deps, case)
    _reachable(events, reach)
    return {**status(deps, events[0].account_id), "province": _case_province(events)}  # type: ignore[attr-defined]


def attachment(deps: Deps, case: str, attachment_id: str, reach: Reach = EVERY_CASE) -> dict[str, Any]:
    """A scan of the case (only files the case names can be read this way)."""
    events, _ = _history(deps, case)
    _reachable(events, reach)
    for event in events:
        if isinstance(event, VerificationSubmitted):
            for scan in event.scans:
                if scan.file.attachment_id == attachment_id:
                    data = deps.attachments.get(attachment_id)
                    return {
                        "media_type": scan.file.media_type,
                        "name": scan.file.name,
                        "content_base64": base64.b64encode(data).decode(),
                    }
    raise DomainError("case_not_found")
