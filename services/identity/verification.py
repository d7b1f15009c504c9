"""Identity verification by a desk officer (seed 004): submit → cartable → approve, or reject with
a reason → correct and resubmit, as many rounds as it takes."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import filetype

from contracts.errors import DomainError
from contracts.events import Event, registry
from contracts.identity import (
    Scan,
    VerificationApproved,
    VerificationDraftSaved,
    VerificationRejected,
    VerificationSubmitted,
)
from contracts.identity_rpc import Decide, SubmitVerification, UploadedFile
from contracts.requests import AttachmentRef
from infra.decider import Decider, handle, read_whole
from infra.settings import IdentitySettings
from services.identity.accounts import (
    Account,
    account_decider,
    account_stream,
    case_id,
    case_stream,
    load_account,
    now_iso,
)
from services.identity.deps import Deps

MEDIA_TYPES = {"application/pdf", "image/jpeg", "image/png"}


def _history(deps: Deps, case: str) -> tuple[list[Event], list[Any]]:
    """The case's submissions and reviews (a «ثبت موقت» is the citizen's own: no step of it)."""
    recorded = read_whole(deps.store, case_stream(case))
    pairs = [(registry.decode(r), r) for r in recorded]
    kept = [(e, r) for e, r in pairs if not isinstance(e, VerificationDraftSaved)]
    return [e for e, _ in kept], [r for _, r in kept]


def _draft(deps: Deps, case: str) -> dict[str, Any] | None:
    """The «ثبت موقت» kept since the latest submission, as the form shows it again."""
    draft = None
    for recorded in read_whole(deps.store, case_stream(case)):
        event = registry.decode(recorded)
        if isinstance(event, VerificationDraftSaved):
            draft = event.model_dump(mode="json")
        elif isinstance(event, VerificationSubmitted):
            draft = None
    return draft


def status(deps: Deps, account_id: str) -> dict[str, Any]:
    """The account's case: its state, rounds, each step with actor, time and reason, and the
    citizen's «ثبت موقت» when one waits to be sent."""
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
        "draft": _draft(deps, case),
    }


def _store_file(deps: Deps, upload: UploadedFile) -> Scan:
    try:
        data = base64.b64decode(upload.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("invalid_input", "file is not base64") from None
    if len(data) > IdentitySettings.load().IDENTITY_MAX_UPLOAD_KB * 1024:
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


def _scans(deps: Deps, uploads: Sequence[UploadedFile]) -> tuple[tuple[Scan, ...], DomainError | None]:
    """The uploads stored as scans, or the refusal of the first that is not a document (not
    base64, too large, disguised): the decision says it after the case's own rules."""
    scans = []
    for upload in uploads:
        try:
            scans.append(_store_file(deps, upload))
        except DomainError as refused:
            return (), refused
    return tuple(scans), None


@dataclass(frozen=True)
class Submission:
    """The verification form with its scans stored (or the refusal of an unreadable one), whether
    the civil registry is connected (then no scans are needed), and when."""

    form: SubmitVerification
    scans: tuple[Scan, ...]
    unreadable: DomainError | None
    registry_connected: bool
    at: str


def _open_to_the_holder(state: Account) -> None:
    """The form is the holder's to fill while they are not verified and no round waits for its
    desk officer."""
    state.check_exists()
    if state.level >= 3:
        raise DomainError("already_verified")
    if state.case.status == "submitted":
        raise DomainError("verification_pending")


def with_draft(scans: tuple[Scan, ...], state: Account) -> tuple[Scan, ...]:
    """The scans just uploaded, and those of the «ثبت موقت» whose purpose none of them replaces."""
    kept = state.case.draft.scans if state.case.draft is not None else ()
    fresh = {scan.purpose for scan in scans}
    return (*(scan for scan in kept if scan.purpose not in fresh), *scans)


def decide_draft(command: Submission, state: Account) -> list[Event]:
    """Seed 004's «ثبت موقت»: whatever part of the form is filled, kept (with the scans kept
    before) until the holder sends it; nothing goes to a desk officer."""
    _open_to_the_holder(state)
    if command.unreadable is not None:
        raise command.unreadable
    form = command.form
    return [
        VerificationDraftSaved(
            case_id=case_id(state.account_id),
            account_id=state.account_id,
            father_name=form.father_name or None,
            note=form.note or None,
            province=form.province,
            scans=with_draft(command.scans, state),
            saved_at=command.at,
        )
    ]


def decide_submission(command: Submission, state: Account) -> list[Event]:
    """A round of the account's case: not once verified, not while a round waits for its desk
    officer; the national card and birth certificate (unless the registry is connected), and a
    power of attorney for anyone acting for a company but its owner. Scans kept by a «ثبت موقت»
    count as uploaded."""
    _open_to_the_holder(state)
    form = command.form
    scans = with_draft(command.scans, state)
    kept = state.case.draft.scans if state.case.draft is not None else ()
    purposes = {f.purpose for f in form.files} | {scan.purpose for scan in kept}
    if not command.registry_connected and not {"national_card", "birth_certificate"} <= purposes:
        raise DomainError("scans_required")
    if state.company and state.company.capacity != "owner" and "power_of_attorney" not in purposes:
        raise DomainError("attorney_required")
    if command.unreadable is not None:
        raise command.unreadable
    return [
        VerificationSubmitted(
            case_id=case_id(state.account_id),
            account_id=state.account_id,
            round=state.case.round + 1,
            national_code=state.national_code,
            full_name=state.full_name,
            father_name=form.father_name or (state.registry.father_name if state.registry else None),
            birth_date=state.birth_date,
            kind="legal" if state.person_kind == "legal" else "natural",
            company=state.company,
            scans=scans,
            note=form.note or None,
            submitted_at=command.at,
            province=form.province,
        )
    ]


SUBMIT = account_decider(decide_submission)
"""The case's decisions fold its account too: who is asking, at which level, for which company."""
SAVE_DRAFT = account_decider(decide_draft)


def submit(deps: Deps, command: SubmitVerification) -> dict[str, Any]:
    """Send (or resubmit) the verification form with its scans."""
    return _on_case(deps, SUBMIT, command)


def save_draft(deps: Deps, command: SubmitVerification) -> dict[str, Any]:
    """«ثبت موقت»: keep the form as filled so far (its scans too) without sending it."""
    return _on_case(deps, SAVE_DRAFT, command)


def _on_case(
    deps: Deps, decider: Decider[Submission, Account], command: SubmitVerification
) -> dict[str, Any]:
    scans, unreadable = _scans(deps, command.files)
    registry_connected = IdentitySettings.load().IDENTITY_REGISTRY_CONNECTED
    submission = Submission(command, scans, unreadable, registry_connected, now_iso())
    decided = handle(
        deps.store,
        decider,
        submission,
        case_stream(case_id(command.account_id)),
        identity=command,
        also=(account_stream(command.account_id),),
        actor=f"citizen:{command.account_id}",
    )
    deps.settled(decided)
    return status(deps, command.account_id)


class Reach:
    """Which cases a desk officer may see and decide: those of their province and those that
    name none, or every case when the role is bound to no province (seed 004: the desk officer
    of the applicant's province reviews the case)."""

    def __init__(self, province: str | None) -> None:
        self.province = province

    def covers(self, case_province: str | None) -> bool:
        return self.province is None or case_province in (None, self.province)


EVERY_CASE = Reach(None)


def reach(officer: Account | None) -> Reach:
    """The reach of a desk officer's account; `forbidden` for anyone else."""
    if officer is None or officer.kind != "staff" or "desk_officer" not in officer.roles:
        raise DomainError("forbidden")
    return Reach(officer.roles["desk_officer"].get("province"))


def desk_officer(deps: Deps, officer_id: str) -> Reach:
    """The reach of a signed-in desk officer; `forbidden` for anyone else."""
    return reach(load_account(deps.store, officer_id))


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


@dataclass(frozen=True)
class Review:
    """A desk officer's decision on a case (`officer`: their account as it is now), and when."""

    form: Decide
    officer: Account | None
    at: str


def decide_review(command: Review, state: Account) -> list[Event]:
    """Only a desk officer whose reach covers the case (one beyond it reads as missing), only a
    round that waits for review; a rejection says why."""
    covered = reach(command.officer)
    case, form = state.case, command.form
    if case.status == "none" or not covered.covers(case.province):
        raise DomainError("case_not_found")
    if case.status != "submitted":
        raise DomainError("case_not_pending")
    if form.decision == "approve":
        return [
            VerificationApproved(
                case_id=form.case_id,
                account_id=case.account_id,
                officer=form.officer,
                round=case.round,
                note=form.reason or None,
                at=command.at,
            )
        ]
    if not form.reason:
        raise DomainError("rejection_reason_required")
    return [
        VerificationRejected(
            case_id=form.case_id,
            account_id=case.account_id,
            officer=form.officer,
            round=case.round,
            reason=form.reason,
            at=command.at,
        )
    ]


REVIEW = account_decider(decide_review)
"""A review folds the case alone: its account is not needed (`Account.case`)."""


def decide(deps: Deps, command: Decide) -> dict[str, Any]:
    """Approve (access at once) or reject with a reason (back to the citizen); only a desk officer
    whose reach covers the case."""
    review = Review(command, load_account(deps.store, command.officer), now_iso())
    stream = case_stream(command.case_id)
    decided = handle(deps.store, REVIEW, review, stream, identity=command, actor=f"staff:{command.officer}")
    deps.settled(decided)
    return status(deps, decided.state.case.account_id)


def case_detail(deps: Deps, case: str, reach: Reach = EVERY_CASE) -> dict[str, Any]:
    """A case as the officer reviews it."""
    events, _ = _history(deps, case)
    _reachable(events, reach)
    # A case opens with a submission (a review of no case is refused), which names the account.
    account_id = next(e.account_id for e in events if isinstance(e, VerificationSubmitted))
    detail = {**status(deps, account_id), "province": _case_province(events)}
    names: dict[str, str] = {}
    detail["steps"] = [
        step | {"actor_name": _actor_name(deps, event, names)}
        for step, event in zip(detail["steps"], events, strict=True)
    ]
    return detail


def _actor_name(deps: Deps, event: Event, known: dict[str, str]) -> str:
    """Who took a step of the case, by name: the applicant for a submission, the desk officer
    (their account's name now) for a review."""
    if isinstance(event, VerificationSubmitted):
        return event.full_name
    officer = getattr(event, "officer", "")
    if officer not in known:
        account = load_account(deps.store, officer) if officer else None
        known[officer] = account.full_name if account is not None else "مسئول میز خدمت"
    return known[officer]


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
