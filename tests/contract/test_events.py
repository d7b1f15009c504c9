"""Event types: versions, upcasters, schemas, and that every event has a reader."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import contracts  # noqa: F401 - registers the event types
from contracts import schemas
from contracts.envelope import NewEvent, RecordedEvent
from contracts.events import Event, EventRegistry, UnknownEventType, new_event, registry
from infra.eventstore.sql import SqlEventStore
from infra.projections import Projection
from services.identity.partners_view import Partners
from services.identity.projections import Access, Accounts, Verifications
from services.notify.projections import Planner, Status
from services.requests.catalogue_view import Catalogue
from services.requests.content_view import Contents
from services.requests.drafts_view import Drafts
from services.requests.projections import CitizenRequests
from services.requests.tickets_view import Tickets
from services.secretariat.projections import Inbox
from services.survey.projections import Invitations, Responses

ALL_PROJECTIONS: list[type[Projection]] = [
    Accounts,
    Access,
    Verifications,
    Partners,
    Catalogue,
    Contents,
    Drafts,
    CitizenRequests,
    Tickets,
    Inbox,
    Planner,
    Status,
    Invitations,
    Responses,
]


def test_every_event_type_has_a_consumer_or_is_declared_terminal() -> None:
    consumed = {event.type_name for p in ALL_PROJECTIONS for event in p.handles}
    orphans = [name for name, model in registry.types.items() if not model.terminal and name not in consumed]
    assert orphans == [], f"events nobody reads (consume them or declare terminal=True): {orphans}"


def test_the_orphan_check_would_catch_an_unread_event() -> None:
    local = EventRegistry()

    @local.event("NobodyReadsMe", 1)
    class NobodyReadsMe(Event):
        value: int

    consumed = {event.type_name for p in ALL_PROJECTIONS for event in p.handles}
    assert [n for n, m in local.types.items() if not m.terminal and n not in consumed] == ["NobodyReadsMe"]


def test_stored_schemas_match_the_code() -> None:
    assert schemas.differences() == [], "run: python -m contracts.schemas (and add a version)"
    assert {p.name for p in schemas.FOLDER.glob("*.json")} >= set(schemas.rendered())


def _registry_with_history() -> EventRegistry:
    """ReplyNoted v1 had `text`; v2 renamed it `body` and added `kind`."""
    local = EventRegistry()

    @local.event("ReplyNoted", 2)
    class ReplyNoted(Event):
        body: str
        kind: str

    @local.upcaster("ReplyNoted", 1)
    def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {"body": data.pop("text"), "kind": "final", **data}

    return local


def test_a_stored_v1_is_read_as_the_current_version(tmp_path: Path) -> None:
    local = _registry_with_history()
    store = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    try:
        store.append("notes-1", [NewEvent("ReplyNoted", {"text": "سلام"}, version=1)])
        (recorded,) = store.read_stream("notes-1")
    finally:
        store.close()
    assert recorded.version == 1 and recorded.data == {"text": "سلام"}
    event = local.decode(recorded)
    assert (type(event).version, event.model_dump()) == (2, {"body": "سلام", "kind": "final"})


def test_a_version_without_an_upcaster_is_refused() -> None:
    local = _registry_with_history()
    old = RecordedEvent(
        id=uuid.uuid4(),
        type="ReplyNoted",
        version=0,
        stream="s",
        revision=0,
        position=1,
        data={},
        correlation_id=uuid.uuid4(),
        causation_id=None,
        recorded_at=datetime.now(UTC),
    )
    with pytest.raises(UnknownEventType, match="v0"):
        local.decode(old)


def test_new_event_carries_type_version_and_causation() -> None:
    from contracts.secretariat import ReplyPosted

    reply = ReplyPosted(request_id="r", reply_id="x", kind="final", body="b", clerk="c", posted_at="t")
    first = new_event(reply, actor="clerk:c")
    assert (first.type, first.version, first.metadata) == ("ReplyPosted", 2, {"actor": "clerk:c"})
    with pytest.raises(ValueError):
        registry.event("ReplyPosted", 1)(type("Again", (Event,), {}))
