"""A service's RPC reply: written once, straight on a producer's channel, as nameko would send it;
an unserialisable result and a broker error still go nameko's way."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import kombu.serialization
import pytest
from nameko.rpc import get_rpc_exchange

from infra import nameko_glue


class _Message:
    properties = {"content_type": "application/json", "reply_to": "rpc.reply-x", "correlation_id": "c-1"}


class _Channel:
    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.sent: list[dict[str, Any]] = []

    def prepare_message(
        self, body: bytes, priority: int, content_type: str, encoding: str, headers: Any, props: Any
    ) -> Any:
        return {
            "body": body,
            "priority": priority,
            "type": content_type,
            "encoding": encoding,
            "headers": headers,
            **props,
        }

    def basic_publish(
        self, message: dict[str, Any], *, exchange: str, routing_key: str, mandatory: bool
    ) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(
            {**message, "exchange": exchange, "routing_key": routing_key, "mandatory": mandatory}
        )


class _Pool:
    def __init__(self, channel: _Channel) -> None:
        self.channel = channel

    @contextlib.contextmanager
    def acquire(self, block: bool) -> Iterator[Any]:
        yield self


class _Publisher:
    """nameko's way, recorded."""

    published: list[dict[str, Any]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def publish(self, payload: Any, **kwargs: Any) -> None:
        _Publisher.published.append({"payload": payload, **kwargs})


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> _Channel:
    made = _Channel()
    monkeypatch.setattr(nameko_glue, "reply_producers", lambda *args: _Pool(made))
    monkeypatch.setattr(nameko_glue._Responder, "publisher_cls", _Publisher)
    _Publisher.published = []
    return made


def _responder() -> Any:
    return nameko_glue._Responder("pyamqp://guest:guest@nowhere//", get_rpc_exchange({}), "json", _Message())


def test_a_reply_is_written_once_as_nameko_writes_it(channel: _Channel) -> None:
    result = {"ok": True, "result": {"at": dt.datetime(2026, 12, 7, 1, 2, 3, tzinfo=dt.UTC)}}
    assert _responder().send_response(result, None) == (result, None)
    (sent,) = channel.sent
    _, _, nameko_body = kombu.serialization.dumps({"result": result, "error": None}, "json")  # type: ignore[no-untyped-call]
    assert sent.pop("body") == nameko_body.encode()  # kombu's JSON, as nameko's publisher makes it
    assert sent == {
        "priority": 0,
        "type": "application/json",
        "encoding": "utf-8",
        "headers": {},
        "delivery_mode": 1,
        "correlation_id": "c-1",
        "exchange": "nameko-rpc",
        "routing_key": "rpc.reply-x",
        "mandatory": False,
    }
    assert _Publisher.published == []


def test_an_exception_is_replied_as_nameko_serialises_it(channel: _Channel) -> None:
    try:
        raise ValueError("broken on purpose")
    except ValueError as error:
        exc_info = (type(error), error, error.__traceback__)
    _responder().send_response(None, exc_info)
    (sent,) = channel.sent
    answered = json.loads(sent["body"])["error"]
    assert (answered["exc_type"], answered["value"]) == ("ValueError", "broken on purpose")


def test_an_unserialisable_result_goes_nameko_s_way(channel: _Channel) -> None:
    result, exc_info = _responder().send_response({"odd": object()}, None)
    assert channel.sent == []
    (published,) = _Publisher.published
    assert published["payload"]["error"]["exc_type"] == "UnserializableValueError"
    assert result is None and exc_info is not None


def test_a_broker_error_sends_the_reply_nameko_s_way(channel: _Channel) -> None:
    channel.fail = ConnectionResetError("the broker went away")
    _responder().send_response({"ok": True}, None)
    assert channel.sent == []
    (published,) = _Publisher.published
    assert published["payload"] == {"result": {"ok": True}, "error": None}
    assert published["routing_key"] == "rpc.reply-x" and published["correlation_id"] == "c-1"
