"""The administrator's catalogue commands, and reading one service's current card.

Each unit and each service is its own stream (`catalogue_rules` has their rules); the newest
`ServicePublished` is the card.
"""

from __future__ import annotations

from pydantic import ValidationError

from contracts.catalogue import DefineUnit, PublishService, RetireService, UnitDefined
from contracts.errors import DomainError
from contracts.eventstore import EventStore
from infra.decider import handle, load_state
from infra.nameko_glue import invalid_payload
from services.requests.catalogue_rules import CatalogueEntry, Publish, services, units
from services.requests.streams import service_stream, unit_stream

__all__ = [
    "define_unit",
    "find_service",
    "find_unit",
    "load_service",
    "publish_service",
    "retire_service",
    "service_stream",
    "unit_stream",
]


def find_service(store: EventStore, service_id: str) -> CatalogueEntry | None:
    """The service's current card and whether it is retired (None: no such service)."""
    return load_state(store, services, service_stream(service_id)).state


def load_service(store: EventStore, service_id: str) -> CatalogueEntry:
    """The service's current card, or `service_not_found`."""
    entry = find_service(store, service_id)
    if entry is None:
        raise DomainError("service_not_found")
    return entry


def find_unit(store: EventStore, unit_id: str) -> UnitDefined | None:
    """The unit's current definition (None: not defined)."""
    return load_state(store, units, unit_stream(unit_id)).state


def define_unit(store: EventStore, command: DefineUnit) -> dict[str, str]:
    """Define or rename a unit."""
    handle(
        store, units, command, unit_stream(command.unit_id), purpose="unit", actor=f"admin:{command.admin}"
    )
    return {"unit_id": command.unit_id}


def publish_service(store: EventStore, command: PublishService) -> dict[str, str]:
    """Publish a service's card; its unit must exist and its secretariat be a province. The card's
    service id names its stream (an id that is not one is refused before anything is recorded)."""
    unit = find_unit(store, str(command.card.get("unit_id", "")))
    try:
        decided = handle(
            store,
            services,
            Publish(command, unit),
            service_stream(str(command.card.get("service_id", ""))),
            identity=command,
            purpose="published",
            actor=f"admin:{command.admin}",
        )
    except ValidationError as error:
        raise invalid_payload(error) from None
    assert decided.state is not None  # published now, or before by this same command
    return {"service_id": decided.state.card.service_id}


def retire_service(store: EventStore, command: RetireService) -> dict[str, str]:
    """Stop a service from taking new requests (a retired one stays so)."""
    handle(
        store,
        services,
        command,
        service_stream(command.service_id),
        purpose="retired",
        actor=f"admin:{command.admin}",
    )
    return {"service_id": command.service_id}
