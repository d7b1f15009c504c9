"""The relay service: integration events to RabbitMQ, partners' webhooks and the HTTP feed.

Its projection (`services/relay/outbox.py`) follows the store from a checkpoint, publishes each
batch with publisher confirms and queues webhook deliveries before the checkpoint moves; its
deliverer (`services/relay/webhooks.py`) sends the webhooks, one queue per partner.
"""

from __future__ import annotations

from typing import Any

from contracts.errors import DomainError
from contracts.eventstore import EventStore
from infra.db import Database
from infra.nameko_glue import (
    DependencyProvider,
    ReadModels,
    Store,
    health_rpc,
    replies,
    rpc,
    shared_database,
    shared_store,
    timer,
)
from infra.partner_keys import webhook_secret
from infra.settings import RelaySettings
from services.relay import queries
from services.relay.broker import Publisher
from services.relay.outbox import Relay, create_outbox
from services.relay.webhooks import Deliverer, Policy

SETTINGS = RelaySettings.load()
PUBLISHER = Publisher(SETTINGS.AMQP_URI)
RELAY = Relay(PUBLISHER)


class Webhooks(DependencyProvider):
    """The deliverer of this process, with its policy from the settings."""

    def setup(self) -> None:
        policy = Policy(
            retry_for=SETTINGS.RELAY_RETRY_FOR,
            first_retry=SETTINGS.RELAY_FIRST_RETRY,
            max_wait=SETTINGS.RELAY_MAX_WAIT,
            timeout=SETTINGS.RELAY_WEBHOOK_TIMEOUT,
            lease=SETTINGS.RELAY_WEBHOOK_TIMEOUT * 3,
        )
        db = shared_database("relay")
        create_outbox(db)
        self.deliverer = Deliverer(db, shared_store(), webhook_secret, policy)

    def get_dependency(self, worker_ctx: Any) -> Deliverer:
        return self.deliverer

    def stop(self) -> None:
        PUBLISHER.close()


class RelayService:
    name = "relay"

    store: EventStore = Store()
    db: Database = ReadModels(apart=(RELAY,), every=0.05)
    webhooks: Deliverer = Webhooks()

    @rpc
    def ping(self) -> str:
        return "pong"

    health = health_rpc()

    @rpc
    @replies
    def feed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"after", "limit", "unit"}` → the integration events a partner of `unit` sees."""
        try:
            after = max(int(payload.get("after") or 0), 0)
            limit = min(max(int(payload.get("limit") or 100), 1), 500)
        except (TypeError, ValueError):
            raise DomainError("invalid_input", "after and limit are whole numbers") from None
        return queries.feed(self.db.read, after, limit, str(payload.get("unit") or ""))

    @rpc
    @replies
    def deliveries(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"partner_id", "limit"?}` → the partner's webhook state and latest deliveries."""
        try:
            limit = min(max(int(payload.get("limit") or 100), 1), 500)
        except (TypeError, ValueError):
            raise DomainError("invalid_input", "limit is a whole number") from None
        return queries.deliveries(self.db.read, str(payload.get("partner_id") or ""), limit)

    @timer(interval=0.5)
    def send_webhooks(self) -> None:
        self.webhooks.tick()
