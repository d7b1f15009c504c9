"""`gateway.rpc.RpcPool` against the machine's RabbitMQ: what a call to a service that is not
there answers, with and without publisher confirms."""

from __future__ import annotations

import time

import pytest

from gateway.rpc import RpcPool, ServiceUnavailable
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
