"""The gateways' RPC client: calls Nameko services over RabbitMQ from the event loop.

One AMQP connection and channel per client, one exclusive reply queue, and a future per call
waiting for the reply with its correlation id. A request handler awaits its call on the event
loop: no worker thread per call and no pool of connections (the thread hand-off and nameko's
standalone proxy were a third of the citizen gateway's CPU a submission).

The messages are nameko's own: a call is `{"args", "kwargs"}` published to the RPC exchange
with the routing key `service.method`, `reply_to` and `correlation_id`; the service answers
`{"result", "error"}` to the exchange with `reply_to` as the routing key. Both are encoded with
kombu's JSON, as nameko encodes them, so a reply decodes exactly as through a nameko proxy.

`confirms=True` publishes mandatory and waits for the broker's confirmation, so a call to a
service that was never started (no queue bound) fails at once; without, a call is one write
and a lost one ends at its time-out, as it does through `RpcPool` (see `infra.amqp`).
A connection lost with the broker fails the calls waiting on it at once (the gateway answers
503); the next call connects anew. `AMQP_URI` may name several nodes of one cluster (`;`-separated,
as kombu reads it): a connection tries them in turn, starting after the node it last lost, so a
client whose node died moves to the next one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

import aiormq
import aiormq.abc
import aiormq.exceptions
import kombu.utils.json
from nameko.exceptions import deserialize
from pamqp import commands as spec

from gateway.rpc import ServiceUnavailable
from infra.amqp import broker_urls

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/json"
CONNECT_TIMEOUT = 5.0
"""Seconds one node may take to accept a connection before the next one is tried."""
CONFIRMED_AFTER_LOSS = 30.0
"""Seconds a client without confirms publishes with them after it lost its connection."""

# The services' own JSON codec (kombu's, which nameko serialises with: datetimes, decimals and
# UUIDs survive the trip), typed here because kombu leaves it untyped.
dumps: Callable[[Any], str] = kombu.utils.json.dumps
loads: Callable[[str | bytes], Any] = kombu.utils.json.loads


def amqp_url(uri: str) -> str:
    """kombu's `pyamqp://` address as an `amqp://` one (the same broker and vhost)."""
    scheme, _, rest = uri.partition("://")
    return f"amqp://{rest}" if scheme in ("pyamqp", "amqp", "librabbitmq") else uri


class _Link:
    """A live connection: its channel, reply queue and the calls awaiting a reply."""

    def __init__(
        self, connection: aiormq.abc.AbstractConnection, channel: aiormq.abc.AbstractChannel
    ) -> None:
        self.connection = connection
        self.channel = channel
        self.publisher = channel  # calls go out here; a fresh one after a call without answer
        self.reply_to = ""
        self.waiting: dict[str, asyncio.Future[bytes]] = {}

    @property
    def alive(self) -> bool:
        return not (self.connection.is_closed or self.channel.is_closed or self.publisher.is_closed)

    async def on_reply(self, message: aiormq.abc.DeliveredMessage) -> None:
        waiter = self.waiting.pop(message.header.properties.correlation_id or "", None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message.body)

    def fail_waiting(self, reason: str) -> None:
        for waiter in self.waiting.values():
            if not waiter.done():
                waiter.set_exception(ServiceUnavailable(reason))
        self.waiting.clear()


class AsyncRpc:
    """Calls `service.method(*args, **kwargs)` on the event loop; raises `ServiceUnavailable`
    when the broker or the service does not answer within `timeout` seconds, nameko's
    `RemoteError` (or the registered exception) when the service raised."""

    def __init__(self, config: dict[str, Any], *, timeout: float = 15.0, confirms: bool = True) -> None:
        self.urls = [amqp_url(url) for url in broker_urls(config["AMQP_URI"])]
        self._next_url = 0  # where the next connection starts: after the node last lost
        self.exchange = config.get("rpc_exchange", "nameko-rpc")
        self.timeout = timeout
        self.confirms = confirms
        self._link: _Link | None = None
        self._connecting = asyncio.Lock()
        self._renewals: set[asyncio.Task[None]] = set()
        self._lost = False  # a link was lost: the next one starts with confirmed publishing

    async def start(self) -> None:
        """Connect now (a gateway that cannot reach the broker fails at its start)."""
        await self._connected()

    async def stop(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.fail_waiting("the gateway is stopping")
            try:
                await link.connection.close()
            except Exception:
                log.debug("closing the RPC connection failed", exc_info=True)

    async def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        correlation_id = uuid.uuid4().hex
        body = dumps({"args": args, "kwargs": kwargs}).encode()
        where = f"{service}.{method}"
        link: _Link | None = None
        try:
            async with asyncio.timeout(self.timeout):
                link = await self._connected()
                reply = asyncio.get_running_loop().create_future()
                link.waiting[correlation_id] = reply
                await link.publisher.basic_publish(
                    body,
                    exchange=self.exchange,
                    routing_key=where,
                    mandatory=self.confirms,
                    properties=spec.Basic.Properties(
                        content_type=CONTENT_TYPE,
                        content_encoding="utf-8",
                        delivery_mode=1,
                        correlation_id=correlation_id,
                        reply_to=link.reply_to,
                    ),
                )
                answer = loads(await reply)
        except TimeoutError:
            self._renew_publisher(link)
            raise ServiceUnavailable(f"{where}: no answer in {self.timeout:g}s") from None
        except aiormq.exceptions.PublishError:
            raise ServiceUnavailable(f"{where}: no such service is running") from None
        except (aiormq.exceptions.AMQPError, ConnectionError, OSError, RuntimeError) as error:
            self._forget(link, f"{type(error).__name__}: {error}")
            raise ServiceUnavailable(f"{where}: {type(error).__name__}: {error}") from error
        finally:
            if link is not None:
                link.waiting.pop(correlation_id, None)
        if answer.get("error"):
            raise deserialize(answer["error"])
        return answer.get("result")

    def _renew_publisher(self, link: _Link | None) -> None:
        """Publish the next calls on a new channel (with the client's own confirms setting) of
        the same connection: after a call without answer, and when `_confirm_while_moving` ends.

        A channel keeps, per quorum queue, which node leads it. Without confirms it is never
        told when that leader dies, and RabbitMQ 3.10 then drops every call it publishes to the
        queue while the connection itself stays up (tests/cluster/test_rabbit_cluster.py). The
        replies of the calls still waiting keep coming in on the consuming channel."""
        if link is None or self._link is not link or link.connection.is_closed:
            return

        async def renew() -> None:
            try:
                fresh = await link.connection.channel(publisher_confirms=self.confirms)
                await fresh.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            except Exception:
                log.debug("a new publishing channel failed", exc_info=True)
                return
            stale, link.publisher = link.publisher, fresh
            if stale is not link.channel:
                try:
                    await stale.close()
                except Exception:
                    log.debug("closing a stale publishing channel failed", exc_info=True)

        task = asyncio.get_running_loop().create_task(renew())
        self._renewals.add(task)
        task.add_done_callback(self._renewals.discard)

    def _forget(self, link: _Link | None, reason: str) -> None:
        if link is not None and self._link is link:
            self._link = None
            self._lost = True
            link.fail_waiting(reason)

    async def _connected(self) -> _Link:
        link = self._link
        if link is not None and link.alive:
            return link
        async with self._connecting:
            if self._link is not None and self._link.alive:
                return self._link
            if self._link is not None:
                self._forget(self._link, "the connection to the broker was lost")
            self._link = await self._connect()
            if self._lost and not self.confirms:
                await self._confirm_while_moving(self._link)
            self._lost = False
            return self._link

    async def _confirm_while_moving(self, link: _Link) -> None:
        """Publish with confirms for `CONFIRMED_AFTER_LOSS` seconds after a lost connection.

        A node that died may have led the services' quorum queues; until their new leaders are
        known, RabbitMQ drops a call published on a fresh channel without confirms, and its
        caller waits out the time-out. A confirmed call waits for the new leader instead."""
        try:
            link.publisher = await link.connection.channel(publisher_confirms=True)
        except Exception:
            log.debug("a confirmed publishing channel failed", exc_info=True)
            return
        asyncio.get_running_loop().call_later(CONFIRMED_AFTER_LOSS, self._renew_publisher, link)

    async def _connect(self) -> _Link:
        """A link through the first node that answers, trying each once from `_next_url` on."""
        failures: list[str] = []
        for attempt in range(len(self.urls)):
            index = (self._next_url + attempt) % len(self.urls)
            try:
                link = await self._connect_to(self.urls[index])
            except (aiormq.exceptions.AMQPError, ConnectionError, OSError, TimeoutError) as error:
                failures.append(f"{type(error).__name__}: {error}")
                continue
            # Lost later, this node is tried last: its peers are likelier to be up.
            self._next_url = (index + 1) % len(self.urls)
            return link
        raise ConnectionError(f"no broker answered ({len(self.urls)} tried): {'; '.join(failures)}")

    async def _connect_to(self, url: str) -> _Link:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            connection = await aiormq.connect(url)
        try:
            channel = await connection.channel(publisher_confirms=self.confirms)
            link = _Link(connection, channel)
            await channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            routing_key = uuid.uuid4().hex
            declared = await channel.queue_declare(
                f"rpc.reply-gateway-{routing_key}", exclusive=True, auto_delete=True
            )
            await channel.queue_bind(declared.queue or "", self.exchange, routing_key=routing_key)
            await channel.basic_consume(declared.queue or "", link.on_reply, no_ack=True)
        except BaseException:
            await connection.close()
            raise
        link.reply_to = routing_key
        connection.closing.add_done_callback(
            lambda _: self._forget(link, "the connection to the broker closed")
        )
        return link
