"""A service that lost RabbitMQ tries it again 0.25, 0.5, 0.75 s, then every second: it consumes
again within about a second of the broker's return (kombu's own waits were 2, 4, 6 … s). No
broker here: the attempts go to ports nobody listens on, and kombu's sleeps are only recorded."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import kombu.exceptions
import kombu.utils.functional
import nameko.messaging
import pytest
from nameko.containers import ServiceContainer

from deploy.run import SERVICES
from infra.nameko_glue import PromptQueueConsumer, RpcProxy, rpc
from tests.desk import free_port

SHORT = [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
"""The waits before each new attempt, for six failed attempts."""


class Caller:
    """Built as the desk's services are: an RPC entrypoint, and a proxy to another service."""

    name = "caller"
    other = RpcProxy("other")

    @rpc
    def call(self) -> None:
        self.other.method()


def _dead(*ports: int) -> str:
    return ";".join(f"pyamqp://guest:guest@127.0.0.1:{port}/" for port in ports)


def _consumers(container: ServiceContainer) -> list[Any]:
    """The queue consumers of a service's container (which they only hold a weak reference to)."""
    return [ext for ext in container.extensions if isinstance(ext, nameko.messaging.QueueConsumer)]


def _container(service_cls: type, amqp_uri: str) -> ServiceContainer:
    """The service's container, as `nameko run` builds it, not started."""
    return ServiceContainer(service_cls, {"AMQP_URI": amqp_uri})


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """kombu's sleeps between attempts, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(kombu.utils.functional, "sleep", slept.append)
    yield slept


def _attempts(consumer: Any, retries: int) -> list[tuple[int, float]]:
    """Let `consumer` try a dead broker `retries + 1` times: for each attempt but the last, the
    port it went to and the wait before the next (what nameko logs as "Retrying in … seconds")."""
    tried: list[tuple[int, float]] = []
    made: list[Any] = []
    create = consumer.create_connection

    def create_connection() -> Any:
        made.append(create())
        return made[-1]

    def on_connection_error(exc: Exception, interval: float) -> None:
        tried.append((made[-1].port, interval))

    consumer.create_connection = create_connection
    consumer.on_connection_error = on_connection_error
    consumer.connect_max_retries = retries
    with pytest.raises(kombu.exceptions.OperationalError), consumer.establish_connection():
        pass
    return tried


def test_the_services_consumer_tries_the_broker_again_within_a_second(sleeps: list[float]) -> None:
    port = free_port()
    container = _container(Caller, _dead(port))
    [consumer] = _consumers(container)
    assert isinstance(consumer, PromptQueueConsumer)

    tried = _attempts(consumer, retries=len(SHORT))

    assert tried == [(port, wait) for wait in SHORT]
    assert sum(sleeps) == pytest.approx(sum(SHORT))  # waited as announced, no more


def test_nameko_s_own_consumer_waited_2_4_6_seconds(sleeps: list[float]) -> None:
    """What `PromptQueueConsumer` replaces, through the same harness: the harness sees the waits."""
    port = free_port()
    container = _container(Caller, _dead(port))
    theirs = nameko.messaging.QueueConsumer().bind(container)

    assert [wait for _, wait in _attempts(theirs, retries=4)] == [2.0, 4.0, 6.0, 8.0]


def test_with_a_failover_list_each_attempt_goes_to_the_next_node_and_the_wait_follows_a_round(
    sleeps: list[float],
) -> None:
    first, second = free_port(), free_port()
    container = _container(Caller, _dead(first, second))
    [consumer] = _consumers(container)

    tried = _attempts(consumer, retries=6)

    assert tried == [(first, 0), (second, 0.25), (first, 0), (second, 0.5), (first, 0), (second, 0.75)]


@pytest.mark.parametrize("service", SERVICES)
def test_every_queue_of_every_service_is_consumed_by_the_prompt_consumer(service: str) -> None:
    """One consumer a service (its calls and its proxies' replies share it), and the prompt one: a
    nameko entrypoint or proxy used directly would bring its own, on kombu's schedule."""
    module = importlib.import_module(f"services.{service}.service")
    [service_cls] = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and getattr(cls, "name", None) == service
    ]

    container = _container(service_cls, _dead(free_port()))

    assert [type(consumer) for consumer in _consumers(container)] == [PromptQueueConsumer]
