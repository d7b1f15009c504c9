"""`gateway.rpc.RpcPool` against the machine's RabbitMQ: what a call to a service that is not
there answers, with and without publisher confirms; calls and replies are transient."""

from __future__ import annotations

import time

import kombu
import pytest
from nameko.constants import NON_PERSISTENT

from gateway.rpc import RpcPool, ServiceUnavailable
from infra.amqp import UnconfirmedPublisher
from tests.rabbit import rabbit_available, scratch_vhost

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _rabbit() -> None:
    reason = rabbit_available()
    if reason is not None:
        pytest.fail(f"these tests need the machine's RabbitMQ: {reason}")


def _call_nobody(confirms: bool, timeout: float) -> tuple[str, float]:
    with scratch_vhost() as amqp_uri:
        config = {"AMQP_URI": amqp_uri, "rpc_exchange": "nameko-rpc"}
        pool = RpcPool(config, size=1, timeout=timeout, confirms=confirms)
        pool.start()
        try:
            started = time.monotonic()
            with pytest.raises(ServiceUnavailable) as raised:
                pool.call("nobody", "anything")
            return str(raised.value), time.monotonic() - started
        finally:
            pool.stop()


def test_with_confirms_a_service_never_started_is_reported_at_once() -> None:
    reason, took = _call_nobody(confirms=True, timeout=5)
    assert "UnknownService" in reason and took < 3


def test_without_confirms_the_same_call_ends_at_its_timeout_not_in_a_hang() -> None:
    reason, took = _call_nobody(confirms=False, timeout=1.5)
    assert "RpcTimeout" in reason and 1.4 <= took < 5


def test_calls_and_replies_are_not_persisted_by_the_broker() -> None:
    with scratch_vhost() as amqp_uri, kombu.Connection(amqp_uri) as connection:
        queue = kombu.Queue(
            "rpc-someone", exchange=kombu.Exchange("nameko-rpc", type="topic"), routing_key="x"
        )
        queue(connection.default_channel).declare()
        UnconfirmedPublisher(amqp_uri).publish({"args": []}, exchange=queue.exchange, routing_key="x")
        UnconfirmedPublisher(amqp_uri).publish({"args": []}, exchange=queue.exchange, routing_key="x")
        for _ in range(2):
            message = _next_message(queue(connection.default_channel))
            assert message is not None and message.properties["delivery_mode"] == NON_PERSISTENT


def _next_message(queue: kombu.Queue, timeout: float = 5.0) -> kombu.Message | None:
    """The queue's next message, waiting for it: unconfirmed, a publish returns before the broker
    has routed it (an immediate get found the queue empty now and then)."""
    deadline = time.monotonic() + timeout
    while (message := queue.get(no_ack=True)) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return message
