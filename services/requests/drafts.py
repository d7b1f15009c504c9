"""Drafts (ثبت موقت): what a citizen typed, kept as events until it is submitted.

A draft's stream holds every save; its state is the last save. Its id becomes the request's
id on submit, so submitting twice records one request.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts.catalogue import ServicePublished
from contracts.envelope import StreamNotFound, StreamState, WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import new_event, registry
from contracts.eventstore import EventStore
from contracts.requests import (
    AddAttachment,
    AttachmentRef,
    DiscardDraft,
    DraftDiscarded,
    DraftSaved,
    RemoveAttachment,
    SaveDraft,
    StartDraft,
)
from infra.attachments import AttachmentStore
from services.requests import forms
from services.requests.catalogue import CatalogueEntry, load_service
from services.requests.files import check_file, media_type


def draft_stream(draft_id: str) -> str:
    """The stream of one draft's saves."""
    return f"draft-{draft_id}"


@dataclass
class Draft:
    """A draft as its stream says now."""

    draft_id: str
    account_id: str
    service_id: str
    form: str
    step: int
    fields: dict[str, str] = field(default_factory=dict)
    attachments: tuple[AttachmentRef, ...] = ()
    saved_at: str = ""
    version: int = 0

    def view(self, service: ServicePublished, errors: dict[str, str] | None = None) -> dict[str, Any]:
        """What the pages show: the draft, its service's card and the messages of its rules."""
        return {
            "draft_id": self.draft_id,
            "service_id": self.service_id,
            "form": self.form,
            "step": self.step,
            "fields": self.fields,
            "attachments": [a.model_dump() for a in self.attachments],
            "saved_at": self.saved_at,
            "service": service.model_dump(mode="json"),
            "errors": errors or {},
        }


def load_draft(store: EventStore, draft_id: str, account_id: str) -> Draft:
    """The citizen's own live draft; anyone else's, a discarded or unknown one reads as missing."""
    try:
        recorded = store.read_stream(draft_stream(draft_id))
    except StreamNotFound:
        raise DomainError("draft_not_found") from None
    draft: Draft | None = None
    for item in recorded:
        event = registry.decode(item)
        if isinstance(event, DraftSaved):
            draft = Draft(
                draft_id=event.draft_id,
                account_id=event.account_id,
                service_id=event.service_id,
                form=event.form,
                step=event.step,
                fields=dict(event.fields),
                attachments=event.attachments,
                saved_at=event.saved_at,
                version=item.revision,
            )
        elif isinstance(event, DraftDiscarded):
            draft = None
    if draft is None or draft.account_id != account_id:
        raise DomainError("draft_not_found")
    if store.stream_version(f"request-{draft_id}") is not None:
        raise DomainError("draft_submitted")
    return draft


def _usable(store: EventStore, service_id: str, assurance_level: int | None) -> CatalogueEntry:
    entry = load_service(store, service_id)
    if entry.retired:
        raise DomainError("service_retired")
    if assurance_level is not None and assurance_level < entry.card.required_assurance_level:
        raise DomainError("assurance_too_low")
    return entry


def _prefill(card: ServicePublished, given: dict[str, str]) -> dict[str, str]:
    name = given.get("full_name", "")
    first, _, last = name.partition(" ")
    if card.form == "letter":
        known = {"kind": "natural", "full_name": name, "owner_name": name, "province": card.province}
        for key in ("national_code", "mobile"):
            known[key] = known[f"owner_{key}"] = given.get(key, "")
        return {k: v for k, v in known.items() if v}
    known = {
        "first_name": first,
        "last_name": last,
        **{k: given.get(k, "") for k in ("national_code", "mobile")},
    }
    return {k: v for k, v in known.items() if v}


def _save(store: EventStore, draft: Draft, event_id: Any, expected: int | StreamState) -> Draft:
    draft.saved_at = datetime.now(UTC).isoformat()
    event = DraftSaved(
        draft_id=draft.draft_id,
        account_id=draft.account_id,
        service_id=draft.service_id,
        form="letter" if draft.form == "letter" else "wizard",
        step=draft.step,
        fields=draft.fields,
        attachments=draft.attachments,
        saved_at=draft.saved_at,
    )
    try:
        result = store.append(
            draft_stream(draft.draft_id),
            [new_event(event, event_id=event_id, actor=f"citizen:{draft.account_id}")],
            expected,
        )
    except WrongExpectedVersion:
        raise DomainError("conflict") from None
    draft.version = result.revision
    return draft


def start_draft(store: EventStore, command: StartDraft) -> dict[str, Any]:
    """A new draft for a catalogue service, once its consent box is ticked."""
    if not command.consent:
        raise DomainError("consent_required")
    entry = _usable(store, command.service_id, command.assurance_level)
    draft_id = command.derived("draft").hex
    try:
        return load_draft(store, draft_id, command.account_id).view(entry.card)
    except DomainError:
        pass
    draft = Draft(
        draft_id=draft_id,
        account_id=command.account_id,
        service_id=command.service_id,
        form=entry.card.form,
        step=1,
        fields=_prefill(entry.card, command.prefill),
    )
    return _save(store, draft, command.derived("started"), StreamState.NO_STREAM).view(entry.card)


def errors_for(draft: Draft, card: ServicePublished, check: str) -> dict[str, str]:
    """The messages of the rules `check` names ("none", "step" or "all")."""
    if check == "none":
        return {}
    count = len(draft.attachments)
    if check == "all":
        return forms.check_all(draft.fields, card, count)
    if draft.form == "letter":
        return forms.check_letter(draft.fields, card, count)
    return forms.check_wizard_step(draft.step, draft.fields, card, count)


def save_draft(store: EventStore, command: SaveDraft) -> dict[str, Any]:
    """Keep what was typed (always), check the rules `command.check` names, and move to the
    next step only when they pass (or back, unchecked)."""
    draft = load_draft(store, command.draft_id, command.account_id)
    card = load_service(store, draft.service_id).card
    typed = {k: v for k, v in command.fields.items() if k in forms.ALL_FIELDS}
    draft.fields = {**draft.fields, **typed}
    draft.step = command.step
    errors = errors_for(draft, card, command.check)
    if command.move == "back":
        draft.step = max(command.step - 1, 1)
    elif command.move == "next" and not errors:
        draft.step = min(command.step + 1, 6)
    elif errors and command.check == "all" and draft.form == "wizard":
        draft.step = forms.first_step_with_errors(errors)
    _save(store, draft, command.derived("saved"), draft.version)
    return draft.view(card, errors)


def get_draft(store: EventStore, draft_id: str, account_id: str) -> dict[str, Any]:
    """The draft from its own stream (never behind what the citizen just saved)."""
    draft = load_draft(store, draft_id, account_id)
    return draft.view(load_service(store, draft.service_id).card)


def add_attachment(store: EventStore, files: AttachmentStore, command: AddAttachment) -> dict[str, Any]:
    """Check a file against the service's rules by its real type, store it, keep it on the draft."""
    draft = load_draft(store, command.draft_id, command.account_id)
    card = load_service(store, draft.service_id).card
    try:
        data = base64.b64decode(command.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("invalid_input", "content_base64 is not base64") from None
    kind = check_file(command.name, data, card.attachment_rules, len(draft.attachments))
    stored = files.put(data)
    if all(a.sha256 != stored.sha256 for a in draft.attachments):
        ref = AttachmentRef(
            attachment_id=stored.attachment_id,
            name=command.name,
            media_type=media_type(kind),
            size=stored.size,
            sha256=stored.sha256,
        )
        draft.attachments = (*draft.attachments, ref)
        _save(store, draft, command.derived("attached"), draft.version)
    return draft.view(card)


def remove_attachment(store: EventStore, command: RemoveAttachment) -> dict[str, Any]:
    """Take a file off the draft (the stored bytes stay: other drafts may share them)."""
    draft = load_draft(store, command.draft_id, command.account_id)
    card = load_service(store, draft.service_id).card
    kept = tuple(a for a in draft.attachments if a.attachment_id != command.attachment_id)
    if kept != draft.attachments:
        draft.attachments = kept
        _save(store, draft, command.derived("detached"), draft.version)
    return draft.view(card)


def discard_draft(store: EventStore, command: DiscardDraft) -> dict[str, str]:
    """Throw the draft away."""
    draft = load_draft(store, command.draft_id, command.account_id)
    event = DraftDiscarded(
        draft_id=draft.draft_id, account_id=draft.account_id, discarded_at=datetime.now(UTC).isoformat()
    )
    try:
        store.append(
            draft_stream(draft.draft_id),
            [new_event(event, event_id=command.derived("discarded"), actor=f"citizen:{draft.account_id}")],
            draft.version,
        )
    except WrongExpectedVersion:
        raise DomainError("conflict") from None
    return {"draft_id": draft.draft_id}
