"""A local test SMTP server (aiosmtpd) with a small HTTP side.

    GET /smtp      → {"host", "port"}: where the SMTP server listens (a free port, chosen at start)
    GET /messages  → every e-mail received: from, to, subject, message_id, text

The SMTP server starts and stops with the HTTP app, so deploy/run.py runs it like any simulator.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

HOST = "127.0.0.1"
RECEIVED: list[dict[str, Any]] = []


class Mailbox:
    """Keeps each e-mail it is given."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail = message_from_bytes(
            envelope.content if isinstance(envelope.content, bytes) else b"", policy=policy.default
        )
        body = mail.get_body(preferencelist=("plain",))
        RECEIVED.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": str(mail["Subject"] or ""),
                "message_id": str(mail["Message-ID"] or ""),
                "text": body.get_content() if body is not None else "",
            }
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    controller = Controller(Mailbox(), hostname=HOST, port=_free_port())
    controller.start()
    app.state.smtp_port = controller.port
    try:
        yield
    finally:
        controller.stop()


async def where(request: Request) -> JSONResponse:
    return JSONResponse({"host": HOST, "port": request.app.state.smtp_port})


async def messages(request: Request) -> JSONResponse:
    return JSONResponse({"messages": RECEIVED})


app = Starlette(routes=[Route("/smtp", where), Route("/messages", messages)], lifespan=lifespan)
