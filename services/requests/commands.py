"""Submitting a request: gather what the request's rules need from the world (a tracking code
claimed for it, the draft and its service's card, the time), then `handle` decides and records.

The submission is the hot path: `requests.submit` reads nothing before its append (the request's
stream is new), `requests.submit_draft` reads only what it must (has this draft been submitted?
the draft, its service).
"""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.envelope import StreamNotFound, StreamState, WrongExpectedVersion
from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.partners import partner_actor
from contracts.requests import SubmitDraft, SubmitForPartner, TrackingCodeIssued
from contracts.rpc import Payload, SubmitRequest
from contracts.tracking import new_tracking_code
from infra.decider import Loaded, handle, load_state
from services.requests.catalogue import find_service
from services.requests.draft import drafts
from services.requests.request import (
    Request,
    Submit,
    SubmitDrafted,
    SubmitPartnered,
    check_draft,
    check_partnered,
    check_province,
    partnered_id,
    requests,
    submitted_id,
)
from services.requests.streams import case_stream, draft_stream, request_stream


def load_request(store: EventStore, request_id: str, *, with_case: bool = False) -> Loaded[Request]:
    """The request as its stream says now (and its case's, `with_case`)."""
    also = (case_stream(request_id),) if with_case else ()
    return load_state(store, requests, request_stream(request_id), also=also)


def _reserve_tracking_code(store: EventStore, request_id: str) -> str:
    """A fresh tracking code, claimed for `request_id` by starting its own stream: a code is
    never given twice (a uniqueness claim, not a decision of the request)."""
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
    its service was retired or its rules changed since (its checks alone would refuse first)."""
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


def _record(
    store: EventStore,
    decision: Submit | SubmitDrafted | SubmitPartnered,
    request_id: str,
    payload: Payload,
    actor: str,
) -> dict[str, str]:
    """Record the submission as its stream's first event, reading nothing before. Its id names
    the code this attempt claimed, so a repeated command (its answer lost, or the same button
    twice at once) finds the stream there, decides nothing on it and is answered with the first
    submission's tracking code if it carries the same input; the code it claimed stays unused."""
    decided = handle(
        store,
        requests,
        decision,
        request_stream(request_id),
        identity=payload,
        purpose=f"submitted:{decision.tracking_code}",
        new_stream=True,
        fresh_ids=True,
        actor=actor,
    )
    if decided.events:
        return decided.state.answer()
    first = _first_answer(store, request_id, payload)
    assert first is not None  # the stream was there, or nothing would have been decided
    return first


def submit(store: EventStore, command: SubmitRequest) -> dict[str, str]:
    """Record a submitted request (the JSON API's minimal form); returns its id and tracking
    code (the same again when the command is repeated). No look-up before: a repeat is rare and
    `_record` finds it. The province is checked before a code is claimed for it."""
    check_province(command.province)
    request_id = submitted_id(command)
    decision = Submit(command, _reserve_tracking_code(store, request_id), datetime.now(UTC))
    return _record(store, decision, request_id, command, f"citizen:{command.national_code}")


def submit_draft(store: EventStore, command: SubmitDraft) -> dict[str, str]:
    """ثبت و ارسال: every rule of the service's form, its identity assurance, then a tracking code."""
    if (done := _already(store, command.draft_id)) is not None:
        return done
    draft = load_state(store, drafts, draft_stream(command.draft_id)).state
    service = find_service(store, draft.service_id) if draft.saved else None
    at = datetime.now(UTC)
    check_draft(command, draft, service, at)  # every refusal before a code is claimed
    decision = SubmitDrafted(command, draft, service, _reserve_tracking_code(store, command.draft_id), at)
    return _record(store, decision, command.draft_id, command, f"citizen:{command.account_id}")


def submit_for_partner(store: EventStore, command: SubmitForPartner) -> dict[str, str]:
    """A partner system files a request for a person (Open311): the service's rules and the
    attributes are checked before a code is claimed; the partner's id is the event's actor and
    the applicant's `partner_id`."""
    request_id = partnered_id(command)
    if (done := _already(store, request_id)) is not None:
        return done
    service = find_service(store, command.service_id)
    at = datetime.now(UTC)
    check_partnered(command, service, at)  # every refusal before a code is claimed
    decision = SubmitPartnered(command, service, _reserve_tracking_code(store, request_id), at)
    return _record(store, decision, request_id, command, partner_actor(command.partner_id))
