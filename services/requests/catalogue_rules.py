"""The catalogue's aggregates and their rules: an organisational unit, and a service with its
card. Pure: what a decision needs from elsewhere (the unit a card names) comes in the command.

Each unit and each service is its own stream; the newest `ServicePublished` is the card, and
a `ServiceRetired` after it stops new requests until a new edition is published.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from contracts.catalogue import (
    PROVINCES,
    DefineUnit,
    PublishService,
    RetireService,
    ServicePublished,
    ServiceRetired,
    UnitDefined,
)
from contracts.errors import DomainError
from contracts.events import Event
from contracts.identity import may_file
from infra.decider import Decider

# -- a unit -------------------------------------------------------------------------------------


def _unit_evolve(state: UnitDefined | None, event: Event) -> UnitDefined | None:
    return event if isinstance(event, UnitDefined) else state


def _unit_decide(command: DefineUnit, state: UnitDefined | None) -> Sequence[Event]:
    """Define or rename: every definition is recorded, the last one is the unit."""
    return [
        UnitDefined(
            unit_id=command.unit_id,
            name=command.name,
            description=command.description,
            defined_by=command.admin,
        )
    ]


units: Decider[DefineUnit, UnitDefined | None] = Decider(
    initial=lambda: None, evolve=_unit_evolve, decide=_unit_decide
)
"""A unit: its last definition (None until it is defined)."""


# -- a service ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueEntry:
    """A service as its stream says now: its current card, and whether it was retired since."""

    card: ServicePublished
    retired: bool = False


@dataclass(frozen=True)
class Publish:
    """`PublishService` with the unit its card names (None when that unit is not defined): the
    unit's name goes on the card."""

    payload: PublishService
    unit: UnitDefined | None


ServiceCommand = Publish | RetireService


def _service_evolve(state: CatalogueEntry | None, event: Event) -> CatalogueEntry | None:
    if isinstance(event, ServicePublished):
        return CatalogueEntry(card=event)
    if isinstance(event, ServiceRetired) and state is not None:
        return dataclasses.replace(state, retired=True)
    return state


def published_card(command: Publish) -> ServicePublished:
    """The card as it will be published: its unit's name and its publisher added. Raises
    `unit_not_found`, or pydantic's `ValidationError` for a card that is not one."""
    if command.unit is None:
        raise DomainError("unit_not_found")
    unit_name = command.unit.name
    return ServicePublished.model_validate(
        {**command.payload.card, "unit_name": unit_name, "published_by": command.payload.admin}
    )


def _service_decide(command: ServiceCommand, state: CatalogueEntry | None) -> Sequence[Event]:
    if isinstance(command, Publish):
        card = published_card(command)
        if card.province not in PROVINCES:
            raise DomainError("invalid_province")
        return [card]
    if state is None:
        raise DomainError("service_not_found")
    if state.retired:
        return []
    return [ServiceRetired(service_id=command.service_id, reason=command.reason, retired_by=command.admin)]


services: Decider[ServiceCommand, CatalogueEntry | None] = Decider(
    initial=lambda: None, evolve=_service_evolve, decide=_service_decide
)
"""A service: its card and whether it is retired (None until its first card is published)."""


def usable(entry: CatalogueEntry | None, assurance_level: int | None) -> CatalogueEntry:
    """The service when a citizen at `assurance_level` may file it now (None: not asked):
    `service_not_found`, `service_retired` or `assurance_too_low` otherwise."""
    if entry is None:
        raise DomainError("service_not_found")
    if entry.retired:
        raise DomainError("service_retired")
    if assurance_level is not None and not may_file(assurance_level, entry.card.required_assurance_level):
        raise DomainError("assurance_too_low")
    return entry
