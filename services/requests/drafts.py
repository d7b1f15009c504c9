"""Drafts (ثبت موقت): the citizen's commands on a draft and what the pages show of it.

The draft's rules are in `draft`; here its service's card is looked up, a file checked and
stored, and `handle` decides. Each command reads the draft once: what it gathers and what it
decides on are the same reading (`load_state`, then `handle(loaded=...)`).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

from contracts.catalogue import UNIT_ID_PATTERN, ServicePublished
from contracts.eventstore import EventStore
from contracts.requests import (
    AddAttachment,
    DiscardDraft,
    RemoveAttachment,
    SaveDraft,
    StartDraft,
)
from infra.attachments import AttachmentStore
from infra.decider import Loaded, handle, load_state
from services.requests.catalogue import find_service, find_unit, load_service
from services.requests.draft import Attach, Detach, Discard, Draft, Save, Start, drafts, errors_for, own
from services.requests.files import decoded, store_checked
from services.requests.streams import draft_stream, request_stream


def view(draft: Draft, service: ServicePublished, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """What the pages show: the draft, its service's card and the messages of its rules."""
    return {
        "draft_id": draft.draft_id,
        "service_id": draft.service_id,
        "form": draft.form,
        "step": draft.step,
        "fields": draft.fields,
        "attachments": [a.model_dump() for a in draft.attachments],
        "saved_at": draft.saved_at,
        "service": service.model_dump(mode="json"),
        "errors": errors or {},
    }


def _load(store: EventStore, draft_id: str) -> Loaded[Draft]:
    """The draft, with its request's stream folded in (submitted or not)."""
    return load_state(store, drafts, draft_stream(draft_id), also=(request_stream(draft_id),))


def _handle(
    store: EventStore,
    command: Save | Attach | Detach | Discard,
    loaded: Loaded[Draft] | None,
    purpose: str,
) -> Draft:
    payload = command.payload
    decided = handle(
        store,
        drafts,
        command,
        draft_stream(payload.draft_id),
        identity=payload,
        purpose=purpose,
        also=(request_stream(payload.draft_id),),
        loaded=loaded,
        actor=f"citizen:{payload.account_id}",
    )
    return decided.state


def start_draft(store: EventStore, command: StartDraft) -> dict[str, Any]:
    """A new draft for a catalogue service, once its consent box is ticked."""
    service = find_service(store, command.service_id)
    decided = handle(
        store,
        drafts,
        Start(command, service, datetime.now(UTC)),
        draft_stream(command.derived("draft").hex),
        identity=command,
        purpose="started",
        actor=f"citizen:{command.account_id}",
    )
    assert service is not None  # decided on it (or this command was, before)
    return view(decided.state, service.card)


def save_draft(store: EventStore, command: SaveDraft) -> dict[str, Any]:
    """Keep what was typed (always), check the rules `command.check` names, and move to the
    next step only when they pass (or back, unchecked)."""
    loaded = _load(store, command.draft_id)
    card = load_service(store, own(loaded.state, command.account_id).service_id).card
    command, refused = _defined_addressee(store, command)
    decision = Save(command, card, datetime.now(UTC))
    saved = _handle(store, decision, loaded, "saved")
    # The messages of the step as it was typed, before the draft moved on from it.
    errors = errors_for(dataclasses.replace(saved, step=command.step), card, command.check, decision.at)
    return view(saved, card, {**errors, **refused})


def _defined_addressee(store: EventStore, command: SaveDraft) -> tuple[SaveDraft, dict[str, str]]:
    """A letter's addressee must be a unit the catalogue defines (units are never removed, so
    one defined when saved still is when submitted). A chosen unit no one defined is a choice
    the form never offered: it is not kept, and the field says so."""
    unit = command.fields.get("addressee_unit", "")
    if not unit or (re.fullmatch(UNIT_ID_PATTERN, unit) and find_unit(store, unit) is not None):
        return command, {}
    fields = {**command.fields, "addressee_unit": ""}
    return command.model_copy(update={"fields": fields}), {"addressee_unit": ADDRESSEE_UNKNOWN}


ADDRESSEE_UNKNOWN = "واحد سازمانی مخاطب را از فهرست انتخاب کنید."


def get_draft(store: EventStore, draft_id: str, account_id: str) -> dict[str, Any]:
    """The draft from its own stream (never behind what the citizen just saved)."""
    draft = own(_load(store, draft_id).state, account_id)
    return view(draft, load_service(store, draft.service_id).card)


def add_attachment(store: EventStore, files: AttachmentStore, command: AddAttachment) -> dict[str, Any]:
    """Check a file against the service's rules by its real type, store it, keep it on the draft."""
    loaded = _load(store, command.draft_id)
    draft = own(loaded.state, command.account_id)
    card = load_service(store, draft.service_id).card
    data = decoded(command.content_base64, "content_base64")
    file = store_checked(files, command.name, data, card.attachment_rules, len(draft.attachments))
    return view(_handle(store, Attach(command, file, datetime.now(UTC)), loaded, "attached"), card)


def remove_attachment(store: EventStore, command: RemoveAttachment) -> dict[str, Any]:
    """Take a file off the draft (the stored bytes stay: other drafts may share them)."""
    draft = _handle(store, Detach(command, datetime.now(UTC)), None, "detached")
    return view(draft, load_service(store, draft.service_id).card)


def discard_draft(store: EventStore, command: DiscardDraft) -> dict[str, str]:
    """Throw the draft away."""
    _handle(store, Discard(command, datetime.now(UTC)), None, "discarded")
    return {"draft_id": command.draft_id}
