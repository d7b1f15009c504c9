"""The back-office JSON API of the secretariat, for signed-in staff (session cookie + X-CSRF-Token).

The acting staff member and their scope (a clerk's secretariat, a representative's unit) travel
to the service with every call; the service enforces the scope.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from contracts.secretariat_rpc import CartableQuery, Reply
from gateway.common import _check_api_csrf, call, command_id, payload, validated
from gateway.web.auth import require_staff

SECRETARIAT_ROLES = ("clerk", "representative", "admin")


def staff_of(request: Request) -> dict[str, Any]:
    """The signed-in staff member as the secretariat's RPC payloads carry them."""
    user = require_staff(request, *SECRETARIAT_ROLES)
    return {
        "account_id": user.account_id,
        "name": user.display_name,
        "roles": list(user.roles),
        "province": user.province,
        "unit": user.unit,
    }


async def inbox(request: Request) -> JSONResponse:
    """
    summary: A folder of the signed-in staff member's cartable, newest first (keyset paging)
    parameters:
      - name: folder
        in: query
        required: false
        schema: {type: string, enum: [awaiting, in_progress, done, all]}
      - {name: province, in: query, required: false, schema: {type: string}}
      - {name: limit, in: query, required: false, schema: {type: integer, minimum: 1, maximum: 200}}
      - {name: after, in: query, required: false, schema: {type: integer}}
    responses:
      200: {description: the requests, the next page's key and the folders' counts}
    """
    params = {k: v for k, v in request.query_params.items() if k in CartableQuery.model_fields}
    params.setdefault("folder", "all")
    query = validated(CartableQuery, {**params, "staff": staff_of(request)})
    return JSONResponse(await call(request, "secretariat", "cartable", query))


async def assign_number(request: Request) -> JSONResponse:
    """
    summary: Register the request with the next number of its secretariat's book
    parameters:
      - {name: request_id, in: path, required: true, schema: {type: string}}
    responses:
      201: {description: the registration number}
      404: {description: no such request (or not in your secretariat)}
      409: {description: already numbered}
    """
    _check_api_csrf(request)
    body = {
        "request_id": request.path_params["request_id"],
        "staff": staff_of(request),
        **command_id(request, {}),  # no body: the path names the request
    }
    return JSONResponse(await call(request, "secretariat", "register", body), status_code=201)


class ReplyBody(BaseModel):
    """A reply as the API takes it (the request and the staff member come from the path and session)."""

    kind: str = "final"
    body: str
    reply_number: str | None = None
    reply_date: str | None = None
    legal_basis: str | None = None
    appeal_authority: str | None = None
    appeal_deadline: str | None = None
    notes: str | None = None
    expected_version: int | None = None


async def post_reply(request: Request) -> JSONResponse:
    """
    summary: Post an interim or final reply
    parameters:
      - {name: request_id, in: path, required: true, schema: {type: string}}
    requestBody:
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Reply'}
    responses:
      201: {description: the reply}
      409: {description: not numbered yet, a final reply exists, or someone acted at the same moment}
    """
    body = await payload(
        request, Reply, request_id=request.path_params["request_id"], staff=staff_of(request)
    )
    answer = await call(request, "secretariat", "reply", body)
    return JSONResponse(answer["event"] | {"version": answer["version"]}, status_code=201)


async def case_file(request: Request) -> JSONResponse:
    """
    summary: One request with its workflow history, report, replies and deadline
    parameters:
      - {name: request_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: the request's file}
      404: {description: no such request (or not in your scope)}
    """
    request_id = request.path_params["request_id"]
    return JSONResponse(await call(request, "secretariat", "case_file", request_id, staff_of(request)))


async def messages(request: Request) -> JSONResponse:
    """
    summary: The SMS sent about a request and their status
    parameters:
      - {name: request_id, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: the messages}
    """
    request_id = request.path_params["request_id"]
    await call(request, "secretariat", "case_file", request_id, staff_of(request))  # in scope?
    rows = await call(request, "notify", "messages", request_id)
    return JSONResponse({"items": rows})


routes = [
    Route("/api/inbox", inbox, methods=["GET"]),
    Route("/api/requests/{request_id}", case_file, methods=["GET"]),
    Route("/api/requests/{request_id}/number", assign_number, methods=["POST"]),
    Route("/api/requests/{request_id}/replies", post_reply, methods=["POST"]),
    Route("/api/requests/{request_id}/messages", messages, methods=["GET"]),
]
schemas: dict[str, type[BaseModel]] = {"Reply": ReplyBody, "CartableQuery": CartableQuery}
