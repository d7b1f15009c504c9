"""The notify service: SMS and e-mail from events and one-time codes, each sent once."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from contracts.eventstore import EventStore
from contracts.notify import ChangeTemplate, SendCode, SendLink
from infra.db import Database
from infra.nameko_glue import (
    STOP_GRACE,
    DependencyProvider,
    ReadModels,
    Settings,
    Store,
    health_rpc,
    replies,
    rpc,
    shared_store,
    timer,
)
from infra.settings import NotifySettings
from services.notify import commands, one_time, queries
from services.notify.dispatch import Channels
from services.notify.email import email_from_env
from services.notify.lifecycle import Policy
from services.notify.planner import RULES, activate_rules
from services.notify.projections import Planner, Status
from services.notify.providers import provider_from_env

log = logging.getLogger(__name__)

CHANNELS = Channels(provider_from_env(), email_from_env())
POLICY = Policy.from_env()
RECEIPTS_MAX_AGE = timedelta(days=3)
PLANNER = Planner(RULES, CHANNELS, POLICY)
"""Plans and claims the messages; its sender hands them over, and the retries too."""


class PlanningRules(DependencyProvider):
    """Activates the planner's rules when the service starts (before its projections run), so
    a rule new in this version messages only what happens from now on."""

    def setup(self) -> None:
        store = shared_store()
        activate_rules(store, RULES, store.last_position())

    def get_dependency(self, worker_ctx: Any) -> Channels:
        return CHANNELS

    def stop(self) -> None:
        """A graceful stop lets the messages already claimed be handed over and their outcomes
        recorded, for up to `STOP_GRACE` seconds (the rest wait for their claims' lease)."""
        assert PLANNER.sender is not None
        PLANNER.sender.drain(STOP_GRACE)


class NotifyService:
    name = "notify"

    store: EventStore = Store()
    settings: NotifySettings = Settings(NotifySettings)
    channels: Channels = PlanningRules()
    # SMS reach the provider within a second of their event: plan and claim every 100 ms, in a
    # thread of its own; the planner's sender calls the providers outside its passes (a slow
    # provider holds up neither the status view nor the other recipients).
    db: Database = ReadModels(Status(), apart=(PLANNER,), every=0.1)
    code_limit = one_time.CodeLimit()

    @rpc
    def ping(self) -> str:
        return "pong"

    health = health_rpc()  # the events its projections parked, for /healthz

    @rpc
    @replies
    def send_code(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = SendCode.model_validate(payload)
        return one_time.send_code(self.store, self.db.read, self.channels, self.code_limit, command)

    @rpc
    @replies
    def send_link(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = SendLink.model_validate(payload)
        return one_time.send_link(self.store, self.db.read, self.channels, self.code_limit, command)

    @rpc
    @replies
    def messages(self, request_id: str) -> list[dict[str, Any]]:
        return queries.messages(self.db.read, request_id)

    @rpc
    @replies
    def message_list(self, filters: dict[str, str], limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return queries.message_list(self.db.read, filters, min(max(int(limit), 1), 200), max(int(offset), 0))

    @rpc
    @replies
    def templates(self, organisation: str = "*") -> list[dict[str, Any]]:
        return queries.templates(self.db.read, organisation)

    @rpc
    @replies
    def change_template(self, payload: dict[str, Any]) -> dict[str, Any]:
        return commands.change_template(self.store, ChangeTemplate.model_validate(payload))

    @timer(interval=1)
    def retry_due(self) -> None:
        commands.retry_due(self.store, self.db.read, self.channels, POLICY, sender=PLANNER.sender)

    @timer(interval=2)
    def poll_receipts(self) -> None:
        try:
            commands.poll_receipts(self.store, self.db.read, self.channels, RECEIPTS_MAX_AGE)
        except Exception as error:  # noqa: BLE001 - a provider's hiccup: ask again next tick
            log.warning("delivery receipts not fetched: %s", error)
