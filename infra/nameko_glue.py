"""Nameko dependency providers shared by every service, and the RPC reply wrapper."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import amqp.exceptions
import kombu.exceptions
import kombu.serialization
import nameko.exceptions
import nameko.extensions
import nameko.messaging
import nameko.rpc
import nameko.timer
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    NON_PERSISTENT,
    SERIALIZER_CONFIG_KEY,
)
from pydantic import ValidationError

from contracts.errors import DomainError
from contracts.eventstore import EventStore
from contracts.normalise import RefusedInput, refused
from contracts.rpc import ok
from infra.amqp import RECONNECT, UnconfirmedPublisher, revive_if_lost
from infra.amqp import _producers as amqp_producers
from infra.db import Database, is_sqlite, readmodel_url
from infra.eventstore import open_store, store_url
from infra.projections import TRANSIENT_ERRORS, Projection, ProjectionRunner, parked_counts
from infra.settings import CommonSettings

log = logging.getLogger(__name__)


class _HidePasswords(logging.Filter):
    """nameko hides the password of an `AMQP_URI`'s first node only when it cannot connect: with
    a cluster's failover list (`;`-separated nodes) it would print the other nodes' passwords."""

    PASSWORD = re.compile(r"(://[^:/@;\s]*:)[^@;\s]+@")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.PASSWORD.sub(r"\1********@", record.msg)
        return True


logging.getLogger("nameko.messaging").addFilter(_HidePasswords())


class PromptQueueConsumer(nameko.messaging.QueueConsumer):  # type: ignore[misc]
    """nameko's consumer of a service's queues (its calls, its proxies' replies: one connection),
    trying a lost broker again on `infra.amqp.RECONNECT`'s schedule instead of kombu's 2, 4, 6 …
    s: the gateways call again at once, so the services' consumers set the pace of a recovery.
    The failover list is kombu's as before: each attempt goes to the next node."""

    @contextlib.contextmanager
    def establish_connection(self) -> Iterator[Any]:
        """kombu's `ConsumerMixin.establish_connection`, with the waits between attempts."""
        with self.create_connection() as connection:
            connection.ensure_connection(self.on_connection_error, self.connect_max_retries, **RECONNECT)
            yield connection


class _RpcConsumer(nameko.rpc.RpcConsumer):  # type: ignore[misc]
    queue_consumer = PromptQueueConsumer()


class _ReplyListener(nameko.rpc.ReplyListener):  # type: ignore[misc]
    queue_consumer = PromptQueueConsumer()


class _RpcProxy(nameko.rpc.RpcProxy):  # type: ignore[misc]
    """Nameko's `RpcProxy`, its replies consumed by `PromptQueueConsumer`."""

    rpc_reply_listener = _ReplyListener()


P = ParamSpec("P")
R = TypeVar("R")

# Nameko has no types: what the services use of it is typed here, once, so that a service
# imports its providers and entrypoints from this module and needs no `type: ignore` of its own.
if TYPE_CHECKING:

    class DependencyProvider(nameko.extensions.DependencyProvider):  # type: ignore[misc]
        """Nameko's `DependencyProvider` with the hooks a provider overrides, so that an override
        is checked. An instance stands in the service class for what it injects (its base is
        untyped, so it may): the attribute says which (`files: AttachmentStore = Files()`)."""

        container: Any
        """The service's `ServiceContainer`: `service_name`, `config`, `spawn_managed_thread`."""

        def setup(self) -> None: ...
        def start(self) -> None: ...
        def stop(self) -> None: ...
        def kill(self) -> None: ...
        def get_dependency(self, worker_ctx: Any) -> Any: ...
        def worker_setup(self, worker_ctx: Any) -> None: ...
        def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None: ...
        def worker_teardown(self, worker_ctx: Any) -> None: ...

    class RpcProxy(DependencyProvider):
        """Nameko's `RpcProxy`: each worker gets a proxy whose methods call `target_service`'s.
        Only the caller knows which it uses: give the attribute a protocol of them."""

        def __init__(self, target_service: str, **options: Any) -> None: ...

else:
    DependencyProvider = nameko.extensions.DependencyProvider
    RpcProxy = _RpcProxy

if "eventlet" in sys.modules:
    from eventlet import patcher

    if patcher.is_monkey_patched("socket"):
        # psycopg2 would block the whole hub while waiting on PostgreSQL otherwise.
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()

_shared_lock = threading.Lock()
_stores: dict[str, EventStore] = {}
_databases: dict[str, Database] = {}


def shared_store() -> EventStore:
    """One store per process, however many providers ask for it."""
    url = store_url()
    with _shared_lock:
        if url not in _stores:
            _stores[url] = open_store(url)
        return _stores[url]


def shared_database(service: str) -> Database:
    """One read-model database per service and process."""
    url = readmodel_url(service)
    with _shared_lock:
        if url not in _databases:
            _databases[url] = Database(url)
        return _databases[url]


class Store(DependencyProvider):
    """Injects the event store."""

    def setup(self) -> None:
        self.store = shared_store()

    def get_dependency(self, worker_ctx: Any) -> EventStore:
        return self.store


SettingsT = TypeVar("SettingsT", bound=CommonSettings)


class Settings(DependencyProvider, Generic[SettingsT]):
    """Injects the service's settings (`settings = Settings(SecretariatSettings)`), read from the
    environment and checked when the service starts: a wrong value stops it at once with an
    error naming the variable, not the first call that needs it."""

    def __init__(self, kind: type[SettingsT]) -> None:
        self.kind = kind

    def setup(self) -> None:
        self.settings = self.kind.load()

    def get_dependency(self, worker_ctx: Any) -> SettingsT:
        return self.settings


STOP_GRACE = 10.0
"""Seconds a graceful stop waits for the projection runners to end their passes."""


class ReadModels(DependencyProvider):
    """Injects the service's read-model database and keeps its projections running.

    The projections run in one managed green thread per service instance, beside the RPC
    workers, and each projection in `apart` in a thread of its own (one that waits on
    providers must not hold up the others), except on SQLite, whose one writer at a time
    would make them wait for each other anyway; several instances of a service share the
    work safely (see `ProjectionRunner`).

    `every`: under a steady stream of appends, the seconds at least between two passes of the
    service's projections (a lone event is applied at once). A pass costs a few round trips and
    a commit whatever it applies, so a read model that may lag a little (survey invitations)
    takes bursts; one a citizen or clerk reads right after acting keeps it short.
    """

    def __init__(
        self, *projections: Projection, apart: Sequence[Projection] = (), every: float = 0.02
    ) -> None:
        self.projections: Sequence[Projection] = projections
        self.apart = apart
        self.every = every

    def setup(self) -> None:
        self.db = shared_database(self.container.service_name)
        if is_sqlite(self.db.url):
            groups = [[*self.projections, *self.apart]]
        else:
            groups = [[projection] for projection in self.apart]
            groups.insert(0, list(self.projections))
        groups = [group for group in groups if group]
        self.runners = [
            ProjectionRunner(shared_store(), self.db, group, coalesce=self.every) for group in groups
        ]
        for runner in self.runners:
            runner.setup()
        self._stop = threading.Event()

    def start(self) -> None:
        for runner in self.runners:
            self.container.spawn_managed_thread(functools.partial(runner.run_forever, self._stop))

    def stop(self) -> None:
        """A graceful stop lets a pass in progress end (a message handed to the provider gets
        its outcome recorded), for up to `STOP_GRACE` seconds."""
        self._stop.set()
        deadline = time.monotonic() + STOP_GRACE
        for runner in self.runners:
            runner.wait_for_pass(max(deadline - time.monotonic(), 0))

    def kill(self) -> None:
        self._stop.set()

    def get_dependency(self, worker_ctx: Any) -> Database:
        return self.db


F = TypeVar("F", bound=Callable[..., Any])

BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    amqp.exceptions.ConnectionError,
    ConnectionError,
    OSError,
)


def reply_producers(amqp_uri: str, ssl: Any, login_method: Any) -> Any:
    """The kombu producer pool replies are written through: the one `UnconfirmedPublisher`
    uses (confirms off), so nameko's way after a broker error revives the same producers."""
    return amqp_producers(amqp_uri, ssl, login_method, {})


class _Responder(nameko.rpc.Responder):  # type: ignore[misc]
    publisher_cls = UnconfirmedPublisher

    def send_response(self, result: Any, exc_info: Any) -> tuple[Any, Any]:
        """nameko's reply, serialised once and written straight on a pooled producer's channel.

        nameko serialises a reply twice (to check it, then to send it) and sends it through
        kombu's publish, whose retrying wrapper, serialiser look-up and declarations cost more
        than the write itself: ~140 against ~75 µs CPU a reply (measured in one process), paid
        twice a submission (identity's principal, then requests' submit). The message is the
        same: body, content type and encoding, correlation id, non-persistent, priority 0. A
        result that does not serialise, or a broker error on the way, goes nameko's way, which
        answers the first with `UnserializableValueError` and reconnects after the second."""
        error = None if exc_info is None else nameko.exceptions.serialize(exc_info[1])
        properties = self.message.properties
        content_type = properties["content_type"]
        try:
            serializer = kombu.serialization.registry.type_to_name[content_type]
            _, encoding, body = kombu.serialization.dumps(  # type: ignore[no-untyped-call]
                {"result": result, "error": error}, serializer
            )
        except Exception:  # noqa: BLE001 - nameko's own answer to it follows
            return super().send_response(result, exc_info)  # type: ignore[no-any-return]
        pool = reply_producers(self.amqp_uri, self.ssl, self.login_method)
        try:
            with pool.acquire(block=True) as producer:
                revive_if_lost(producer)  # its node killed: to the next one, not into the void
                channel = producer.channel
                message = channel.prepare_message(
                    body.encode(encoding) if isinstance(body, str) else body,
                    0,
                    content_type,
                    encoding,
                    {},
                    {"delivery_mode": NON_PERSISTENT, "correlation_id": properties.get("correlation_id")},
                )
                channel.basic_publish(
                    message, exchange=self.exchange.name, routing_key=properties["reply_to"], mandatory=False
                )
        except BROKER_ERRORS:
            return super().send_response(result, exc_info)  # type: ignore[no-any-return]
        return result, exc_info


class Rpc(nameko.rpc.Rpc):  # type: ignore[misc]
    """Nameko's RPC entrypoint, except that a reply lost with the broker does not end the process,
    that a reply is sent without waiting for the broker's confirmation, and that its calls are
    consumed by `PromptQueueConsumer`.

    Nameko lets a failed reply kill the whole container, so a RabbitMQ restart in the middle of a
    call stopped the service for good. The caller's reply queue is gone with that broker anyway;
    the unacknowledged request comes back if only the connection was lost, to be answered again
    (after a broker restart it is gone, being transient, and its caller retries): the commands
    are idempotent (the request carries its command id). For the same reason a
    confirmation would buy nothing: a reply lost after it was sent costs the caller a time-out
    and a retry, as one lost before does; the wait for it was a round trip per call."""

    rpc_consumer = _RpcConsumer()

    def handle_result(self, message: Any, worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        config = self.container.config
        responder = _Responder(
            config[AMQP_URI_CONFIG_KEY],
            nameko.rpc.get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        try:
            result, exc_info = responder.send_response(result, exc_info)
        except BROKER_ERRORS as error:
            log.warning("the reply of %s was lost with the broker: %s", self.method_name, error)
            return result, exc_info
        self.rpc_consumer.queue_consumer.ack_message(message)
        return result, exc_info


def rpc(method: Callable[P, R]) -> Callable[P, R]:
    """Declare a service method an RPC entrypoint: use instead of `nameko.rpc.rpc` (see `Rpc`).
    The method is registered and returned as it is, its signature kept for the type checker."""
    entrypoint: Callable[P, R] = Rpc.decorator(method)
    return entrypoint


def timer(interval: float, eager: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Nameko's `timer`: run a service method every `interval` seconds (`eager`: at start too),
    its signature kept for the type checker."""
    register: Callable[[Callable[P, R]], Callable[P, R]] = nameko.timer.timer(interval, eager=eager)
    return register


def health_rpc() -> Callable[[Any], dict[str, Any]]:
    """The `health` RPC every service declares (`health = health_rpc()` in its class, with its
    read models as `db`): the events its projections (`<name>.…`) parked, per projection. A
    parked event is an incident: the gateways' `/healthz` reports the desk degraded while any
    is parked."""

    def health(service: Any) -> dict[str, Any]:
        """`{"parked": {projection: count}}`, only projections with parked events."""
        return {"parked": parked_counts(service.db, service.name)}

    entrypoint: Callable[[Any], dict[str, Any]] = rpc(health)
    return entrypoint


def replies(function: F) -> F:
    """Wrap an RPC method: its result becomes `{"ok": true, "result": …}`, a `DomainError` or an
    invalid payload becomes `{"ok": false, "error": …}`, a failure that passes by itself (the
    database restarting) becomes `service_unavailable`; anything else stays an exception.
    An argument holding what no field may hold (NUL, …: `contracts.normalise.refused`) is
    refused before the method runs, whether or not a payload model checks it."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
        problem = next(filter(None, map(refused, [*args, *kwargs.values()])), None)
        if problem is not None:
            return DomainError("invalid_input", problem.describe()).to_reply()
        try:
            return ok(function(*args, **kwargs))
        except DomainError as error:
            return error.to_reply()
        except ValidationError as error:
            return invalid_payload(error).to_reply()
        except TRANSIENT_ERRORS as error:
            # The caller may retry (with the same command id); a 500 would say it is our bug.
            log.warning("%s: transient failure: %s", function.__name__, error)
            return DomainError("service_unavailable", type(error).__name__).to_reply()

    return wrapper  # type: ignore[return-value]


def invalid_payload(error: ValidationError) -> DomainError:
    """The first field error of a payload, as a `DomainError` naming the field (a refused
    character with a Persian message naming it)."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, RefusedInput):
        return DomainError("invalid_input", cause.describe(field))
    reason = str(cause or "") or first["msg"]
    code = reason if reason in ("invalid_national_code", "invalid_mobile") else "invalid_input"
    return DomainError(code, f"{field}: {first['msg']}")
