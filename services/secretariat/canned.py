"""Ready-made replies per service (پاسخ‌های آماده): clerks keep them, repliers start from them."""

from __future__ import annotations

from typing import Any

from contracts.envelope import StreamState
from contracts.errors import DomainError
from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.secretariat import CannedReplyRemoved, CannedReplySaved
from contracts.secretariat_rpc import SaveCannedReply, Staff


def canned_stream(service_id: str) -> str:
    """One stream per service's ready-made replies."""
    return f"canned-{service_id}"


def _may_edit(staff: Staff) -> None:
    if not staff.has("clerk", "admin"):
        raise DomainError("forbidden")


def save(store: EventStore, command: SaveCannedReply) -> dict[str, Any]:
    """Create or change a ready-made reply."""
    _may_edit(command.staff)
    event = CannedReplySaved(
        canned_id=command.canned_id or command.derived("canned").hex,
        service_id=command.service_id,
        title=command.title,
        body=command.body,
        legal_basis=command.legal_basis,
        appeal_authority=command.appeal_authority,
        appeal_deadline=command.appeal_deadline,
        notes=command.notes,
        actor=command.staff.account_id,
    )
    envelope = new_event(event, event_id=command.derived("saved"), actor=f"staff:{command.staff.account_id}")
    store.append(canned_stream(command.service_id), [envelope], StreamState.ANY)
    return event.model_dump()


def remove(store: EventStore, staff: Staff, service_id: str, canned_id: str) -> dict[str, Any]:
    """Stop offering a ready-made reply."""
    _may_edit(staff)
    event = CannedReplyRemoved(canned_id=canned_id, service_id=service_id, actor=staff.account_id)
    store.append(canned_stream(service_id), [new_event(event, actor=f"staff:{staff.account_id}")])
    return event.model_dump()
