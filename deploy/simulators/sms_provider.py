"""A stand-in SMS provider with two faces: a generic JSON gateway and Kavenegar's REST API.

Generic:    POST /messages {id, to, text} → {id, status}     POST /receipts {ids} → {receipts}
Kavenegar:  POST /v1/{API-KEY}/sms/send.json (receptor, sender, message, localid)
            POST /v1/{API-KEY}/sms/status.json (messageid=1,2,…)
            POST /v1/{API-KEY}/sms/statuslocalmessageid.json (localid=…)
Admin:      POST /admin/mode {fail: n, down: bool, slow: seconds, slow_to: {mobile: seconds},
                              blocked: [mobile…]}
            GET  /admin/messages (every message with how often it was handed over), POST /admin/reset

Both faces de-duplicate by the caller's id (`id` / `localid`): handing the same message over
again sends nothing and answers with the first result. A `blocked` number (seed 004: operators
block "promotional" messages for numbers that opted out) is accepted and then reported
undeliverable in its receipt, as Kavenegar does (status 14).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MOBILE = re.compile(r"^09\d{9}$")


@dataclass
class Mode:
    """What the provider does now: fail the next `fail` calls, be down, be slow (for every
    number, or for some: `slow_to`), block numbers."""

    fail: int = 0
    down: bool = False
    slow: float = 0.0
    slow_to: dict[str, float] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)


@dataclass
class Provider:
    """The simulator's whole state (one process, in memory)."""

    mode: Mode = field(default_factory=Mode)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # by provider id
    by_key: dict[str, str] = field(default_factory=dict)  # caller's id → provider id
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(700000001))

    async def accept(self, key: str, to: str, text: str, face: str) -> tuple[int, dict[str, Any] | str]:
        """(HTTP-like status, the stored message or an error word) for one hand-over."""
        slow = self.mode.slow_to.get(to, self.mode.slow)
        if slow:
            await asyncio.sleep(slow)
        if self.mode.down:
            return 503, "down"
        if self.mode.fail > 0:
            self.mode.fail -= 1
            return 503, "busy"
        if key in self.by_key:
            message = self.messages[self.by_key[key]]
            message["requests"] += 1
            return 200, message
        if not MOBILE.fullmatch(to):
            return 422, "invalid_recipient"
        provider_id = str(next(self.ids))
        message = {
            "provider_id": provider_id,
            "key": key,
            "to": to,
            "text": text,
            "face": face,
            "requests": 1,
            "blocked": to in self.mode.blocked,
            "at": datetime.now(UTC).isoformat(),
        }
        self.messages[provider_id] = message
        self.by_key[key] = provider_id
        return 200, message

    def receipt(self, provider_id: str) -> tuple[str, str]:
        """(status, reason) as the generic face reports it."""
        message = self.messages.get(provider_id)
        if message is None:
            return "failed", "unknown_id"
        return ("failed", "promotional_blocked") if message["blocked"] else ("delivered", "")


STATE = Provider()


async def generic_send(request: Request) -> JSONResponse:
    body = await request.json()
    status, result = await STATE.accept(
        str(body.get("id", "")), str(body.get("to", "")), str(body.get("text", "")), "http"
    )
    if isinstance(result, str):
        return JSONResponse({"error": result}, status_code=status)
    return JSONResponse({"id": result["provider_id"], "status": "accepted"})


async def generic_receipts(request: Request) -> JSONResponse:
    body = await request.json()
    receipts = {}
    for provider_id in body.get("ids", []):
        status, reason = STATE.receipt(str(provider_id))
        receipts[str(provider_id)] = {"status": status, "reason": reason}
    return JSONResponse({"receipts": receipts})


async def _params(request: Request) -> dict[str, str]:
    """Kavenegar takes its parameters in the query string or as a posted form."""
    form = await request.form()
    return {**request.query_params, **{k: v for k, v in form.items() if isinstance(v, str)}}


def _kavenegar(status: int, message: str, entries: list[dict[str, Any]] | None = None) -> JSONResponse:
    return JSONResponse(
        {"return": {"status": status, "message": message}, "entries": entries}, status_code=status
    )


def _entry(message: dict[str, Any], status: int, text: str) -> dict[str, Any]:
    return {
        "messageid": int(message["provider_id"]),
        "localid": message["key"],
        "message": message["text"],
        "status": status,
        "statustext": text,
        "sender": "10004346",
        "receptor": message["to"],
        "date": int(datetime.fromisoformat(message["at"]).timestamp()),
        "cost": 120,
    }


def _delivery(message: dict[str, Any]) -> tuple[int, str]:
    return (14, "فیلتر شده") if message["blocked"] else (10, "رسیده به گیرنده")


async def kavenegar_send(request: Request) -> Response:
    if not request.path_params["api_key"]:
        return _kavenegar(403, "کد شناسائی API-Key معتبر نمی‌باشد")
    form = await _params(request)
    receptor, text = str(form.get("receptor", "")), str(form.get("message", ""))
    if not text:
        return _kavenegar(413, "متن پیام خالی است")
    status, result = await STATE.accept(
        str(form.get("localid") or receptor + text), receptor, text, "kavenegar"
    )
    if status == 503 and result == "down":
        return Response("Service Unavailable", status_code=503)
    if status == 503:
        return _kavenegar(409, "سرور قادر به پاسخگوئی نیست بعدا تلاش کنید")
    if isinstance(result, str):
        return _kavenegar(411, "گیرنده نامعتبر است")
    return _kavenegar(200, "تایید شد", [_entry(result, 1, "در صف ارسال")])


async def kavenegar_status(request: Request) -> Response:
    form = await _params(request)
    entries = []
    for provider_id in str(form.get("messageid", "")).split(","):
        message = STATE.messages.get(provider_id.strip())
        if message is None:
            entries.append({"messageid": provider_id, "status": 100, "statustext": "شناسه پیامک نامعتبر است"})
        else:
            entries.append(_entry(message, *_delivery(message)))
    return _kavenegar(200, "تایید شد", entries)


async def kavenegar_status_by_localid(request: Request) -> Response:
    form = await _params(request)
    entries = []
    for key in str(form.get("localid", "")).split(","):
        provider_id = STATE.by_key.get(key.strip())
        if provider_id is None:
            entries.append({"messageid": 0, "localid": key, "status": 100, "statustext": "نامعتبر"})
        else:
            entries.append(_entry(STATE.messages[provider_id], *_delivery(STATE.messages[provider_id])))
    return _kavenegar(200, "تایید شد", entries)


async def admin_mode(request: Request) -> JSONResponse:
    body = await request.json()
    mode = STATE.mode
    mode.fail = int(body.get("fail", mode.fail))
    mode.down = bool(body.get("down", mode.down))
    mode.slow = float(body.get("slow", mode.slow))
    mode.slow_to = {str(to): float(seconds) for to, seconds in body.get("slow_to", mode.slow_to).items()}
    mode.blocked = set(body.get("blocked", mode.blocked))
    return JSONResponse(
        {
            "fail": mode.fail,
            "down": mode.down,
            "slow": mode.slow,
            "slow_to": mode.slow_to,
            "blocked": sorted(mode.blocked),
        }
    )


async def admin_messages(request: Request) -> JSONResponse:
    return JSONResponse({"messages": list(STATE.messages.values())})


async def admin_reset(request: Request) -> JSONResponse:
    global STATE
    STATE = Provider()
    return JSONResponse({"reset": True})


app = Starlette(
    routes=[
        Route("/messages", generic_send, methods=["POST"]),
        Route("/receipts", generic_receipts, methods=["POST"]),
        Route("/v1/{api_key:path}/sms/send.json", kavenegar_send, methods=["POST", "GET"]),
        Route("/v1/{api_key:path}/sms/status.json", kavenegar_status, methods=["POST", "GET"]),
        Route(
            "/v1/{api_key:path}/sms/statuslocalmessageid.json",
            kavenegar_status_by_localid,
            methods=["POST", "GET"],
        ),
        Route("/admin/mode", admin_mode, methods=["POST"]),
        Route("/admin/messages", admin_messages, methods=["GET"]),
        Route("/admin/reset", admin_reset, methods=["POST"]),
    ]
)
