"""A citizen's request as an aggregate: its submission, its files now, and whether the
secretariat returned it for correction. Pure: a claimed tracking code, the draft and its
service's card, a checked file and the time come in the command.

The request's stream (`request-{id}`) holds the submission and every resubmission; the
secretariat's stream of its case (`case-{id}`, folded in, never written here) says when it was
returned and when it was answered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from contracts.catalogue import PROVINCES, ServicePublished
from contracts.errors import DomainError
from contracts.events import Event
from contracts.persian import normalize_mobile
from contracts.requests import (
    Applicant,
    AttachmentRef,
    RequestResubmitted,
    RequestSubmitted,
    Resubmit,
    SubmitDraft,
    SubmitForPartner,
    Visit,
)
from contracts.rpc import SubmitRequest
from contracts.secretariat import ReplyPosted, ReturnedForCorrection
from infra.decider import Decider
from services.requests import forms, open311
from services.requests.catalogue_rules import CatalogueEntry, usable
from services.requests.draft import Draft, own


@dataclass(frozen=True)
class Request:
    """A request as its streams say now: its submission (None: not submitted), the files it
    carries now and every file it ever carried, and whether it waits for the applicant's
    correction."""

    submitted: RequestSubmitted | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    carried: tuple[AttachmentRef, ...] = ()
    returned: bool = False

    def answer(self) -> dict[str, str]:
        """What a submission answers: the request's id and its tracking code."""
        assert self.submitted is not None
        return {"request_id": self.submitted.request_id, "tracking_code": self.submitted.tracking_code}


@dataclass(frozen=True)
class Submit:
    """`requests.submit` (the JSON API's minimal form) with the tracking code claimed for it."""

    payload: SubmitRequest
    tracking_code: str
    at: datetime


@dataclass(frozen=True)
class SubmitDrafted:
    """`requests.submit_draft` with the draft as its stream says and its service now."""

    payload: SubmitDraft
    draft: Draft
    service: CatalogueEntry | None
    tracking_code: str
    at: datetime


@dataclass(frozen=True)
class Correct:
    """`requests.resubmit` with the file it adds (checked against the service's rules, stored)."""

    payload: Resubmit
    added: AttachmentRef | None
    at: datetime


@dataclass(frozen=True)
class SubmitPartnered:
    """`requests.submit_for_partner` (Open311) with the service's card and the claimed code."""

    payload: SubmitForPartner
    service: CatalogueEntry | None
    tracking_code: str
    at: datetime


RequestCommand = Submit | SubmitDrafted | Correct | SubmitPartnered


def partnered_id(payload: SubmitForPartner) -> str:
    """The id of the request `requests.submit_for_partner` records (one per command)."""
    return payload.derived("request").hex


def check_partnered(
    payload: SubmitForPartner, service: CatalogueEntry | None, at: datetime
) -> ServicePublished:
    """The service may be filed now and what the partner sent keeps its rules (`open311.check`)."""
    card = usable(service, None).card
    open311.check(payload, card, forms.day_of(at))
    province = payload.attributes.get("province", "") if card.form == "letter" else card.province
    check_province(province)
    return card


def submitted_id(payload: SubmitRequest) -> str:
    """The id of the request `requests.submit` records (one per command)."""
    return payload.derived("request").hex


def evolve(state: Request, event: Event) -> Request:
    if isinstance(event, RequestSubmitted):
        return Request(submitted=event, attachments=event.attachments, carried=event.attachments)
    if isinstance(event, RequestResubmitted):
        carried = (*state.carried, *event.attachments)
        return dataclasses.replace(state, attachments=event.attachments, carried=carried, returned=False)
    if isinstance(event, ReturnedForCorrection):
        return dataclasses.replace(state, returned=True)
    if isinstance(event, ReplyPosted):
        return dataclasses.replace(state, returned=False)
    return state


def check_province(province: str) -> None:
    """The secretariat whose inbox receives the request must exist, or no one would see it."""
    if province not in PROVINCES:
        raise DomainError("invalid_province", f"province: {province}")


def check_draft(
    payload: SubmitDraft, draft: Draft, service: CatalogueEntry | None, at: datetime
) -> ServicePublished:
    """Every rule of the service's form and its identity assurance (checked again before a code
    is claimed): the draft's card, or `draft_not_found`, `draft_submitted`, `service_not_found`,
    `service_retired`, `assurance_too_low`, `draft_incomplete`."""
    own(draft, payload.account_id)
    card = usable(service, payload.assurance_level).card
    errors = forms.check_all(draft.fields, card, len(draft.attachments), forms.day_of(at))
    if errors:
        raise DomainError("draft_incomplete", ",".join(sorted(errors)))
    return card


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


def _submit(command: Submit) -> RequestSubmitted:
    payload = command.payload
    check_province(payload.province)
    return RequestSubmitted(
        request_id=submitted_id(payload),
        tracking_code=command.tracking_code,
        applicant=Applicant(
            national_code=payload.national_code, full_name=payload.full_name, mobile=payload.mobile
        ),
        province=payload.province,
        subject=payload.subject,
        text=payload.text,
        submitted_at=command.at.isoformat(),
    )


def _submit_draft(command: SubmitDrafted) -> RequestSubmitted:
    draft = command.draft
    card = check_draft(command.payload, draft, command.service, command.at)
    letter = draft.form == "letter"
    return RequestSubmitted(
        request_id=draft.draft_id,
        tracking_code=command.tracking_code,
        applicant=_applicant(draft),
        province=draft.fields["province"] if letter else card.province,
        subject=draft.fields["subject"] if letter else card.name,
        text=draft.fields.get("text", ""),
        submitted_at=command.at.isoformat(),
        form="letter" if letter else "wizard",
        unit=card.unit_id,
        service_id=card.service_id,
        service_name=card.name,
        attachments=draft.attachments,
        visit=_visit(draft, card),
        addressee_unit=draft.fields.get("addressee_unit", "") if letter else "",
    )


def _submit_partnered(command: SubmitPartnered) -> RequestSubmitted:
    payload = command.payload
    card = check_partnered(payload, command.service, command.at)
    letter = card.form == "letter"
    return RequestSubmitted(
        request_id=partnered_id(payload),
        tracking_code=command.tracking_code,
        applicant=Applicant(
            kind="partner",
            national_code="",
            full_name=f"{payload.first_name} {payload.last_name}".strip(),
            partner_id=payload.partner_id,
            address=payload.address or None,
            **open311.contacts(payload),
        ),
        province=payload.attributes["province"] if letter else card.province,
        subject=payload.attributes["subject"] if letter else card.name,
        text=payload.description,
        submitted_at=command.at.isoformat(),
        form="api",
        unit=card.unit_id,
        service_id=card.service_id,
        service_name=card.name,
        visit=open311.visit(payload, card),
    )


def own_request(state: Request, account_id: str) -> RequestSubmitted:
    """The citizen's own request as first submitted; anyone else's reads as missing."""
    if state.submitted is None or state.submitted.applicant.account_id != account_id:
        raise DomainError("request_not_found")
    return state.submitted


def correctable(state: Request, account_id: str) -> RequestSubmitted:
    """The citizen's own request, while it is returned to them (`request_not_found`,
    `not_returned`)."""
    submitted = own_request(state, account_id)
    if not state.returned:
        raise DomainError("not_returned")
    return submitted


def kept(state: Request, payload: Resubmit) -> tuple[AttachmentRef, ...]:
    """The files a correction keeps of those the request carries now."""
    return tuple(a for a in state.attachments if a.attachment_id not in payload.remove_attachments)


def _correct(command: Correct, state: Request) -> RequestResubmitted:
    payload = command.payload
    correctable(state, payload.account_id)
    attachments = kept(state, payload)
    added = command.added
    if added is not None and all(a.sha256 != added.sha256 for a in attachments):
        attachments = (*attachments, added)
    return RequestResubmitted(
        request_id=payload.request_id,
        subject=payload.subject,
        text=payload.text,
        attachments=attachments,
        resubmitted_at=command.at.isoformat(),
    )


def decide(command: RequestCommand, state: Request) -> Sequence[Event]:
    """A submission of a request already submitted decides nothing: the caller answers with
    the first one (a draft sent twice, a command repeated, the same button twice at once)."""
    if isinstance(command, Correct):
        return [_correct(command, state)]
    if state.submitted is not None:
        return []
    if isinstance(command, Submit):
        return [_submit(command)]
    if isinstance(command, SubmitPartnered):
        return [_submit_partnered(command)]
    return [_submit_draft(command)]


requests: Decider[RequestCommand, Request] = Decider(initial=Request, evolve=evolve, decide=decide)
"""A request; fold its case's stream in too, to know it was returned for correction."""
