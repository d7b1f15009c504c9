"""The administrator's catalogue commands, and reading one service's current card.

Each unit and each service is its own stream; the newest `ServicePublished` is the card.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from contracts.catalogue import (
    PROVINCES,
    DefineUnit,
    PublishService,
    RetireService,
    ServicePublished,
    ServiceRetired,
    UnitDefined,
    unit_stream,
)
from contracts.envelope import StreamNotFound, StreamState, WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import Event, new_event, registry
from contracts.eventstore import EventStore
from infra.nameko_glue import invalid_payload


def service_stream(service_id: str) -> str:
    """The stream of one catalogue service."""
    return f"catalogue-service-{service_id}"


@dataclass(frozen=True)
class CatalogueEntry:
    """A service as its stream says now."""

    card: ServicePublished
    retired: bool
    version: int


def _history(store: EventStore, stream: str) -> tuple[list[Event], int | None]:
    try:
        recorded = store.read_stream(stream)
    except StreamNotFound:
        return [], None
    return [registry.decode(r) for r in recorded], recorded[-1].revision


def load_service(store: EventStore, service_id: str) -> CatalogueEntry:
    """The service's current card, or `service_not_found`."""
    events, version = _history(store, service_stream(service_id))
    card: ServicePublished | None = None
    retired = False
    for event in events:
        if isinstance(event, ServicePublished):
            card, retired = event, False
        elif isinstance(event, ServiceRetired):
            retired = True
    if card is None or version is None:
        raise DomainError("service_not_found")
    return CatalogueEntry(card=card, retired=retired, version=version)


def load_unit(store: EventStore, unit_id: str) -> UnitDefined:
    """The unit's current definition, or `unit_not_found`."""
    events, _ = _history(store, unit_stream(unit_id))
    units = [e for e in events if isinstance(e, UnitDefined)]
    if not units:
        raise DomainError("unit_not_found")
    return units[-1]


def define_unit(store: EventStore, command: DefineUnit) -> dict[str, str]:
    """Define or rename a unit."""
    event = UnitDefined(
        unit_id=command.unit_id, name=command.name, description=command.description, defined_by=command.admin
    )
    store.append(
        unit_stream(command.unit_id),
        [new_event(event, event_id=command.derived("unit"), actor=f"admin:{command.admin}")],
        StreamState.ANY,
    )
    return {"unit_id": command.unit_id}


def publish_service(store: EventStore, command: PublishService) -> dict[str, str]:
    """Publish a service's card; its unit must exist and its secretariat be a province."""
    unit = load_unit(store, str(command.card.get("unit_id", "")))
    try:
        event = ServicePublished.model_validate(
            {**command.card, "unit_name": unit.name, "published_by": command.admin}
        )
    except ValidationError as error:
        raise invalid_payload(error) from None
    if event.province not in PROVINCES:
        raise DomainError("invalid_province")
    stream = service_stream(event.service_id)
    _, version = _history(store, stream)
    try:
        store.append(
            stream,
            [new_event(event, event_id=command.derived("published"), actor=f"admin:{command.admin}")],
            StreamState.NO_STREAM if version is None else version,
        )
    except WrongExpectedVersion:
        raise DomainError("conflict") from None
    return {"service_id": event.service_id}


def retire_service(store: EventStore, command: RetireService) -> dict[str, str]:
    """Stop a service from taking new requests."""
    entry = load_service(store, command.service_id)
    if entry.retired:
        return {"service_id": command.service_id}
    event = ServiceRetired(service_id=command.service_id, reason=command.reason, retired_by=command.admin)
    try:
        store.append(
            service_stream(command.service_id),
            [new_event(event, event_id=command.derived("retired"), actor=f"admin:{command.admin}")],
            entry.version,
        )
    except WrongExpectedVersion:
        raise DomainError("conflict") from None
    return {"service_id": command.service_id}
