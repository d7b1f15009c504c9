"""The partners' event feed: `GET /api/feed?after=POSITION&limit=N` (issue 25).

For partners that poll rather than take webhooks or a RabbitMQ queue. The answer is the
integration events (CloudEvents 1.0, `contracts/integration.py`) after store position `after`
that the partner's scope lets it see, oldest first, with `next`: the `after` of the next page
(it moves past events the partner does not see too, so paging never stalls). Each event is
keyed by its CloudEvent `id`; the same id may come on webhooks and over RabbitMQ too.

The partner's API key comes as `Authorization: Bearer <key>` or `X-Api-Key: <key>`; a missing,
unknown or revoked key is answered 401 `invalid_api_key`, alike.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from gateway.common import ApiError, call

MAX_LIMIT = 500


def api_key_of(request: Request) -> str:
    """The key the request carries, or ""."""
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key", "").strip()


async def partner_of(request: Request) -> dict[str, Any]:
    """The active partner whose key the request carries; `invalid_api_key` otherwise."""
    key = api_key_of(request)
    if not key or len(key) > 200:
        raise ApiError("invalid_api_key")
    partner: dict[str, Any] = await call(request, "identity", "partner_authenticate", {"api_key": key})
    return partner


def _whole(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():
        raise ApiError("invalid_input", f"{name} must be a whole number")
    return min(max(int(raw), low), high)


async def feed(request: Request) -> JSONResponse:
    """
    summary: The integration events after a position (for partners that poll)
    description: >
      CloudEvents 1.0 of requests the partner's scope lets it see (its unit's, or all), oldest
      first. `next` is the `after` of the next page. Delivery is at-least-once across the feed,
      webhooks and RabbitMQ: de-duplicate by the event's `id`.
    parameters:
      - {name: after, in: query, required: false, schema: {type: integer, minimum: 0}}
      - {name: limit, in: query, required: false, schema: {type: integer, minimum: 1, maximum: 500}}
      - {name: Authorization, in: header, required: false, schema: {type: string}}
      - {name: X-Api-Key, in: header, required: false, schema: {type: string}}
    responses:
      200: {description: "{events: [{position, event}], next}"}
      401: {description: invalid_api_key (missing, unknown or revoked)}
      422: {description: after or limit not a whole number}
    """
    partner = await partner_of(request)
    after = _whole(request, "after", 0, 0, 2**62)
    limit = _whole(request, "limit", 100, 1, MAX_LIMIT)
    page = await call(
        request, "relay", "feed", {"after": after, "limit": limit, "unit": partner.get("unit", "")}
    )
    return JSONResponse(page)


routes: list[BaseRoute] = [Route("/api/feed", feed, methods=["GET"])]
schemas: dict[str, type[BaseModel]] = {}
