"""Open311 GeoReport v2 for partner systems (a municipality's 137, a city app): the catalogue's
services and their attributes, filing a request on a person's behalf with the partner's
`api_key`, and reading requests back, in JSON or XML (http://wiki.open311.org/GeoReport_v2).

The spec's shapes, not the desk's: errors are `[{"code": 400, "description": …}]` (XML
`<errors><error>…`) with 400 for a missing or invalid field, 403 for a missing or invalid
api_key and 404 for an unknown service or request. `service_request_id` is the tracking code;
the `token` answered with it is the request's id, which `tokens/{token}` resolves.

Reading requests needs a partner's key too (the spec leaves it open): a partner bound to a unit
reads only that unit's requests, and what it reads of one it did not file carries no personal
data (the requests service decides both). A partner's `Idempotency-Key` header makes a repeated
POST answer the first request instead of filing another.
"""

from __future__ import annotations

import asyncio
import functools
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts.errors import MESSAGES, DomainError
from contracts.partners import partner_actor
from gateway.body import fingerprint
from gateway.citizen.requests_labels import STATUS
from gateway.common import IDEMPOTENCY_KEY, ApiError, call, call_cached, scoped_command_id
from gateway.rpc import ServiceUnavailable

BASE = "/open311/v2"
FORMATS = {"json": "application/json", "xml": "text/xml"}
CHANGESET = "2026-12-07T00:00:00+00:00"
PERSON_FIELDS = ("first_name", "last_name", "phone", "email", "description")

Handler = Callable[[Request, str], Awaitable[Response]]


class Open311Error(Exception):
    """An answer in the spec's error shape: HTTP `status` and a description naming the cause."""

    def __init__(self, status: int, description: str) -> None:
        self.status, self.description = status, description
        super().__init__(description)


STATUS_OF = {
    "service_not_found": (404, "service_code not found"),
    "service_retired": (404, "service_code not found"),
    "request_not_found": (404, "service_request_id not found"),
    "invalid_api_key": (403, "invalid api_key"),
    "partner_request_invalid": (400, "invalid or missing field"),
    "invalid_input": (400, "invalid or missing field"),
    "idempotency_key_reused": (400, "Idempotency-Key reused with another request"),
}
"""The desk's error codes the spec names, with their descriptions."""


def spec_status(code: str) -> tuple[int, str]:
    """A desk error code as the spec's status and description: those it names as above; any
    other refusal of the input 400, of the key 403, a missing thing 404 (the code describes it);
    a code no one registered 500."""
    if code in STATUS_OF:
        return STATUS_OF[code]
    status = MESSAGES.get(code, (500, ""))[0]
    if status in (401, 403):
        return 403, code
    if status in (404, 429) or status >= 500:
        return status, code
    return 400, code


# -- rendering ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _element(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            _element(node, key, inner)
    elif isinstance(value, list):
        child = tag[:-1] if tag.endswith("s") else "item"  # values → value, attributes → attribute
        for inner in value:
            _element(node, child, inner)
    else:
        node.text = _text(value)


def xml_document(root: str, item: str | None, data: Any) -> bytes:
    """`data` (a list of `item`s, or one object) as the spec's XML under `root`."""
    top = ET.Element(root)
    if item is None:
        for key, value in data.items():
            _element(top, key, value)
    else:
        for entry in data:
            _element(top, item, entry)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode").encode()


def render(fmt: str, data: Any, root: str, item: str | None, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(xml_document(root, item, data), status_code=status, media_type=FORMATS["xml"])
    return JSONResponse(data, status_code=status)


def error(fmt: str, status: int, description: str) -> Response:
    return render(fmt, [{"code": status, "description": description}], "errors", "error", status)


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The route for `handler(request, fmt)`: an unknown format reads as a missing page, and
    every refusal is answered in the spec's error shape, in the format asked."""

    @functools.wraps(handler)
    async def route(request: Request) -> Response:
        fmt = request.path_params.get("fmt", "json")
        if fmt not in FORMATS:
            return error("json", 404, "unknown format: json or xml")
        try:
            return await handler(request, fmt)
        except Open311Error as refused:
            return error(fmt, refused.status, refused.description)
        except (ApiError, DomainError) as refused:
            status, description = spec_status(refused.code)
            detail = f": {refused.detail}" if refused.detail and status == 400 else ""
            return error(fmt, status, description + detail)
        except HTTPException as refused:  # a body that is no form
            return error(fmt, refused.status_code, str(refused.detail))
        except ServiceUnavailable:
            return error(fmt, 503, "service unavailable, try again later")

    return route


# -- partners -------------------------------------------------------------------------------


async def partner(request: Request, given: str | None) -> dict[str, Any]:
    """The partner whose `api_key` this is ({"partner_id", "name", "unit", …}), or 403. An
    `X-Api-Key` header may carry it instead, which keeps it out of URLs and access logs."""
    given = request.headers.get("x-api-key") or given
    if not given:
        raise Open311Error(403, "api_key required")
    return dict(await call(request, "identity", "partner_authenticate", {"api_key": given}))


def moment(stamp: str) -> str:
    """An ISO 8601 time with its offset, to the second."""
    try:
        return datetime.fromisoformat(stamp).replace(microsecond=0).isoformat()
    except ValueError:
        return stamp


def service_request(view: dict[str, Any]) -> dict[str, Any]:
    """A request as GeoReport v2 shows it: open or closed, the Persian state in its notes."""
    shown = {
        "service_request_id": view["tracking_code"],
        "status": "closed" if view["status"] == "done" else "open",
        "status_notes": STATUS.get(view["status"], (view["status"], ""))[0],
        "service_name": view["service_name"],
        "service_code": view["service_id"],
        "description": view["description"],
        "agency_responsible": view["unit_name"],
        "service_notice": "",
        "requested_datetime": moment(view["submitted_at"]),
        "updated_datetime": moment(view["updated_at"]),
        "expected_datetime": None,
        "address": view.get("address", ""),
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }
    if view.get("person"):  # only on a request this partner filed
        shown.update(view["person"])
    return shown


# -- the routes ------------------------------------------------------------------------------


async def discovery(request: Request, fmt: str) -> Response:
    """
    summary: "Open311 discovery: where this desk's GeoReport v2 endpoint is and what it speaks"
    responses:
      200: {description: "changeset, contact, key_service, endpoints"}
    """
    base = str(request.base_url).rstrip("/")
    data: dict[str, Any] = {
        "changeset": CHANGESET,
        "contact": "دبیرخانه سازمان",
        "key_service": "کلید دسترسی (api_key) را مدیر سامانه برای هر سامانه همکار صادر می‌کند.",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": f"{base}{BASE}",
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS.values()),
            }
        ],
    }
    return render(fmt, data, "discovery", None)  # XML: <endpoints><endpoint>…<formats><format>


async def services(request: Request, fmt: str) -> Response:
    """
    summary: "Open311 GeoReport v2 services: every service that takes requests, grouped by its unit"
    responses:
      200: {description: "service_code, service_name, description, metadata, type, keywords, group"}
    """
    units = await call_cached(request, "requests", "catalogue")
    listed = [(unit, s) for unit in units for s in unit["services"] if not s.get("retired")]
    cards = await asyncio.gather(
        *(call_cached(request, "requests", "service_card", s["service_id"]) for _, s in listed)
    )
    data = [
        {
            "service_code": s["service_id"],
            "service_name": s["name"],
            "description": card.get("description", ""),
            "metadata": True,  # every form has attributes (the wizard's visit, a letter's subject)
            "type": "realtime",
            "keywords": s["service_type"],
            "group": unit["name"],
        }
        for (unit, s), card in zip(listed, cards, strict=True)
    ]
    return render(fmt, data, "services", "service")


async def service_definition(request: Request, fmt: str) -> Response:
    """
    summary: "Open311 GeoReport v2 service definition: the attributes a request of one service may carry"
    responses:
      200: {description: "service_code and attributes"}
      404: {description: "service_code not found"}
    """
    code = request.path_params["code"]
    attributes = await call(request, "requests", "service_attributes", code)
    return render(fmt, {"service_code": code, "attributes": attributes}, "service_definition", None)


def _attributes(form: dict[str, str]) -> dict[str, str]:
    """`attribute[code]=value` fields of the form, by code."""
    given = {}
    for key, value in form.items():
        if key.startswith("attribute[") and key.endswith("]"):
            given[key[len("attribute[") : -1].removesuffix("][")] = value
    return given


async def file_request(request: Request, fmt: str) -> Response:
    """File a request on a person's behalf: the partner's api_key, service_code, the person
    (first_name, last_name, phone, email), description and attribute[code] values."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    who = await partner(request, form.get("api_key"))
    if not form.get("service_code"):
        raise Open311Error(400, "service_code required")
    if not form.get("description", "").strip():
        raise Open311Error(400, "description required")
    command: dict[str, Any] = {
        "partner_id": who["partner_id"],
        "service_id": form["service_code"],
        **{name: form.get(name, "") for name in PERSON_FIELDS},
        "address": form.get("address_string", ""),
        "attributes": _attributes(form),
    }
    key = request.headers.get("idempotency-key")
    if key:
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise Open311Error(400, "Idempotency-Key: 8 to 100 letters, digits, '_' or '-'")
        given = {k: v for k, v in form.items() if k != "api_key"}
        command["command_id"] = scoped_command_id(partner_actor(who["partner_id"]), key)
        command["fingerprint"] = fingerprint(request.method, request.url.path, given)
    filed = await call(request, "requests", "submit_for_partner", command)
    answer = [
        {
            "service_request_id": filed["tracking_code"],
            "token": filed["request_id"],
            "service_notice": "",
            "account_id": None,
        }
    ]
    return render(fmt, answer, "service_requests", "request", status=201)


def _filters(request: Request) -> dict[str, Any]:
    query = request.query_params
    return {
        "service_request_id": [
            c.strip() for c in query.get("service_request_id", "").split(",") if c.strip()
        ],
        "service_code": query.get("service_code", ""),
        "status": query.get("status", ""),
        "start_date": query.get("start_date", ""),
        "end_date": query.get("end_date", ""),
    }


async def list_requests(request: Request, fmt: str) -> Response:
    """The requests this partner may read, filtered as the spec says (at most 1000, 90 days)."""
    who = await partner(request, request.query_params.get("api_key"))
    views = await call(request, "requests", "partner_requests", who, _filters(request))
    return render(fmt, [service_request(v) for v in views], "service_requests", "request")


async def requests_dispatch(request: Request, fmt: str) -> Response:
    """
    summary: "Open311 GeoReport v2 requests: GET lists them (api_key, filters), POST files one (form-encoded)"
    description: >
      GET: service_request_id (comma list), service_code, status (open/closed), start_date and
      end_date (ISO 8601, at most 90 days apart; default the last 90), at most 1000 requests.
      POST: api_key, service_code, first_name, last_name, phone, email, description,
      address_string and attribute[code] values; answered with service_request_id and token.
    responses:
      200: {description: "the requests"}
      201: {description: "service_request_id (the tracking code) and token"}
      400: {description: "a field missing or invalid"}
      403: {description: "invalid api_key"}
    """
    if request.method == "POST":
        return await file_request(request, fmt)
    return await list_requests(request, fmt)


async def one_request(request: Request, fmt: str) -> Response:
    """
    summary: "Open311 GeoReport v2: one request by its service_request_id (the tracking code)"
    parameters:
      - {name: api_key, in: query, required: true, schema: {type: string}}
    responses:
      200: {description: "a list of one request"}
      403: {description: "invalid api_key"}
      404: {description: "service_request_id not found (or not the partner's unit's)"}
    """
    who = await partner(request, request.query_params.get("api_key"))
    view = await call(request, "requests", "partner_request", who, request.path_params["id"])
    return render(fmt, [service_request(view)], "service_requests", "request")


async def token(request: Request, fmt: str) -> Response:
    """
    summary: "Open311 GeoReport v2: the service_request_id a token (given on filing) stands for"
    responses:
      200: {description: "service_request_id and token"}
      404: {description: "token not found"}
    """
    who = await partner(request, request.query_params.get("api_key"))
    given = request.path_params["token"]
    if not (len(given) == 32 and all(c in "0123456789abcdef" for c in given)):
        raise Open311Error(404, "token not found")
    view = await call(request, "requests", "partner_request", who, given)
    answer = [{"service_request_id": view["tracking_code"], "token": given}]
    return render(fmt, answer, "service_requests", "request")


def _route(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> Route:
    """Open311 is described by its own discovery document and the GeoReport v2 spec: its routes
    stay out of the gateway's OpenAPI document (whose `{fmt}` suffixes it cannot describe)."""
    return Route(path, endpoint(handler), methods=list(methods), include_in_schema=False)


routes = [
    _route("/open311/discovery.{fmt}", discovery),
    _route(f"{BASE}/services.{{fmt}}", services),
    _route(f"{BASE}/services/{{code}}.{{fmt}}", service_definition),
    _route(f"{BASE}/requests.{{fmt}}", requests_dispatch, ("GET", "POST")),
    _route(f"{BASE}/requests/{{id}}.{{fmt}}", one_request),
    _route(f"{BASE}/tokens/{{token}}.{{fmt}}", token),
]
schemas: dict[str, type[BaseModel]] = {}
