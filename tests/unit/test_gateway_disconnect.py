"""A client that leaves before its request's body arrives (a phone losing signal mid-upload, a
load generator exiting) is logged as one INFO line and answered 400 `client_disconnected`, on
every gateway: not an ERROR with a traceback and a 500, which would read as a fault of the desk."""

from __future__ import annotations

import asyncio
import logging

import pytest
from starlette.applications import Starlette
from starlette.types import Message, Scope

from contracts.errors import MESSAGES
from gateway.backoffice import app as backoffice
from gateway.citizen import app as citizen


def _left_before_the_body(
    app: Starlette, path: str, content_type: str
) -> tuple[list[Message], BaseException | None]:
    """POST `path` to `app` with a client that disconnects before sending a byte of its body:
    what the app sent, and what it raised (None when it handled the disconnect itself)."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"desk.test"),
            (b"content-type", content_type.encode()),
            (b"content-length", b"512"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("desk.test", 80),
        "state": {},
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> BaseException | None:
        try:
            await app(scope, receive, send)
        except Exception as raised:  # noqa: BLE001 - the old handling raised it again after its 500
            return raised
        return None

    return sent, asyncio.run(run())


@pytest.mark.parametrize(
    ("app", "path", "content_type"),
    [
        (citizen.app, "/api/requests", "application/json"),  # the submission, JSON
        (citizen.app, "/open311/v2/requests.json", "application/x-www-form-urlencoded"),  # a partner's
        (backoffice.app, "/logout", "application/x-www-form-urlencoded"),  # a page's form
    ],
    ids=["citizen-api", "open311", "backoffice-form"],
)
def test_a_client_gone_before_its_body_is_one_info_line_and_a_400(
    app: Starlette, path: str, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway")
    sent, raised = _left_before_the_body(app, path, content_type)

    (start,) = [message for message in sent if message["type"] == "http.response.start"]
    assert start["status"] == MESSAGES["client_disconnected"][0] == 400
    assert raised is None  # handled: the server logs no "Exception in ASGI application" either
    (record,) = [r for r in caplog.records if r.name == "gateway.common"]
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == f"client left before its body arrived: POST {path}"
