"""Publishing to RabbitMQ without waiting for the broker's confirmation, for RPC calls (the
gateways) and replies (the services). Where that is safe: a message lost on the way costs the
caller a time-out and an idempotent retry, as a lost confirmation would; the wait for the
confirmation was a round trip on every call.

Nor are these messages persistent: a call outlives a broker restart only to be answered into a
reply queue that died with the broker, while its caller has long had its error and retried. A
persistent message costs the broker a write to its message store (the services' call queues
are durable)."""

from __future__ import annotations

import select
from typing import Any

from kombu.connection import Connection
from kombu.pools import producers
from nameko.amqp.publish import Publisher
from nameko.constants import NON_PERSISTENT
from nameko.rpc import MethodProxy, ServiceProxy

FAILOVER_SEPARATOR = ";"

RECONNECT: dict[str, float] = {"interval_start": 0.25, "interval_step": 0.25, "interval_max": 1.0}
"""How a consumer that lost the broker waits between its attempts to reach it again (kombu's
`ensure_connection`): 0.25, 0.5, 0.75 s, then 1 s apart, so a service consumes again within
about a second of the broker's return. kombu's own waits, 2, 4, 6 … up to 30 s, kept services
away from a restarted broker for up to 6 s after it was back. With a failover list the nodes are
tried in turn and the wait comes after each round."""


def broker_urls(amqp_uri: str) -> list[str]:
    """The brokers of an `AMQP_URI`, in order: one URL, or several separated by `;` (kombu's
    failover list: the nodes of one RabbitMQ cluster). A client connects to the first that
    answers and, when it loses its node, to the next. Blanks around each URL are dropped."""
    urls = [url.strip() for url in amqp_uri.split(FAILOVER_SEPARATOR)]
    found = [url for url in urls if url]
    if not found:
        raise ValueError("AMQP_URI names no broker")
    return found


_POOLS: dict[tuple[str, str, Any], Any] = {}
"""kombu `ProducerPool`s by broker address and credentials."""


def _producers(amqp_uri: str, ssl: Any, login_method: Any, transport_options: dict[str, Any]) -> Any:
    """kombu's producer pool for the broker, found once: nameko builds a `Connection` and looks
    its pool up for every message (~100 µs of the ~270 a publish took)."""
    key = (amqp_uri, repr(ssl), login_method)
    pool = _POOLS.get(key)
    if pool is None:
        options = {**transport_options, "confirm_publish": False}
        connection = Connection(  # type: ignore[no-untyped-call]
            amqp_uri, transport_options=options, ssl=ssl, login_method=login_method
        )
        pool = _POOLS.setdefault(key, producers[connection])
    return pool


class UnconfirmedPublisher(Publisher):  # type: ignore[misc]
    """Nameko's publisher with confirms off. Never mandatory either: without a confirmation an
    unroutable message cannot be told apart (nameko would warn on every call)."""

    use_confirms = False
    delivery_mode = NON_PERSISTENT

    def publish(self, payload: Any, **kwargs: Any) -> None:
        """As nameko's `Publisher.publish` does, less what confirms off makes moot."""
        options = dict(self.publish_kwargs)
        headers = {
            **options.pop("headers", {}),
            **kwargs.pop("headers", {}),
            **kwargs.pop("extra_headers", {}),
        }
        for moot in ("use_confirms", "mandatory", "transport_options"):
            kwargs.pop(moot, None)
        settings = {
            name: kwargs.pop(name, getattr(self, name))
            for name in (
                "delivery_mode",
                "priority",
                "expiration",
                "serializer",
                "compression",
                "retry",
                "retry_policy",
            )
        }
        declare = [*self.declare, *kwargs.pop("declare", ())]
        with _producers(self.amqp_uri, self.ssl, self.login_method, self.transport_options).acquire(
            block=True
        ) as producer:
            revive_if_lost(producer)
            producer.publish(
                payload, headers=headers, mandatory=False, declare=declare, **settings, **options, **kwargs
            )


def revive_if_lost(producer: Any) -> None:
    """Reconnect a pooled producer whose broker went away (to the next node of a failover list).

    A producer never reads, so a connection whose node was killed goes unnoticed: the first
    message written to it is lost without an error (the kernel takes the write; the reset
    comes after), and its caller waits out its time-out. The broker sends nothing unasked on
    a connection without heartbeats, so anything to read (end of stream, a close) means it is
    gone: one `select` without waiting tells."""
    connection: Any = getattr(producer, "connection", None)
    sock = getattr(getattr(connection, "_connection", None), "sock", None)
    if connection is None or sock is None:
        return
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):  # closed under us
        readable = [sock]
    if readable:
        connection.collect()
        producer.revive(connection.default_channel)


class _UnconfirmedMethodProxy(MethodProxy):  # type: ignore[misc]
    publisher_cls = UnconfirmedPublisher


class UnconfirmedServiceProxy(ServiceProxy):  # type: ignore[misc]
    """A service's methods, called through `UnconfirmedPublisher`: a call to a service that was
    never started (no queue bound) ends at the caller's time-out instead of `UnknownService`."""

    def __getattr__(self, name: str) -> Any:
        return _UnconfirmedMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener)
