"""The back-office gateway: Persian pages and a JSON API for staff."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from gateway.backoffice import (
    catalogue,
    content,
    identity,
    notify,
    partners,
    secretariat_api,
    secretariat_pages,
    support,
    survey,
)
from gateway.common import build_app

AREAS = (identity, catalogue, content, secretariat_pages, secretariat_api, notify, survey, support, partners)


async def home(request: Request) -> RedirectResponse:
    """Staff start at their desk (the login page when signed out)."""
    return RedirectResponse("/identity/home", status_code=303)


app = build_app(
    "Pishkhan back-office API",
    [
        Route("/", home, methods=["GET"], include_in_schema=False),
        *(route for area in AREAS for route in area.routes),
    ],
    {name: model for area in AREAS for name, model in area.schemas.items()},
    name="backoffice",
    templates=Path(__file__).parent / "templates",
)
