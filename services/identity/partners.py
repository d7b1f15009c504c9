"""Partners (issue 25): the aggregate `partner-<id>`, its commands and the queries over
`identity_partners`.

An administrator (on the back office's «شرکا» page, or an operator with `pishkhan partners`) adds
a partner, rotates its key, revokes it or resumes its paused webhook; the relay pauses a webhook
that keeps failing. A key is shown once, in the answer of the command that made it: the stream
keeps only its hash, and the webhook secret is derived again whenever it is needed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.events import Event, registry
from contracts.eventstore import EventStore
from contracts.partners import (
    PARTNER_EVENTS,
    AddPartner,
    PartnerAdded,
    PartnerCommand,
    PartnerKeyRotated,
    PartnerRevoked,
    PartnerWebhookPaused,
    PartnerWebhookResumed,
    PausePartnerWebhook,
    RevokePartner,
    partner_stream,
)
from contracts.rpc import Payload
from infra.db import Database
from infra.decider import Decider, handle, read_whole
from infra.partner_keys import api_key_hash, key_prefix, new_api_key, webhook_secret
from infra.references import defined_unit_name
from services.identity.accounts import Account
from services.identity.partners_view import partners_table
from services.identity.staff import require_admin

WEBHOOK_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


@dataclass(frozen=True)
class Partner:
    """A partner as its stream tells it."""

    partner_id: str = ""
    name: str = ""
    unit: str = ""
    webhook_url: str = ""
    key_hash: str = ""
    key_prefix: str = ""
    generation: int = 0
    status: Literal["none", "active", "revoked"] = "none"
    webhook_status: Literal["active", "paused"] = "active"

    @property
    def exists(self) -> bool:
        return self.status != "none"


def evolve(state: Partner, event: Event) -> Partner:
    """The partner after one of its events."""
    if isinstance(event, PartnerAdded):
        return Partner(
            partner_id=event.partner_id,
            name=event.name,
            unit=event.unit,
            webhook_url=event.webhook_url,
            key_hash=event.key_hash,
            key_prefix=event.key_prefix,
            generation=1,
            status="active",
        )
    if isinstance(event, PartnerKeyRotated):
        return replace(
            state, key_hash=event.key_hash, key_prefix=event.key_prefix, generation=event.generation
        )
    if isinstance(event, PartnerRevoked):
        return replace(state, status="revoked")
    if isinstance(event, PartnerWebhookPaused):
        return replace(state, webhook_status="paused")
    if isinstance(event, PartnerWebhookResumed):
        return replace(state, webhook_status="active")
    return state


# -- commands (what `decide` is given: the form, the key's hash, who acts) ---------------------


@dataclass(frozen=True)
class Actor:
    """Who acts: an administrator (`admin`: their account as it is now) or an operator at the
    command line (`operator`, trusted: they hold the servers)."""

    by: str
    admin: Account | None = None
    operator: bool = False

    def check(self) -> None:
        if not self.operator:
            require_admin(self.admin)


@dataclass(frozen=True)
class Add:
    partner_id: str
    form: AddPartner
    key_hash: str
    key_prefix: str
    actor: Actor


@dataclass(frozen=True)
class Rotate:
    key_hash: str
    key_prefix: str
    actor: Actor


@dataclass(frozen=True)
class Revoke:
    reason: str
    actor: Actor


@dataclass(frozen=True)
class Pause:
    reason: str


@dataclass(frozen=True)
class Resume:
    actor: Actor


Command = Add | Rotate | Revoke | Pause | Resume


def _existing(state: Partner) -> None:
    if not state.exists:
        raise DomainError("partner_not_found")


def decide(command: Command, state: Partner) -> list[Event]:
    """A partner's rules: added once; a revoked partner gets no new key and no resumed webhook;
    revoking or pausing again records nothing."""
    if isinstance(command, Add):
        command.actor.check()
        if state.exists:
            raise DomainError("partner_key_shown_once")
        form = command.form
        return [
            PartnerAdded(
                partner_id=command.partner_id,
                name=form.name,
                unit=form.unit,
                webhook_url=form.webhook_url,
                key_hash=command.key_hash,
                key_prefix=command.key_prefix,
                added_by=command.actor.by,
            )
        ]
    if isinstance(command, Pause):
        _existing(state)
        if state.status == "revoked" or state.webhook_status == "paused":
            return []
        return [PartnerWebhookPaused(partner_id=state.partner_id, reason=command.reason)]
    command.actor.check()
    _existing(state)
    if isinstance(command, Revoke):
        if state.status == "revoked":
            return []
        return [
            PartnerRevoked(partner_id=state.partner_id, reason=command.reason, revoked_by=command.actor.by)
        ]
    if state.status == "revoked":
        raise DomainError("partner_revoked")
    if isinstance(command, Rotate):
        return [
            PartnerKeyRotated(
                partner_id=state.partner_id,
                key_hash=command.key_hash,
                key_prefix=command.key_prefix,
                generation=state.generation + 1,
                rotated_by=command.actor.by,
            )
        ]
    if state.webhook_status != "paused":
        raise DomainError("partner_webhook_not_paused")
    return [PartnerWebhookResumed(partner_id=state.partner_id, resumed_by=command.actor.by)]


PARTNER = Decider(initial=Partner, evolve=evolve, decide=decide)


Settle = Callable[[int], None]
"""Waits until identity's read models have seen a position (read-your-writes for the page)."""


def _no_wait(position: int) -> None:
    return None


def _on(
    store: EventStore, partner_id: str, command: Command, identity: Payload, actor: str, settle: Settle
) -> Partner:
    decided = handle(store, PARTNER, command, partner_stream(partner_id), identity=identity, actor=actor)
    if decided.position is not None:
        settle(decided.position)
    if decided.repeated and isinstance(command, Add | Rotate):
        raise DomainError("partner_key_shown_once")  # the key answered the first time is not kept
    return decided.state


def _checked_url(url: str) -> str:
    if url and not WEBHOOK_URL.match(url):
        raise DomainError("invalid_webhook_url")
    return url


def add(store: EventStore, form: AddPartner, actor: Actor, settle: Settle = _no_wait) -> dict[str, Any]:
    """A new partner and its first key: `{"id", "api_key", "webhook_secret", "key_prefix"}`,
    the key and secret shown now and never again."""
    actor.check()
    _checked_url(form.webhook_url)
    if form.unit:
        defined_unit_name(store, form.unit)
    partner_id = form.derived("partner").hex
    key = new_api_key()
    _on(
        store,
        partner_id,
        Add(partner_id, form, api_key_hash(key), key_prefix(key), actor),
        form,
        actor.by,
        settle,
    )
    return {
        "id": partner_id,
        "api_key": key,
        "webhook_secret": webhook_secret(partner_id, 1),
        "key_prefix": key_prefix(key),
    }


def rotate(
    store: EventStore, form: PartnerCommand, actor: Actor, settle: Settle = _no_wait
) -> dict[str, Any]:
    """A new key (the old one stops working) and with it a new webhook secret, shown once."""
    key = new_api_key()
    state = _on(
        store, form.partner_id, Rotate(api_key_hash(key), key_prefix(key), actor), form, actor.by, settle
    )
    return {
        "id": form.partner_id,
        "api_key": key,
        "webhook_secret": webhook_secret(form.partner_id, state.generation),
        "key_prefix": key_prefix(key),
        "generation": state.generation,
    }


def revoke(store: EventStore, form: RevokePartner, actor: Actor, settle: Settle = _no_wait) -> dict[str, Any]:
    """The partner's key stops working and nothing more is sent to it."""
    _on(store, form.partner_id, Revoke(form.reason, actor), form, actor.by, settle)
    return {"id": form.partner_id, "status": "revoked"}


def pause_webhook(store: EventStore, form: PausePartnerWebhook, settle: Settle = _no_wait) -> dict[str, Any]:
    """The relay stops sending to the partner until an administrator resumes it."""
    state = _on(store, form.partner_id, Pause(form.reason), form, "relay", settle)
    return {"id": form.partner_id, "webhook_status": state.webhook_status}


def resume_webhook(
    store: EventStore, form: PartnerCommand, actor: Actor, settle: Settle = _no_wait
) -> dict[str, Any]:
    """The relay sends to the partner's webhook again."""
    _on(store, form.partner_id, Resume(actor), form, actor.by, settle)
    return {"id": form.partner_id, "webhook_status": "active"}


# -- queries ----------------------------------------------------------------------------------

SHOWN = ("partner_id", "name", "unit", "webhook_url", "key_prefix", "generation", "status")


def _shown(row: Any) -> dict[str, Any]:
    """A partner as pages and the command line show it: no hash."""
    return {
        **{name: row[name] for name in SHOWN},
        "webhook_status": row["webhook_status"],
        "pause_reason": row["pause_reason"],
        "created_at": row["created_at"],
        "revoked_at": row["revoked_at"],
    }


def authenticate(db: Database, api_key: str) -> dict[str, Any]:
    """The active partner holding `api_key`, or `invalid_api_key` (unknown and revoked keys get
    the same answer: a caller learns nothing about keys that once worked)."""
    table = partners_table
    query = sa.select(table).where(table.c.key_hash == api_key_hash(api_key), table.c.status == "active")
    with db.read.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise DomainError("invalid_api_key")
    return {name: row[name] for name in ("partner_id", "name", "unit", "webhook_url", "generation")}


def listing(db: Database) -> list[dict[str, Any]]:
    """Every partner, newest first."""
    query = sa.select(partners_table).order_by(partners_table.c.created_at.desc())
    with db.read.connect() as conn:
        return [_shown(row) for row in conn.execute(query).mappings()]


def from_history(store: EventStore) -> list[dict[str, Any]]:
    """Every partner folded from the store itself (for the command line, which may run while no
    identity service keeps the read model), in the order they were added."""
    folded: dict[str, Partner] = {}
    after = 0
    types = [event.type_name for event in PARTNER_EVENTS]
    while batch := store.read_all(after, types=types):
        for recorded in batch:
            event = registry.decode(recorded)
            partner_id = getattr(event, "partner_id", "")
            folded[partner_id] = evolve(folded.get(partner_id, Partner()), event)
        after = batch[-1].position
    return [
        {
            "partner_id": p.partner_id,
            "name": p.name,
            "unit": p.unit,
            "webhook_url": p.webhook_url,
            "key_prefix": p.key_prefix,
            "generation": p.generation,
            "status": p.status,
            "webhook_status": p.webhook_status,
        }
        for p in folded.values()
    ]


def load_partner(store: EventStore, partner_id: str) -> Partner:
    """The partner from its stream (a blank one when there is none)."""
    return PARTNER.fold(registry.decode(r) for r in read_whole(store, partner_stream(partner_id)))
