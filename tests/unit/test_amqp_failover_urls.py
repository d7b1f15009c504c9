"""`AMQP_URI` may name every node of a RabbitMQ cluster (kombu's `;`-separated failover list):
each AMQP client of the desk reads the same list the same way."""

from __future__ import annotations

import logging
import socket
from types import SimpleNamespace

import kombu
import pytest

from gateway.async_rpc import AsyncRpc
from infra.amqp import broker_urls, revive_if_lost
from infra.nameko_glue import _HidePasswords
from services.relay.broker import Publisher

NODES = ";".join(f"pyamqp://u:p@rabbit-{n}:5672/pishkhan" for n in range(3))


def test_one_url_is_a_list_of_one() -> None:
    assert broker_urls("pyamqp://guest:guest@127.0.0.1:5672/") == ["pyamqp://guest:guest@127.0.0.1:5672/"]


def test_several_urls_are_split_in_order() -> None:
    assert broker_urls(NODES) == [f"pyamqp://u:p@rabbit-{n}:5672/pishkhan" for n in range(3)]
    assert broker_urls(f" {NODES.replace(';', ' ; ')} ;") == broker_urls(NODES)  # blanks dropped


@pytest.mark.parametrize("empty", ["", " ", ";", " ; ;"])
def test_a_list_without_a_url_is_refused(empty: str) -> None:
    with pytest.raises(ValueError, match="no broker"):
        broker_urls(empty)


def test_kombu_reads_the_same_nodes_in_the_same_order() -> None:
    """The services (nameko) and the pooled proxies hand the whole setting to kombu."""
    connection = kombu.Connection(NODES)  # type: ignore[attr-defined,no-untyped-call]
    alternates = [kombu.Connection(a) for a in connection.alt]  # type: ignore[attr-defined,no-untyped-call]
    hosts = [a.hostname for a in alternates]
    assert hosts == ["rabbit-0", "rabbit-1", "rabbit-2"]


def test_the_gateways_client_knows_every_node() -> None:
    client = AsyncRpc({"AMQP_URI": NODES})
    assert client.urls == [f"amqp://u:p@rabbit-{n}:5672/pishkhan" for n in range(3)]


def test_the_relay_tries_every_node_starting_after_the_one_it_used_last() -> None:
    publisher = Publisher(NODES)
    firsts = [[p.host for p in publisher._parameters()] for _ in range(4)]
    assert firsts == [
        ["rabbit-0", "rabbit-1", "rabbit-2"],
        ["rabbit-1", "rabbit-2", "rabbit-0"],
        ["rabbit-2", "rabbit-0", "rabbit-1"],
        ["rabbit-0", "rabbit-1", "rabbit-2"],
    ]
    assert {p.virtual_host for p in publisher._parameters()} == {"pishkhan"}


def test_no_node_password_reaches_the_services_log() -> None:
    """nameko hides only the first node's password when it cannot connect."""
    message = (
        "Error connecting to broker at pyamqp://u:********@rabbit-0:5672/pishkhan;" + NODES.split(";", 1)[1]
    )
    record = logging.LogRecord("nameko.messaging", logging.WARNING, "", 0, message, None, None)
    assert _HidePasswords().filter(record)
    assert ":p@" not in record.getMessage()
    assert record.getMessage().count("u:********@") == 3


class _Connection:
    """kombu's `Connection` as `revive_if_lost` sees it: the socket, `collect`, a new channel."""

    def __init__(self, sock: socket.socket) -> None:
        self._connection = SimpleNamespace(sock=sock)
        self.collected = False
        self.default_channel = "a channel on the next node"

    def collect(self) -> None:
        self.collected = True


class _Producer:
    def __init__(self, connection: _Connection) -> None:
        self.connection = connection
        self.revived_on: object = None

    def revive(self, channel: object) -> None:
        self.revived_on = channel


def test_a_pooled_producer_whose_broker_went_away_reconnects_before_it_writes() -> None:
    ours, brokers = socket.socketpair()
    try:
        producer = _Producer(_Connection(ours))
        revive_if_lost(producer)
        assert (producer.connection.collected, producer.revived_on) == (False, None)  # alive: kept
        brokers.close()  # the node is killed: its end of the connection closes
        revive_if_lost(producer)
        assert producer.connection.collected
        assert producer.revived_on == "a channel on the next node"
    finally:
        ours.close()
