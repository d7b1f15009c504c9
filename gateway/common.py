"""What both gateways share: calling services, mapping their answers to HTTP, health, OpenAPI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from nameko.exceptions import RemoteError
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.schemas import SchemaGenerator
from starlette.staticfiles import StaticFiles

from contracts.errors import MESSAGES, DomainError
from contracts.rpc import COMMAND_FIELDS
from gateway.async_rpc import AsyncRpc
from gateway.body import NotJson, fingerprint, json_object
from gateway.rpc import ServiceUnavailable, amqp_config
from gateway.web.assets import font_routes
from gateway.web.datepicker import datepicker_routes
from infra.nameko_glue import invalid_payload
from infra.secret_files import made_once
from infra.settings import GatewaySettings

log = logging.getLogger(__name__)

SERVICES = ("identity", "requests", "secretariat", "notify", "survey", "relay")


class ApiError(Exception):
    """An error answered as `{"error": {"code", "message", "detail"}}`."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        self.code, self.detail = code, detail
        super().__init__(code)


def error_response(code: str, detail: str | None = None) -> JSONResponse:
    """The JSON error body with the code's HTTP status and Persian message."""
    if code not in MESSAGES:  # a service newer than this gateway: still a clean answer
        code, detail = "internal_error", code
    status, message = MESSAGES[code]
    return JSONResponse({"error": {"code": code, "message": message, "detail": detail}}, status_code=status)


async def call(request: Request, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call a service through the app's RPC client and unwrap its reply envelope."""
    client: AsyncRpc = request.app.state.rpc
    reply = await client.call(service, method, *args, **kwargs)
    if isinstance(reply, dict) and "ok" in reply:
        if reply["ok"]:
            return reply["result"]
        error = reply["error"]
        raise ApiError(error["code"], error.get("detail"))
    return reply


CACHED_FOR = GatewaySettings.load().GATEWAY_CACHE_SECONDS
"""How long a gateway keeps a slow-changing list (the catalogue's units and services)."""


async def call_cached(request: Request, service: str, method: str, *args: Any) -> Any:
    """`call` for lists that change rarely and may be a few seconds old on a page (the
    cartable's filter choices): kept per gateway process for `CACHED_FOR` seconds, so that a
    busy page costs its service one call instead of two."""
    cache: dict[tuple[Any, ...], tuple[float, Any]] = request.app.state.cache
    key = (service, method, *args)
    now = time.monotonic()
    kept = cache.get(key)
    if kept is not None and now - kept[0] < CACHED_FOR:
        return kept[1]
    value = await call(request, service, method, *args)
    cache[key] = (now, value)
    return value


async def payload(request: Request, model: type[BaseModel], **extra: Any) -> dict[str, Any]:
    """The JSON body validated by `model` (plus `extra` fields, which the gateway knows: the path's
    ids, the signed-in user), with the command id and fingerprint of the client's
    `Idempotency-Key`; `invalid_json` when the body is not one JSON object (see `gateway.body`),
    `invalid_input` when a field is wrong.

    A `command_id` or `fingerprint` in the body is ignored: a client never names a command's
    internal id (else anyone could ask for someone else's command and get its answer), only its
    key, scoped to the caller. A call made with a signed-in session cookie must carry the
    session's CSRF token in the `X-CSRF-Token` header."""
    _check_api_csrf(request)
    data = validated(model, {**await json_body(request), **extra})
    given = {key: value for key, value in data.items() if key not in extra and key not in COMMAND_FIELDS}
    return data | command_id(request, given)


async def json_body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The request's body as one JSON object, without the command's own fields (`command_id`,
    `fingerprint`: a client names its command by its key alone), or `invalid_json` (400). With
    `optional`, an empty body reads as `{}`."""
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    try:
        body = json_object(raw)
    except NotJson as error:
        raise ApiError("invalid_json", str(error)) from None
    return {key: value for key, value in body.items() if key not in COMMAND_FIELDS}


def command_id(request: Request, body: dict[str, Any], *, key: str | None = None) -> dict[str, str]:
    """The command id and fingerprint for the client's `Idempotency-Key` (or `key`, the key a page's
    form carries), when it sent one; else nothing, and each call is a new command (the service
    derives its ids from a fresh command id, which still makes an RPC redelivery harmless).

    The id is derived from the caller's scope and the key, so one key names a command of one
    caller; the fingerprint (`gateway.body.fingerprint` of the method, path and `body`: what the
    client chose, without what the gateway adds) goes with it, and the service that owns the
    command answers a repeat with other input `idempotency_key_reused` instead of the first
    answer."""
    from gateway.web.auth import current_user

    key = key if key is not None else request.headers.get("idempotency-key")
    if not key:
        return {}
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError("invalid_input", "Idempotency-Key: 8 to 100 letters, digits, '_' or '-'")
    user = current_user(request)
    return {
        "command_id": scoped_command_id(user.account_id if user else "", key),
        "fingerprint": fingerprint(request.method, request.url.path, body),
    }


IDEMPOTENCY_KEY = re.compile(r"[\w\-]{8,100}")


def scoped_command_id(account_id: str, key: str) -> str:
    """The command id of `key` sent by the account `account_id` ("" for a caller who is not signed
    in): derived from both, so the same key sent by two callers names two commands (else the
    second would be answered with the first's request id and tracking code). No account id is
    empty and no key holds ':', so no two scopes share an id."""
    return uuid.uuid5(uuid.NAMESPACE_OID, f"{account_id}:{key}").hex


def client_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema as a client sends it: without the command's own fields, which
    `payload` ignores in a body (the `Idempotency-Key` header names the command)."""
    schema = model.model_json_schema()
    for field in COMMAND_FIELDS:
        schema.get("properties", {}).pop(field, None)
    return schema


def _check_api_csrf(request: Request) -> None:
    from gateway.web.auth import current_user
    from gateway.web.csrf import HEADER, csrf_valid

    if current_user(request) is not None and not csrf_valid(request, request.headers.get(HEADER)):
        raise ApiError("csrf_failed")


async def form_data(request: Request) -> dict[str, str]:
    """A posted form's text fields, after checking its CSRF token (every form carries one)."""
    from gateway.web.csrf import FORM_FIELD, csrf_valid

    form = await request.form()
    if not csrf_valid(request, str(form.get(FORM_FIELD) or "")):
        raise ApiError("csrf_failed")
    return {key: value for key, value in form.items() if isinstance(value, str)}


def validated(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """`data` checked and normalised by `model`, or an `ApiError` naming the first bad field."""
    try:
        return model.model_validate(data).model_dump()
    except ValidationError as error:
        domain = invalid_payload(error)
        raise ApiError(domain.code, domain.detail) from None


async def healthz(request: Request) -> JSONResponse:
    """
    summary: Whether every service answers and every read model is whole
    description: >
      Each service answers its `health` RPC with the events its projections parked (gave up on).
      A parked event is an incident: a read model is missing what the store holds, so the desk is
      `degraded` while any is parked, naming each projection and its count (`pishkhan parked`
      shows them, retries or skips them).
    responses:
      200: {description: every service answered and no event is parked}
      503: {description: a service did not answer, or a projection parked events}
    """
    client: AsyncRpc = request.app.state.health_rpc

    async def health(service: str) -> tuple[str, str, dict[str, int]]:
        try:
            answer = await client.call(service, "health")
            parked = {str(k): int(v) for k, v in dict(answer.get("parked") or {}).items()}
        except Exception as error:  # noqa: BLE001 - any failure is reported, not raised
            return service, f"unavailable: {type(error).__name__}", {}
        return service, "degraded: parked events" if parked else "ok", parked

    answers = await asyncio.gather(*(health(s) for s in SERVICES))
    results = {service: state for service, state, _ in answers}
    parked = {projection: count for _, _, found in answers for projection, count in sorted(found.items())}
    healthy = all(v == "ok" for v in results.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", "services": results, "parked": parked},
        status_code=200 if healthy else 503,
    )


def session_secret() -> str:
    """`SESSION_SECRET`, else a random secret kept in `var/session-secret` (made once)."""
    settings = GatewaySettings.load()
    if settings.SESSION_SECRET.get_secret_value():
        return settings.SESSION_SECRET.get_secret_value()
    return made_once(settings.PISHKHAN_VAR, "session-secret")


def wants_html(request: Request) -> bool:
    """Pages get Persian HTML errors; the JSON API gets JSON."""
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/healthz", "/openapi.json"))


def build_app(
    title: str,
    routes: Sequence[BaseRoute],
    schemas: dict[str, type[BaseModel]],
    *,
    name: str,
    templates: Path | None = None,
) -> Starlette:
    """A gateway app with health, OpenAPI, sessions, pages, the RPC pools in its lifespan and
    one error table."""
    from gateway.web.auth import SessionUser, sign_out
    from gateway.web.templates import make_templates, render

    generator = SchemaGenerator({"openapi": "3.0.3", "info": {"title": title, "version": "1.0"}})

    async def openapi(request: Request) -> Response:
        """
        summary: This API's OpenAPI document
        responses:
          200: {description: the document}
        """
        document = generator.get_schema(routes=request.app.routes)
        document["components"] = {"schemas": {name: client_schema(model) for name, model in schemas.items()}}
        return JSONResponse(document)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.rpc = AsyncRpc(amqp_config(), timeout=15, confirms=False)
        app.state.health_rpc = AsyncRpc(amqp_config(), timeout=3, confirms=True)
        await app.state.rpc.start()
        await app.state.health_rpc.start()
        try:
            yield
        finally:
            await app.state.rpc.stop()
            await app.state.health_rpc.stop()

    def answer(request: Request, code: str, detail: Any = None, status: int | None = None) -> Response:
        if wants_html(request):
            if code not in MESSAGES:
                code, detail = "internal_error", code
            return render(
                request,
                "error.html",
                {"code": code, "message": MESSAGES[code][1]},
                status_code=status or MESSAGES[code][0],
            )
        response = error_response(code, detail)
        if status is not None:
            response.status_code = status
        return response

    async def on_api_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        if error.code == "not_signed_in" and wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return answer(request, error.code, error.detail)

    async def on_domain_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, DomainError)
        return answer(request, error.code, error.detail)

    async def on_unavailable(request: Request, error: Exception) -> Response:
        log.warning("service unavailable: %s", error)
        return answer(request, "service_unavailable")

    async def on_http(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 404:
            code = "page_not_found" if wants_html(request) else "request_not_found"
        else:
            code = "invalid_input"
        return answer(request, code, error.detail, status=error.status_code)

    async def on_disconnect(request: Request, error: Exception) -> Response:
        # The client left before its body arrived (a phone losing signal mid-upload). Every
        # handler reads the body before it sends a command, so nothing was started; no one
        # reads the answer. Not a fault of the desk: no traceback, no 5xx.
        log.info("client left before its body arrived: %s %s", request.method, request.url.path)
        return answer(request, "client_disconnected")

    async def on_unexpected(request: Request, error: Exception) -> Response:
        log.error("unexpected error on %s", request.url.path, exc_info=error)
        detail = error.exc_type if isinstance(error, RemoteError) else None
        return answer(request, "internal_error", detail)

    async def logout(request: Request) -> Response:
        await form_data(request)
        sign_out(request)
        return RedirectResponse("/", status_code=303)

    handlers: dict[Any, Callable[[Request, Exception], Any]] = {
        ApiError: on_api_error,
        DomainError: on_domain_error,
        ServiceUnavailable: on_unavailable,
        HTTPException: on_http,
        ClientDisconnect: on_disconnect,
        Exception: on_unexpected,
    }
    all_routes = [
        *routes,
        Route("/logout", logout, methods=["POST"], include_in_schema=False),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
        *font_routes(),  # Vazirmatn from its npm package, inside /static: first
        *datepicker_routes(),  # the Jalali date picker's npm package, likewise
        Mount("/static", app=StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static"),
    ]
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=session_secret(),
            session_cookie=f"pishkhan_{name}",
            max_age=8 * 3600,
            same_site="lax",
            https_only=GatewaySettings.load().COOKIE_SECURE,
        ),
        Middleware(SessionUser),  # who the session's account is now, asked of identity once
    ]
    app = Starlette(routes=all_routes, lifespan=lifespan, exception_handlers=handlers, middleware=middleware)
    app.state.templates = make_templates(*([templates] if templates else []))
    app.state.cache = {}
    return app
