"""What the fault tests found: a database that is away is answered "try again later", not as an
internal error; a reply lost with the broker does not end the service's process."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import kombu.exceptions
import pytest
import sqlalchemy as sa
from nameko.constants import NON_PERSISTENT

from infra import amqp, nameko_glue
from infra.nameko_glue import Rpc, replies


def test_a_transient_database_failure_is_answered_as_service_unavailable() -> None:
    @replies
    def submit() -> dict[str, Any]:
        raise sa.exc.OperationalError("INSERT …", {}, ConnectionRefusedError("connection refused"))

    assert submit()["error"]["code"] == "service_unavailable"


class _Consumer:
    """The entrypoint's RPC consumer: records which requests were acknowledged."""

    def __init__(self) -> None:
        self.acked: list[object] = []
        self.queue_consumer = SimpleNamespace(ack_message=self.acked.append)


def _entrypoint(consumer: _Consumer) -> Rpc:
    entrypoint = Rpc()
    entrypoint.method_name = "submit"
    entrypoint.rpc_consumer = consumer
    entrypoint.container = SimpleNamespace(config={"AMQP_URI": "pyamqp://guest:guest@127.0.0.1:1//"})
    return entrypoint


def test_a_reply_lost_with_the_broker_does_not_end_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    def broker_gone(self: object, result: object, exc_info: object) -> tuple[object, object]:
        raise kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")

    monkeypatch.setattr(nameko_glue._Responder, "send_response", broker_gone)
    consumer, request = _Consumer(), object()
    assert _entrypoint(consumer).handle_result(request, None, {"ok": True}, None) == ({"ok": True}, None)
    assert consumer.acked == []  # unacknowledged: the broker hands the request over again


class _Producers:
    """kombu's producer pools, as the publisher finds them: records each connection asked for and
    what its producer is given to publish."""

    def __init__(self) -> None:
        self.connections: list[Any] = []
        self.published: list[dict[str, Any]] = []

    def __getitem__(self, connection: Any) -> Any:
        self.connections.append(connection)
        return self

    @contextlib.contextmanager
    def acquire(self, block: bool) -> Iterator[Any]:
        yield SimpleNamespace(channel=SimpleNamespace(prepare_message=_message, basic_publish=self._publish))

    def _publish(self, message: dict[str, Any], *, exchange: str, routing_key: str, mandatory: bool) -> None:
        self.published.append({**message, "routing_key": routing_key, "mandatory": mandatory})


def _message(
    body: bytes, priority: int, content_type: str, encoding: str, headers: Any, properties: dict[str, Any]
) -> dict[str, Any]:
    """The message the channel is given, as kombu's channel prepares it (its body decoded back)."""
    return {"payload": json.loads(body.decode(encoding)), **properties}


def test_a_reply_is_sent_without_waiting_for_a_confirmation_then_the_request_is_acknowledged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pools = _Producers()
    monkeypatch.setattr(amqp, "producers", pools)
    monkeypatch.setattr(amqp, "_POOLS", {})
    consumer, request = (
        _Consumer(),
        SimpleNamespace(
            properties={"content_type": "application/json", "reply_to": "reply-q", "correlation_id": "c1"}
        ),
    )
    assert _entrypoint(consumer).handle_result(request, None, {"ok": True}, None) == ({"ok": True}, None)
    assert [c.transport_options["confirm_publish"] for c in pools.connections] == [False]
    assert [
        (p["payload"], p["routing_key"], p["mandatory"], p["delivery_mode"]) for p in pools.published
    ] == [({"result": {"ok": True}, "error": None}, "reply-q", False, NON_PERSISTENT)]
    assert _entrypoint(consumer).handle_result(request, None, {"ok": True}, None) == ({"ok": True}, None)
    assert len(pools.connections) == 1 and len(pools.published) == 2  # the pool found once
    assert consumer.acked == [request, request]
