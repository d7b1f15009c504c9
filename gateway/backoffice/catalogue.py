"""The administrator's catalogue pages: units, services and each service's card and rules.

Every change is an event the requests service writes (UnitDefined, ServicePublished,
ServiceRetired) with the administrator as its actor. Lists are typed one item a line;
pairs (question and answer, title and address, name and title) as «first | second».
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from contracts.catalogue import FILE_TYPES, PROVINCES
from contracts.errors import MESSAGES
from contracts.persian import latin_digits
from gateway.common import ApiError, call, form_data
from gateway.web.auth import require_staff
from gateway.web.templates import render

PAIRS = {"faq": ("question", "answer"), "forms": ("title", "url"), "officers": ("name", "title")}
LINES = ("inquiries", "steps", "documents", "introduction")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _pairs(text: str, names: tuple[str, str]) -> list[dict[str, str]]:
    pairs = []
    for line in _lines(text):
        first, _, second = line.partition("|")
        pairs.append({names[0]: first.strip(), names[1]: second.strip()})
    return pairs


def card_from_form(fields: dict[str, str]) -> dict[str, Any]:
    """The service card an administrator typed, in `ServicePublished`'s shape."""
    card: dict[str, Any] = {
        key: fields.get(key, "").strip()
        for key in (
            "service_id",
            "unit_id",
            "service_type",
            "name",
            "description",
            "responsible",
            "cost",
            "rules",
        )
    }
    card["service_id"] = latin_digits(card["service_id"])
    card.update({key: _lines(fields.get(key, "")) for key in LINES})
    card.update({key: _pairs(fields.get(key, ""), names) for key, names in PAIRS.items()})
    card["form"] = fields.get("form", "wizard")
    card["province"] = fields.get("province", "tehran")
    card["consent_text"] = (
        fields.get("consent_text", "").strip() or "قوانین و آیتم ها را مطالعه نموده ام و موافقم"
    )
    card["expected_duration_days"] = latin_digits(fields.get("expected_duration_days", "")) or "0"
    card["required_assurance_level"] = latin_digits(fields.get("required_assurance_level", "0")) or "0"
    card["attachment_rules"] = {
        "max_size_kb": latin_digits(fields.get("max_size_kb", "")) or "0",
        "max_count": latin_digits(fields.get("max_count", "")) or "0",
        "types": [t for t in FILE_TYPES if fields.get(f"type_{t}") == "on"],
        "required": fields.get("attachments_required") == "on",
    }
    return card


def form_from_card(card: dict[str, Any]) -> dict[str, str]:
    """A published card as the form's text fields, for editing."""
    fields = {k: str(v) for k, v in card.items() if isinstance(v, str | int) and not isinstance(v, bool)}
    fields.update({key: "\n".join(card.get(key, ())) for key in LINES})
    for key, (first, second) in PAIRS.items():
        fields[key] = "\n".join(f"{p[first]} | {p[second]}" for p in card.get(key, ()))
    rules = card.get("attachment_rules", {})
    fields.update(max_size_kb=str(rules.get("max_size_kb", "")), max_count=str(rules.get("max_count", "")))
    fields.update({f"type_{t}": "on" for t in rules.get("types", ())})
    if rules.get("required"):
        fields["attachments_required"] = "on"
    return fields


async def index(request: Request) -> Response:
    """Every unit and service, retired ones too."""
    require_staff(request, "admin")
    units = await call(request, "requests", "catalogue", True)
    return render(request, "catalogue/index.html", {"units": units})


async def define_unit(request: Request) -> Response:
    """Define or rename a unit."""
    admin = require_staff(request, "admin")
    fields = await form_data(request)
    body = {k: fields.get(k, "").strip() for k in ("unit_id", "name", "description")}
    try:
        await call(request, "requests", "define_unit", {**body, "admin": admin.account_id})
    except ApiError as error:
        units = await call(request, "requests", "catalogue", True)
        context = {"units": units, "unit_form": body, "error": MESSAGES.get(error.code, ("", error.code))[1]}
        return render(request, "catalogue/index.html", context, 422)
    return RedirectResponse("/catalogue?saved=1", status_code=303)


async def _form(
    request: Request, fields: dict[str, str], error: str | None = None, status: int = 200
) -> Response:
    units = await call(request, "requests", "catalogue", True)
    context = {
        "fields": fields,
        "units": units,
        "provinces": PROVINCES,
        "file_types": FILE_TYPES,
        "error": error,
    }
    return render(request, "catalogue/service_form.html", context, status)


async def new_service(request: Request) -> Response:
    """An empty service form (the seed's defaults)."""
    require_staff(request, "admin")
    defaults = {"unit_id": request.query_params.get("unit_id", ""), "form": "wizard", "province": "tehran"}
    defaults.update(
        max_size_kb="300", max_count="2", type_pdf="on", type_png="on", type_jpg="on", type_jpeg="on"
    )
    return await _form(request, defaults)


async def edit_service(request: Request) -> Response:
    """The form of a published service, to publish a new edition."""
    require_staff(request, "admin")
    card = await call(request, "requests", "service_card", request.path_params["service_id"])
    return await _form(request, form_from_card(card))


async def publish(request: Request) -> Response:
    """Publish the card typed in the form."""
    admin = require_staff(request, "admin")
    fields = await form_data(request)
    try:
        await call(
            request,
            "requests",
            "publish_service",
            {"admin": admin.account_id, "card": card_from_form(fields)},
        )
    except ApiError as error:
        message = MESSAGES.get(error.code, ("", ""))[1]
        shown = f"{message} ({error.detail})" if error.detail else message
        return await _form(request, fields, shown, 422)
    return RedirectResponse("/catalogue?saved=1", status_code=303)


async def retire(request: Request) -> Response:
    """Stop a service from taking new requests."""
    admin = require_staff(request, "admin")
    fields = await form_data(request)
    body = {"admin": admin.account_id, "service_id": request.path_params["service_id"]}
    await call(request, "requests", "retire_service", {**body, "reason": fields.get("reason", "")})
    return RedirectResponse("/catalogue?saved=1", status_code=303)


routes: list[BaseRoute] = [
    Route("/catalogue", index, methods=["GET"], include_in_schema=False),
    Route("/catalogue/units", define_unit, methods=["POST"], include_in_schema=False),
    Route("/catalogue/services/new", new_service, methods=["GET"], include_in_schema=False),
    Route("/catalogue/services", publish, methods=["POST"], include_in_schema=False),
    Route(
        "/catalogue/services/{service_id:str}/edit", edit_service, methods=["GET"], include_in_schema=False
    ),
    Route("/catalogue/services/{service_id:str}/retire", retire, methods=["POST"], include_in_schema=False),
]
schemas: dict[str, type[BaseModel]] = {}
