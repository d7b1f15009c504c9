"""What a citizen asks of the requests service: load, decide, append."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.catalogue import PROVINCES, ServicePublished
from contracts.envelope import StreamNotFound, StreamState, WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import new_event, registry
from contracts.eventstore import EventStore
from contracts.persian import normalize_mobile
from contracts.requests import (
    Applicant,
    AttachmentRef,
    RequestResubmitted,
    RequestSubmitted,
    SubmitDraft,
    TrackingCodeIssued,
    Visit,
)
from contracts.rpc import Payload, SubmitRequest
from contracts.tracking import new_tracking_code
from services.requests import forms
from services.requests.catalogue import load_service
from services.requests.drafts import Draft, load_draft


def request_stream(request_id: str) -> str:
    """The stream that holds one request's own events."""
    return f"request-{request_id}"


def _reserve_tracking_code(store: EventStore, request_id: str) -> str:
    for _ in range(10):
        code = new_tracking_code()
        try:
            store.append(
                f"tracking-{code}",
                [new_event(TrackingCodeIssued(tracking_code=code, request_id=request_id))],
                StreamState.NO_STREAM,
            )
            return code
        except WrongExpectedVersion:
            continue
    raise RuntimeError("could not find a free tracking code in 10 tries")


def _already(store: EventStore, request_id: str) -> dict[str, str] | None:
    """The first answer, looked up before anything else: a draft sent again must get it even if
    its service was retired or its rules changed since (`_record` alone would refuse first)."""
    if store.stream_version(request_stream(request_id)) is None:
        return None  # the usual answer, in one query
    return _first_answer(store, request_id)


def _first_answer(
    store: EventStore, request_id: str, command: Payload | None = None
) -> dict[str, str] | None:
    try:
        first = store.read_stream(request_stream(request_id), limit=1)[0]
    except StreamNotFound:
        return None
    if command is not None:
        command.check_repeat(first)  # a key sent again with another request is not a retry
    return {"request_id": request_id, "tracking_code": first.data["tracking_code"]}


def _record(store: EventStore, event: RequestSubmitted, actor: str, command: Payload) -> dict[str, str]:
    """Append the submission as its stream's first event. A repeated command (its answer lost, or
    the same button twice at once) finds the stream there and answers with the first one's
    tracking code, if it carries the same input; the code it reserved stays unused."""
    envelope = command.marked(new_event(event, actor=actor))
    try:
        store.append(request_stream(event.request_id), [envelope], StreamState.NO_STREAM)
    except WrongExpectedVersion:
        if (first := _first_answer(store, event.request_id, command)) is None:
            raise
        return first
    return {"request_id": event.request_id, "tracking_code": event.tracking_code}


def submit(store: EventStore, command: SubmitRequest) -> dict[str, str]:
    """Record a submitted request (the JSON API's minimal form); returns its id and tracking
    code (the same again when the command is repeated). No look-up before: a repeat is rare and
    `_record` finds it. The province names the secretariat whose inbox receives it: one that
    exists, or no secretariat would ever see the request."""
    if command.province not in PROVINCES:
        raise DomainError("invalid_province", f"province: {command.province}")
    request_id = command.derived("request").hex
    event = RequestSubmitted(
        request_id=request_id,
        tracking_code=_reserve_tracking_code(store, request_id),
        applicant=Applicant(
            national_code=command.national_code, full_name=command.full_name, mobile=command.mobile
        ),
        province=command.province,
        subject=command.subject,
        text=command.text,
        submitted_at=datetime.now(UTC).isoformat(),
    )
    return _record(store, event, f"citizen:{command.national_code}", command)


def _applicant(draft: Draft) -> Applicant:
    f = draft.fields

    def mobile(name: str) -> str:
        return normalize_mobile(f.get(name, "")) or ""  # the rules checked it before

    common = {"account_id": draft.account_id, "address": f.get("address") or None}
    if draft.form == "wizard":
        return Applicant(
            national_code=f["national_code"],
            full_name=f"{f['first_name']} {f['last_name']}".strip(),
            mobile=mobile("mobile"),
            landline=f.get("landline") or None,
            email=f.get("email") or None,
            **common,
        )
    if f.get("kind") == "legal":
        return Applicant(
            kind="legal",
            national_code=f["owner_national_code"],
            full_name=f["owner_name"],
            mobile=mobile("owner_mobile"),
            birth_date=f.get("owner_birth_date") or None,
            company_name=f["company_name"],
            company_national_id=f["company_national_id"],
            account_id=draft.account_id,
        )
    return Applicant(
        national_code=f["national_code"],
        full_name=f["full_name"],
        mobile=mobile("mobile"),
        father_name=f.get("father_name") or None,
        birth_date=f.get("birth_date") or None,
        **common,
    )


def _visit(draft: Draft, card: ServicePublished) -> Visit | None:
    f = draft.fields
    if draft.form != "wizard":
        return None
    titles = {o.name: o.title for o in card.officers}
    return Visit(
        unit=card.unit_name,
        officer=f.get("visit_officer") or None,
        officer_title=titles.get(f.get("visit_officer", "")) or None,
        visit_date=f.get("visit_date") or None,
        previous_result=f.get("previous_result") or None,
        description=f.get("visit_description") or None,
    )


def submit_draft(store: EventStore, command: SubmitDraft) -> dict[str, str]:
    """ثبت و ارسال: every rule of the service's form, its identity assurance, then a tracking code."""
    if (done := _already(store, command.draft_id)) is not None:
        return done
    draft = load_draft(store, command.draft_id, command.account_id)
    entry = load_service(store, draft.service_id)
    card = entry.card
    if entry.retired:
        raise DomainError("service_retired")
    if command.assurance_level < card.required_assurance_level:
        raise DomainError("assurance_too_low")
    errors = forms.check_all(draft.fields, card, len(draft.attachments))
    if errors:
        raise DomainError("draft_incomplete", ",".join(sorted(errors)))
    letter = draft.form == "letter"
    event = RequestSubmitted(
        request_id=draft.draft_id,
        tracking_code=_reserve_tracking_code(store, draft.draft_id),
        applicant=_applicant(draft),
        province=draft.fields["province"] if letter else card.province,
        subject=draft.fields["subject"] if letter else card.name,
        text=draft.fields.get("text", ""),
        submitted_at=datetime.now(UTC).isoformat(),
        form="letter" if letter else "wizard",
        unit=card.unit_id,
        service_id=card.service_id,
        service_name=card.name,
        attachments=draft.attachments,
        visit=_visit(draft, card),
    )
    return _record(store, event, f"citizen:{command.account_id}", command)


def load_request(store: EventStore, request_id: str, account_id: str) -> tuple[RequestSubmitted, int]:
    """The citizen's own request as first submitted, and its stream's version."""
    try:
        recorded = store.read_stream(request_stream(request_id))
    except StreamNotFound:
        raise DomainError("request_not_found") from None
    first = registry.decode(recorded[0])
    if not isinstance(first, RequestSubmitted) or first.applicant.account_id != account_id:
        raise DomainError("request_not_found")
    return first, recorded[-1].revision


def request_files(
    store: EventStore, request_id: str, account_id: str
) -> tuple[tuple[AttachmentRef, ...], list[AttachmentRef]]:
    """The request's files now, and every file it ever carried (the citizen's own request only)."""
    load_request(store, request_id, account_id)
    now: tuple[AttachmentRef, ...] = ()
    ever: list[AttachmentRef] = []
    for recorded in store.read_stream(request_stream(request_id)):
        event = registry.decode(recorded)
        if isinstance(event, RequestSubmitted | RequestResubmitted):
            now = event.attachments
            ever.extend(event.attachments)
    return now, ever
