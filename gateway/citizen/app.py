"""The citizen gateway: Persian pages and a JSON API for citizens and companies."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute

from gateway.citizen import dashboard, feed, identity, open311, requests_api, requests_pages, support, survey
from gateway.common import build_app

AREAS = (identity, requests_pages, requests_api, survey, support, dashboard, feed, open311)

FIRST = ("/api/requests",)
"""Paths routed before every other: Starlette tries each route's pattern in turn, and the
submission, the desk's busiest request, came after some 35 pages' patterns. No other route
matches these paths (tests/unit/test_citizen_routes.py), so the order changes nothing else."""


def _routes() -> list[BaseRoute]:
    routes = [route for area in AREAS for route in area.routes]
    return sorted(routes, key=lambda route: getattr(route, "path", None) not in FIRST)  # stable


app = build_app(
    "Pishkhan citizen API",
    _routes(),
    {name: model for area in AREAS for name, model in area.schemas.items()},
    name="citizen",
    templates=Path(__file__).parent / "templates",
)
