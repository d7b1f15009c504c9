"""The citizen gateway: Persian pages and a JSON API for citizens and companies."""

from __future__ import annotations

from pathlib import Path

from gateway.citizen import dashboard, feed, identity, open311, requests_api, requests_pages, support, survey
from gateway.common import build_app

AREAS = (identity, requests_pages, requests_api, survey, support, dashboard, feed, open311)

app = build_app(
    "Pishkhan citizen API",
    [route for area in AREAS for route in area.routes],
    {name: model for area in AREAS for name, model in area.schemas.items()},
    name="citizen",
    templates=Path(__file__).parent / "templates",
)
