"""A draft (ثبت موقت) as an aggregate: what a citizen typed, kept as events until it is
submitted. Pure: the service's card, a checked file and the time come in the command.

A draft's stream holds every save; its state is the last save. Its id becomes the request's
id on submit, so the request's stream, folded in, says it was submitted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from contracts.catalogue import ServicePublished
from contracts.errors import DomainError
from contracts.events import Event
from contracts.requests import (
    AddAttachment,
    AttachmentRef,
    DiscardDraft,
    DraftDiscarded,
    DraftSaved,
    RemoveAttachment,
    RequestSubmitted,
    SaveDraft,
    StartDraft,
)
from infra.decider import Decider
from services.requests import forms
from services.requests.catalogue_rules import CatalogueEntry, usable


@dataclass(frozen=True)
class Draft:
    """A draft as its stream says now (`saved` False: never saved, or discarded since), and
    whether its request was submitted."""

    draft_id: str = ""
    account_id: str = ""
    service_id: str = ""
    form: str = "wizard"
    step: int = 1
    fields: dict[str, str] = field(default_factory=dict)
    attachments: tuple[AttachmentRef, ...] = ()
    saved_at: str = ""
    saved: bool = False
    submitted: bool = False


@dataclass(frozen=True)
class Start:
    """`StartDraft` with its service as the catalogue has it now (None: no such service)."""

    payload: StartDraft
    service: CatalogueEntry | None
    at: datetime


@dataclass(frozen=True)
class Save:
    """`SaveDraft` with its service's card, whose rules check what was typed."""

    payload: SaveDraft
    card: ServicePublished
    at: datetime


@dataclass(frozen=True)
class Attach:
    """`AddAttachment` with its file, checked against the service's rules and stored."""

    payload: AddAttachment
    file: AttachmentRef
    at: datetime


@dataclass(frozen=True)
class Detach:
    payload: RemoveAttachment
    at: datetime


@dataclass(frozen=True)
class Discard:
    payload: DiscardDraft
    at: datetime


DraftCommand = Start | Save | Attach | Detach | Discard


def evolve(state: Draft, event: Event) -> Draft:
    if isinstance(event, DraftSaved):
        return Draft(
            draft_id=event.draft_id,
            account_id=event.account_id,
            service_id=event.service_id,
            form=event.form,
            step=event.step,
            fields=dict(event.fields),
            attachments=event.attachments,
            saved_at=event.saved_at,
            saved=True,
            submitted=state.submitted,
        )
    if isinstance(event, DraftDiscarded):
        return Draft(submitted=state.submitted)
    if isinstance(event, RequestSubmitted):
        return dataclasses.replace(state, submitted=True)
    return state


def own(state: Draft, account_id: str) -> Draft:
    """The citizen's own live draft: anyone else's, a discarded or unknown one reads as missing
    (`draft_not_found`), a submitted one is `draft_submitted`."""
    if not state.saved or state.account_id != account_id:
        raise DomainError("draft_not_found")
    if state.submitted:
        raise DomainError("draft_submitted")
    return state


def prefill(card: ServicePublished, given: dict[str, str]) -> dict[str, str]:
    """The fields a new draft starts with, from what the account already knows."""
    name = given.get("full_name", "")
    first, _, last = name.partition(" ")
    if card.form == "letter":
        # Seed 000's legal form: the owner's fields are the signed-in person's own (who acts for
        # the company), the company's title and شناسه ملی are the account's company's.
        known = {
            "kind": "legal" if given.get("kind") == "legal" else "natural",
            "full_name": name,
            "owner_name": name,
            "province": card.province,
            "father_name": given.get("father_name", ""),
            "address": given.get("address", ""),
            "company_name": given.get("company_name", ""),
            "company_national_id": given.get("company_national_id", ""),
        }
        for key in ("national_code", "mobile", "birth_date"):
            known[key] = known[f"owner_{key}"] = given.get(key, "")
        return {k: v for k, v in known.items() if v}
    known = {
        "first_name": first,
        "last_name": last,
        **{k: given.get(k, "") for k in ("national_code", "mobile")},
    }
    return {k: v for k, v in known.items() if v}


def errors_for(draft: Draft, card: ServicePublished, check: str, at: datetime) -> dict[str, str]:
    """The messages of the rules `check` names ("none", "step" or "all")."""
    if check == "none":
        return {}
    count, today = len(draft.attachments), forms.day_of(at)
    if check == "all":
        return forms.check_all(draft.fields, card, count, today)
    if draft.form == "letter":
        return forms.check_letter(draft.fields, card, count, today)
    return forms.check_wizard_step(draft.step, draft.fields, card, count, today)


def typed(draft: Draft, command: Save) -> Draft:
    """The draft with what was typed on the step the citizen was on (unknown fields dropped)."""
    kept = {k: v for k, v in command.payload.fields.items() if k in forms.ALL_FIELDS}
    return dataclasses.replace(draft, fields={**draft.fields, **kept}, step=command.payload.step)


def _moved(draft: Draft, command: Save) -> Draft:
    """Keep what was typed (always), and move to the next step only when the rules the
    command names pass (or back, unchecked)."""
    payload = command.payload
    changed = typed(draft, command)
    errors = errors_for(changed, command.card, payload.check, command.at)
    step = payload.step
    if payload.move == "back":
        step = max(payload.step - 1, 1)
    elif payload.move == "next" and not errors:
        step = min(payload.step + 1, 6)
    elif errors and payload.check == "all" and draft.form == "wizard":
        step = forms.first_step_with_errors(errors)
    return dataclasses.replace(changed, step=step)


def _saved(draft: Draft, at: datetime) -> DraftSaved:
    return DraftSaved(
        draft_id=draft.draft_id,
        account_id=draft.account_id,
        service_id=draft.service_id,
        form="letter" if draft.form == "letter" else "wizard",
        step=draft.step,
        fields=draft.fields,
        attachments=draft.attachments,
        saved_at=at.isoformat(),
    )


def _start(command: Start, state: Draft) -> Sequence[Event]:
    payload = command.payload
    if not payload.consent:
        raise DomainError("consent_required")
    card = usable(command.service, payload.assurance_level).card
    if state.saved:
        return []  # started already: the citizen sees it as it is
    draft = Draft(
        draft_id=payload.derived("draft").hex,
        account_id=payload.account_id,
        service_id=payload.service_id,
        form=card.form,
        fields=prefill(card, payload.prefill),
    )
    return [_saved(draft, command.at)]


def decide(command: DraftCommand, state: Draft) -> Sequence[Event]:
    if isinstance(command, Start):
        return _start(command, state)
    draft = own(state, command.payload.account_id)
    if isinstance(command, Save):
        return [_saved(_moved(draft, command), command.at)]
    if isinstance(command, Attach):
        if any(a.sha256 == command.file.sha256 for a in draft.attachments):
            return []  # the same bytes are attached already
        return [
            _saved(dataclasses.replace(draft, attachments=(*draft.attachments, command.file)), command.at)
        ]
    if isinstance(command, Detach):
        kept = tuple(a for a in draft.attachments if a.attachment_id != command.payload.attachment_id)
        if kept == draft.attachments:
            return []
        return [_saved(dataclasses.replace(draft, attachments=kept), command.at)]
    return [
        DraftDiscarded(
            draft_id=draft.draft_id, account_id=draft.account_id, discarded_at=command.at.isoformat()
        )
    ]


drafts: Decider[DraftCommand, Draft] = Decider(initial=Draft, evolve=evolve, decide=decide)
"""A draft; fold its request's stream in too, to know it was submitted."""
