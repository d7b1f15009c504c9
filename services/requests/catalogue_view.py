"""The catalogue as citizens browse it: units, their services and each service's card."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from contracts.catalogue import ServicePublished, ServiceRetired, UnitDefined
from contracts.errors import DomainError
from infra import jsontext
from infra.projections import Context, Projection

metadata = sa.MetaData()

units_table = sa.Table(
    "requests_units",
    metadata,
    sa.Column("unit_id", sa.String(50), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)

services_table = sa.Table(
    "requests_services",
    metadata,
    sa.Column("service_id", sa.String(11), primary_key=True),
    sa.Column("unit_id", sa.String(50), nullable=False, index=True),
    sa.Column("service_type", sa.String(200), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("retired", sa.Boolean, nullable=False),
    sa.Column("card", sa.Text, nullable=False),
)


class Catalogue(Projection):
    """requests_units and requests_services."""

    name = "requests.catalogue"
    handles = (UnitDefined, ServicePublished, ServiceRetired)
    metadata = metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        values: dict[str, Any]
        if isinstance(event, UnitDefined):
            values = {"name": event.name, "description": event.description}
            table, key = units_table, units_table.c.unit_id
            ident = event.unit_id
            new = {"unit_id": event.unit_id, **values}
        elif isinstance(event, ServicePublished):
            values = {
                "unit_id": event.unit_id,
                "service_type": event.service_type,
                "name": event.name,
                "retired": False,
                "card": jsontext.text_sorted(event.model_dump(mode="json")),
            }
            table, key, ident = services_table, services_table.c.service_id, event.service_id
            new = {"service_id": event.service_id, **values}
        else:
            conn.execute(
                services_table.update()
                .where(services_table.c.service_id == event.service_id)
                .values(retired=True)
            )
            return
        if conn.execute(table.update().where(key == ident).values(**values)).rowcount == 0:
            conn.execute(table.insert().values(**new))


def units_with_services(db_read: sa.Engine, *, include_retired: bool = False) -> list[dict[str, Any]]:
    """Every unit with its services (name order), as the catalogue page lists them."""
    with db_read.connect() as conn:
        units = conn.execute(sa.select(units_table).order_by(units_table.c.name)).all()
        query = sa.select(services_table).order_by(services_table.c.service_type, services_table.c.name)
        if not include_retired:
            query = query.where(services_table.c.retired.is_(False))
        services = conn.execute(query).all()
    listing = []
    for unit in units:
        mine = [
            {
                "service_id": s.service_id,
                "service_type": s.service_type,
                "name": s.name,
                "retired": s.retired,
                # what the citizen's account page weighs their level against (`may_file`)
                "required_assurance_level": json.loads(s.card).get("required_assurance_level", 0),
            }
            for s in services
            if s.unit_id == unit.unit_id
        ]
        listing.append(
            {"unit_id": unit.unit_id, "name": unit.name, "description": unit.description, "services": mine}
        )
    return listing


def service_card(db_read: sa.Engine, service_id: str) -> dict[str, Any]:
    """One service's card, or `service_not_found`."""
    with db_read.connect() as conn:
        row = conn.execute(sa.select(services_table).where(services_table.c.service_id == service_id)).first()
    if row is None:
        raise DomainError("service_not_found")
    card: dict[str, Any] = json.loads(row.card)
    card["retired"] = row.retired
    return card
