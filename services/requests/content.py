"""The citizens' dashboard items as aggregates: an announcement, a downloadable form or a question
and answer, each its own stream (`content-{item_id}`), edited by an administrator.

`decide` and `evolve` are pure: what a decision needs from the world comes with the command (the
time, the file already checked and stored, whether the chosen unit exists and which unit the
chosen service belongs to). The handlers below gather that and hand it to `infra.decider.handle`.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from contracts.catalogue import AttachmentRules
from contracts.content import (
    FILE_TYPES,
    AnnouncementSaved,
    ContentHidden,
    ContentShown,
    FaqEntrySaved,
    HideContent,
    SaveContent,
    ServiceFormSaved,
    content_stream,
    field_errors,
    jalali_to_iso,
)
from contracts.errors import DomainError
from contracts.events import Event
from contracts.eventstore import EventStore
from contracts.requests import AttachmentRef
from infra.attachments import AttachmentStore, clean_file_name
from infra.decider import Decider, handle, load_state
from infra.projections import caught_up
from services.requests import files as checks
from services.requests.catalogue_rules import services, units
from services.requests.streams import service_stream, unit_stream

Saved = AnnouncementSaved | ServiceFormSaved | FaqEntrySaved
KIND_OF: dict[type[Event], str] = {
    AnnouncementSaved: "announcement",
    ServiceFormSaved: "form",
    FaqEntrySaved: "faq",
}
TEHRAN = timezone(timedelta(hours=3, minutes=30))
UPLOAD_RULES = AttachmentRules(max_size_kb=1024, max_count=1, types=FILE_TYPES)
"""A form or an announcement's file: one file of up to 1 MB, of the types a citizen can open."""


@dataclass(frozen=True)
class ContentItem:
    """One item as its stream tells it: its current version (None: never saved) and whether an
    administrator hid it."""

    saved: Saved | None = None
    hidden: bool = False

    @property
    def kind(self) -> str | None:
        return None if self.saved is None else KIND_OF[type(self.saved)]


@dataclass(frozen=True)
class Save:
    """`SaveContent` with what the world says: the item's id (a new one derived from the
    command), the file just checked and stored (None: none uploaded), the time, whether the
    unit exists and the unit of the chosen service (None: no such service)."""

    payload: SaveContent
    item_id: str
    upload: AttachmentRef | None
    at: datetime
    unit_exists: bool = True
    service_unit: str | None = None


@dataclass(frozen=True)
class Hide:
    """`HideContent` with the time."""

    payload: HideContent
    at: datetime


def evolve(state: ContentItem, event: Event) -> ContentItem:
    if isinstance(event, AnnouncementSaved | ServiceFormSaved | FaqEntrySaved):
        return dataclasses.replace(state, saved=event)
    if isinstance(event, ContentHidden):
        return dataclasses.replace(state, hidden=True)
    if isinstance(event, ContentShown):
        return dataclasses.replace(state, hidden=False)
    return state


def decide(command: Save | Hide, state: ContentItem) -> Sequence[Event]:
    if isinstance(command, Hide):
        return _hide(command, state)
    return _save(command, state)


def _hide(command: Hide, state: ContentItem) -> Sequence[Event]:
    """Hide or show again; nothing to record when it already is so."""
    kind = state.kind
    if kind is None:
        raise DomainError("content_not_found")
    payload = command.payload
    if payload.hidden == state.hidden:
        return []
    at, who = command.at.isoformat(), payload.admin
    if payload.hidden:
        return [ContentHidden(item_id=payload.item_id, kind=kind, hidden_by=who, at=at)]
    return [ContentShown(item_id=payload.item_id, kind=kind, shown_by=who, at=at)]


def _save(command: Save, state: ContentItem) -> Sequence[Event]:
    """The item as typed, checked: its kind never changes, a unit and a service come from the
    catalogue (the service of that unit), a form has its file; an edit that changes nothing
    records nothing."""
    payload = command.payload
    if state.saved is not None and state.kind != payload.kind:
        raise DomainError("content_not_found")
    typed = payload.model_dump(include={"title", "text", "date", "expires_on", "unit_id"})
    errors = field_errors(payload.kind, {k: str(v) for k, v in typed.items()})
    if errors:
        field, message = next(iter(errors.items()))
        raise DomainError("content_invalid", f"{field}: {message}")
    if payload.kind in ("form", "faq"):
        if not command.unit_exists:
            raise DomainError("unknown_unit")
        if payload.service_id and command.service_unit != payload.unit_id:
            raise DomainError("content_service_mismatch")
    earlier = state.saved
    had_file = getattr(earlier, "file", None) if earlier is not None else None
    file = command.upload or (None if payload.remove_file else had_file)
    common = {"item_id": command.item_id, "saved_by": payload.admin, "saved_at": command.at.isoformat()}
    event: Saved
    if payload.kind == "announcement":
        published = jalali_to_iso(payload.date) if payload.date else None
        if published is None:
            published = (
                earlier.published_on
                if isinstance(earlier, AnnouncementSaved)
                else command.at.date().isoformat()
            )
        expires = jalali_to_iso(payload.expires_on) if payload.expires_on else None
        event = AnnouncementSaved(
            title=payload.title,
            text=payload.text,
            published_on=published,
            expires_on=expires,
            file=file,
            **common,
        )
    elif payload.kind == "form":
        if file is None:
            raise DomainError("content_file_required")
        event = ServiceFormSaved(
            title=payload.title, unit_id=payload.unit_id, service_id=payload.service_id, file=file, **common
        )
    else:
        event = FaqEntrySaved(
            question=payload.title,
            answer=payload.text,
            unit_id=payload.unit_id,
            service_id=payload.service_id,
            **common,
        )
    if earlier is not None and _same(earlier, event):
        return []
    return [event]


def _same(earlier: Saved, now: Saved) -> bool:
    ignored = {"saved_by", "saved_at"}
    return earlier.model_dump(exclude=ignored) == now.model_dump(exclude=ignored)


contents: Decider[Save | Hide, ContentItem] = Decider(initial=ContentItem, evolve=evolve, decide=decide)
"""One dashboard item (announcement, form or question and answer)."""


# -- the service's handlers ---------------------------------------------------------------------


def save_content(
    store: EventStore, files: AttachmentStore, payload: SaveContent, now: datetime
) -> dict[str, Any]:
    """Add or edit an item: its file (if one came) is checked by its bytes and stored first,
    then the item is decided on its stream. An edit of an item that does not exist is refused."""
    item_id = payload.item_id or payload.derived("content-item").hex
    loaded = load_state(store, contents, content_stream(item_id)) if payload.item_id else None
    if loaded is not None and loaded.state.saved is None:
        raise DomainError("content_not_found")
    upload = None
    if payload.file_base64:
        data = checks.decoded(payload.file_base64, "file_base64")
        upload = checks.store_checked(files, clean_file_name(payload.file_name), data, UPLOAD_RULES, 0)
    service = (
        load_state(store, services, service_stream(payload.service_id)).state if payload.service_id else None
    )
    command = Save(
        payload,
        item_id,
        upload,
        now,
        unit_exists=bool(payload.unit_id)
        and load_state(store, units, unit_stream(payload.unit_id)).state is not None,
        service_unit=service.card.unit_id if service is not None else None,
    )
    decided = handle(
        store,
        contents,
        command,
        content_stream(item_id),
        identity=payload,
        purpose="saved",
        actor=f"admin:{payload.admin}",
        new_stream=loaded is None,
        loaded=loaded,
    )
    return {"item_id": item_id, "position": decided.position}


def hide_content(store: EventStore, payload: HideContent, now: datetime) -> dict[str, Any]:
    """Hide an item from the dashboard, or show it again."""
    decided = handle(
        store,
        contents,
        Hide(payload, now),
        content_stream(payload.item_id),
        identity=payload,
        purpose="hidden",
        actor=f"admin:{payload.admin}",
    )
    return {"item_id": payload.item_id, "hidden": decided.state.hidden, "position": decided.position}


def content_file(store: EventStore, files: AttachmentStore, item_id: str, today: str) -> dict[str, Any]:
    """The file of an item a citizen can see now (not hidden, an announcement not expired), as
    base64 after checking its hash; `content_not_found` otherwise."""
    state = load_state(store, contents, content_stream(item_id)).state
    saved = state.saved
    ref = getattr(saved, "file", None)
    expired = (
        isinstance(saved, AnnouncementSaved) and saved.expires_on is not None and saved.expires_on < today
    )
    if saved is None or ref is None or state.hidden or expired:
        raise DomainError("content_not_found")
    data = files.get(ref.attachment_id)
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise DomainError("internal_error", "stored file does not match its hash")
    return {"name": ref.name, "media_type": ref.media_type, "content_base64": base64.b64encode(data).decode()}


def now() -> datetime:
    """The time a command is decided at."""
    return datetime.now(UTC)


def today() -> str:
    """Today's date in Iran (ISO): an announcement is shown up to and on its expiry day there."""
    return datetime.now(TEHRAN).date().isoformat()


def shown_soon(db_read: sa.Engine, position: int | None) -> None:
    """Wait (briefly) until the dashboard's read model shows what a command just recorded, so
    the administrator's next page shows it too (a slow read model only costs that page)."""
    if position is not None:
        caught_up(db_read, "requests.content", position, timeout=2.0)
