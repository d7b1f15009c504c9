"""The citizens' dashboard (داشبورد شهروندان, seed 003): the announcements (بسته اطلاع رسانی),
every service's downloadable forms in one place (فرمهای مورد نیاز جهت دریافت خدمات) and the
questions and answers per unit and service (پرسش و پاسخ), open to every visitor.

What is shown is what the requests service answers for today: hidden and expired items are
already left out there. A form's or an announcement's file is served from the requests
service's file store, after it checked the file's hash.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.common import call
from gateway.web.templates import render


async def dashboard(request: Request) -> Response:
    """The three parts of the dashboard; the questions of the unit or service chosen."""
    unit_id = request.query_params.get("unit", "")
    service_id = request.query_params.get("service", "")
    found = await call(request, "requests", "dashboard", unit_id, service_id)
    context = {**found, "chosen": {"unit": unit_id, "service": service_id}}
    return render(request, "dashboard/index.html", context)


async def content_file(request: Request) -> Response:
    """The file of an announcement or of an uploaded form."""
    found = await call(request, "requests", "content_file", request.path_params["item_id"])
    disposition = f"attachment; filename*=UTF-8''{quote(found['name'], safe='')}"
    return Response(
        base64.b64decode(found["content_base64"]),
        media_type=found["media_type"],
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


routes: list[BaseRoute] = [
    Route("/dashboard", dashboard, methods=["GET"], include_in_schema=False),
    Route("/dashboard/files/{item_id:str}", content_file, methods=["GET"], include_in_schema=False),
]
schemas: dict[str, type[BaseModel]] = {}
