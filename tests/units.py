"""Organisational units a test refers requests to, defined as the catalogue defines them."""

from __future__ import annotations

from contracts.catalogue import UnitDefined, unit_stream
from contracts.envelope import StreamState
from contracts.events import new_event
from contracts.eventstore import EventStore
from deploy.run import Desk
from infra.eventstore import open_store

TEST_UNITS = {"permits": "صدور مجوز", "licences": "پروانه‌ها", "finance": "امور مالی"}
"""The units tests refer to: a referral must name a unit the catalogue defines."""


def define_units(store: EventStore, units: dict[str, str] = TEST_UNITS) -> None:
    """Record each unit (id → name) in its catalogue stream, as an administrator would."""
    for unit_id, name in units.items():
        event = UnitDefined(unit_id=unit_id, name=name, defined_by="test")
        store.append(unit_stream(unit_id), [new_event(event, actor="test:units")], StreamState.ANY)


def define_units_on(desk: Desk, units: dict[str, str]) -> None:
    """`define_units` in a running desk's store."""
    from tests.desk import store_url_of

    store = open_store(store_url_of(desk))
    try:
        define_units(store, units)
    finally:
        store.close()
