"""Publishing integration events to RabbitMQ with pika, each confirmed by the broker.

The relay's pass publishes its batch here before its checkpoint moves (in the same database
transaction that records the webhook deliveries): a broker that refuses or goes away fails the
pass as a `TransientError`, which the projection runner retries without end, so no event is ever
skipped. A relay killed between the broker's confirm and the commit publishes the batch again
with the same `message_id` (the CloudEvent id): at-least-once, de-duplicated by id.

`AMQP_URI` may name several nodes of one cluster (`;`-separated): pika tries them in turn, and a
pass that lost its node opens the next connection on whichever answers first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.exceptions
from cloudevents.conversion import to_json
from cloudevents.http import CloudEvent

from contracts import integration as ie
from contracts.envelope import TransientError
from infra.amqp import broker_urls

log = logging.getLogger(__name__)
logging.getLogger("pika").setLevel(logging.WARNING)  # its INFO tells of every connection

CONTENT_TYPE = "application/cloudevents+json"


def pika_url(amqp_uri: str) -> str:
    """kombu's `pyamqp://…` (the services' setting) as pika's `amqp://…`."""
    parts = urlsplit(amqp_uri)
    scheme = "amqps" if parts.scheme in ("amqps", "pyamqps") else "amqp"
    return urlunsplit((scheme, *parts[1:]))


def body_of(event: ie.IntegrationEvent) -> bytes:
    """The CloudEvent in structured JSON mode, made by the CloudEvents SDK."""
    data = event.cloudevent().pop("data")
    made: bytes = to_json(CloudEvent(event.attributes(), data))
    return made


class Publisher:
    """One confirmed channel to the broker, opened when first needed and again after a failure."""

    def __init__(self, amqp_uri: str, exchange: str = ie.EXCHANGE) -> None:
        self.urls = [pika_url(url) for url in broker_urls(amqp_uri)]
        self._first = -1  # the node a connection tries first: the next one each time
        self.exchange = exchange
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: pika.adapters.blocking_connection.BlockingChannel | None = None

    def publish(self, events: Sequence[ie.IntegrationEvent]) -> None:
        """Publish `events` in order, each persistent and confirmed; a `TransientError` if the
        broker did not take every one of them."""
        if not events:
            return
        with self._lock:
            try:
                channel = self._open()
                for event in events:
                    channel.basic_publish(
                        exchange=self.exchange,
                        routing_key=event.type,
                        body=body_of(event),
                        properties=pika.BasicProperties(
                            content_type=CONTENT_TYPE,
                            delivery_mode=pika.DeliveryMode.Persistent,
                            message_id=event.id,
                            type=event.type,
                        ),
                    )
            except (pika.exceptions.AMQPError, OSError) as error:
                self._close()
                raise TransientError(
                    f"the broker did not confirm: {type(error).__name__}: {error}"
                ) from error

    def _open(self) -> pika.adapters.blocking_connection.BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._close()
        self._connection = pika.BlockingConnection(self._parameters())
        channel = self._connection.channel()
        channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def _parameters(self) -> list[pika.URLParameters]:
        """Every node, each tried once, starting with the one after the node used last."""
        self._first = (self._first + 1) % len(self.urls)
        ordered = self.urls[self._first :] + self.urls[: self._first]
        parameters = [pika.URLParameters(url) for url in ordered]
        for each in parameters:
            each.heartbeat = 0  # the relay publishes between long waits on the store
            each.blocked_connection_timeout = 30  # a broker out of memory or disk: retry, not hang
            each.connection_attempts = 1
            each.socket_timeout = 5
        return parameters

    def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:
                log.debug("closing a broken broker connection failed", exc_info=True)

    def close(self) -> None:
        """Close the connection (the service stopping)."""
        with self._lock:
            self._close()
