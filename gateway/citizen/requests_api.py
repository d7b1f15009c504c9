"""The citizen JSON API for requests: submit one, follow it by its tracking code."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from contracts.rpc import SubmitRequest
from gateway.common import ApiError, call, payload
from gateway.web.signin import client_address


async def submit_request(request: Request) -> JSONResponse:
    """
    summary: Submit a request (ثبت و ارسال)
    requestBody:
      content:
        application/json:
          schema: {$ref: '#/components/schemas/SubmitRequest'}
    responses:
      201: {description: "the request id and its tracking code (کد رهگیری)"}
      422: {description: "invalid input; error.code says which rule"}
    """
    body = await payload(request, SubmitRequest)
    result = await call(request, "requests", "submit", body)
    return JSONResponse(result, status_code=201)


async def track_request(request: Request) -> JSONResponse:
    """
    summary: Follow a request by its tracking code, with the applicant's national code
    description: >
      Failed look-ups are counted per client address (TRACK_ATTEMPTS, default 20 per 600 s).
      Past the limit this API, which cannot show a captcha, answers 429 track_limited until the
      oldest failure leaves the window; its Persian message points to the tracking page (/track),
      which lets citizens behind the same address (an office, a carrier's NAT) through with a captcha.
    parameters:
      - {name: tracking_code, in: path, required: true, schema: {type: string}}
      - {name: national_code, in: query, required: true, schema: {type: string}}
    responses:
      200: {description: "status, registration number, replies and SMS of the request"}
      404: {description: no request with this code and national code}
      422: {description: malformed or mistyped tracking code}
      429: {description: "track_limited: too many failed look-ups from this address (see above)"}
    """
    national_code = request.query_params.get("national_code", "")
    if not national_code:
        raise ApiError("invalid_national_code", "national_code is required")
    view = await call(
        request,
        "requests",
        "track",
        request.path_params["tracking_code"],
        national_code,
        client=client_address(request),
    )
    view["sms"] = [
        {"template": m["template"], "status": m["status"]}
        for m in await call(request, "notify", "messages", view["request_id"])
    ]
    return JSONResponse(view)


async def catalogue(request: Request) -> JSONResponse:
    """
    summary: The service catalogue (units, their services)
    responses:
      200: {description: "every unit with its services (service_id, service_type, name)"}
    """
    return JSONResponse({"units": await call(request, "requests", "catalogue")})


async def service_card(request: Request) -> JSONResponse:
    """
    summary: One service's card (شناسنامه خدمت) and its rules
    parameters:
      - {name: service_id, in: path, required: true, schema: {type: string, pattern: '^[0-9]{11}$'}}
    responses:
      200: {description: "the card: steps, cost, duration, FAQ, rules, documents, form, attachment rules"}
      404: {description: no such service (service_not_found)}
    """
    return JSONResponse(await call(request, "requests", "service_card", request.path_params["service_id"]))


routes = [
    Route("/api/catalogue", catalogue, methods=["GET"]),
    Route("/api/catalogue/{service_id}", service_card, methods=["GET"]),
    Route("/api/requests", submit_request, methods=["POST"]),
    Route("/api/requests/{tracking_code}", track_request, methods=["GET"]),
]
schemas = {"SubmitRequest": SubmitRequest}
