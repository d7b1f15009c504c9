"""Publishing to RabbitMQ without waiting for the broker's confirmation, for RPC calls (the
gateways) and replies (the services). Where that is safe: a message lost on the way costs the
caller a time-out and an idempotent retry, as a lost confirmation would; the wait for the
confirmation was a round trip on every call.

Nor are these messages persistent: a call outlives a broker restart only to be answered into a
reply queue that died with the broker, while its caller has long had its error and retried. A
persistent message costs the broker a write to its message store (the services' call queues
are durable)."""

from __future__ import annotations

from typing import Any

from nameko.amqp.publish import Publisher
from nameko.constants import NON_PERSISTENT
from nameko.rpc import MethodProxy, ServiceProxy


class UnconfirmedPublisher(Publisher):  # type: ignore[misc]
    """Nameko's publisher with confirms off. Never mandatory either: without a confirmation an
    unroutable message cannot be told apart (nameko would warn on every call)."""

    use_confirms = False
    delivery_mode = NON_PERSISTENT

    def publish(self, payload: Any, **kwargs: Any) -> None:
        kwargs["mandatory"] = False
        super().publish(payload, **kwargs)


class _UnconfirmedMethodProxy(MethodProxy):  # type: ignore[misc]
    publisher_cls = UnconfirmedPublisher


class UnconfirmedServiceProxy(ServiceProxy):  # type: ignore[misc]
    """A service's methods, called through `UnconfirmedPublisher`: a call to a service that was
    never started (no queue bound) ends at the caller's time-out instead of `UnknownService`."""

    def __getattr__(self, name: str) -> Any:
        return _UnconfirmedMethodProxy(self.worker_ctx, self.service_name, name, self.reply_listener)
