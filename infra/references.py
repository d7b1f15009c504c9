"""References a command names that must exist when it is decided: an organisational unit is one
the catalogue's stream defines (the secretariat refers to it, identity binds a representative to
it). Read from the unit's own stream, never from a read model that may not have seen it yet."""

from __future__ import annotations

from contracts.catalogue import UnitDefined, unit_stream
from contracts.errors import DomainError
from contracts.events import registry
from contracts.eventstore import EventStore
from infra.decider import read_whole


def defined_unit_name(store: EventStore, unit_id: str) -> str:
    """The unit's name as the catalogue's stream defines it now, or `unknown_unit`: a referral
    to a unit nobody defined would leave the request where no representative will see it, and a
    representative of such a unit would see nothing."""
    events = map(registry.decode, read_whole(store, unit_stream(unit_id)))
    units = [event for event in events if isinstance(event, UnitDefined)]
    if not units:
        raise DomainError("unknown_unit", f"unit: {unit_id}")
    return units[-1].name
