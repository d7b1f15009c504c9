"""Every AMQP client of the desk given a failover `AMQP_URI` (`;`-separated nodes) whose first
node does not answer: each reaches the node that does, and the gateways' client, having lost its
connection, tries the nodes again in turn and carries on. The whole desk on a real three-node
cluster, its nodes killed under load, is tests/cluster/test_rabbit_cluster.py."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import pytest
from nameko.containers import ServiceContainer

from gateway.async_rpc import AsyncRpc
from gateway.rpc import RpcPool, ServiceUnavailable
from infra.nameko_glue import PromptQueueConsumer
from services.relay.broker import Publisher
from tests.desk import free_port
from tests.integration.rpc_echo import Echo
from tests.integration.test_gateway_async_rpc import echo  # noqa: F401 - the fixture
from tests.rabbit import rabbit_available

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _rabbit() -> None:
    reason = rabbit_available()
    if reason is not None:
        pytest.fail(f"these tests need the machine's RabbitMQ: {reason}")


def _behind_a_dead_node(config: dict[str, Any]) -> dict[str, Any]:
    """The same broker, listed after a node nobody listens on."""
    live = config["AMQP_URI"]
    dead = live.replace(live.split("@", 1)[1].split("/", 1)[0], f"127.0.0.1:{free_port()}")
    return {**config, "AMQP_URI": f"{dead};{live}"}


def test_the_gateways_client_moves_past_a_dead_node_and_again_after_losing_its_own(
    echo: dict[str, Any],  # noqa: F811
) -> None:
    config = _behind_a_dead_node(echo)
    vhost = echo["AMQP_URI"].rsplit("/", 1)[1]

    async def work() -> tuple[Any, Any]:
        client = AsyncRpc(config, timeout=10, confirms=True)
        await client.start()
        try:
            first = await client.call("echo", "echo", "one")
            await asyncio.to_thread(
                subprocess.run,
                ["rabbitmqctl", "close_all_connections", "--vhost", vhost, "a test closes it"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            for _ in range(100):  # the service reconnects too
                try:
                    return first, await client.call("echo", "echo", "two")
                except ServiceUnavailable:
                    await asyncio.sleep(0.2)
            raise AssertionError("no answer after the connection was closed")
        finally:
            await client.stop()

    first, second = asyncio.run(work())
    assert (first["args"], second["args"]) == (["one"], ["two"])


def test_the_pooled_proxies_move_past_a_dead_node(echo: dict[str, Any]) -> None:  # noqa: F811
    pool = RpcPool(_behind_a_dead_node(echo), size=1, timeout=10, confirms=False)
    pool.start()
    try:
        assert pool.call("echo", "echo", "pooled")["args"] == ["pooled"]
    finally:
        pool.stop()


def test_a_services_consumer_moves_past_a_dead_node(echo: dict[str, Any]) -> None:  # noqa: F811
    container = ServiceContainer(Echo, _behind_a_dead_node(echo))
    [consumer] = [ext for ext in container.extensions if isinstance(ext, PromptQueueConsumer)]
    live = echo["AMQP_URI"].split("@", 1)[1].split("/", 1)[0]
    with consumer.establish_connection() as connection:
        assert connection.connected
        assert f"{connection.hostname}:{connection.port}" == live


def test_the_relay_publishes_past_a_dead_node(echo: dict[str, Any]) -> None:  # noqa: F811
    publisher = Publisher(_behind_a_dead_node(echo)["AMQP_URI"], exchange="pishkhan-failover-test")
    try:
        channel = publisher._open()  # connects through the second node and declares the exchange
        assert channel.is_open
    finally:
        publisher.close()
