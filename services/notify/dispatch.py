"""Handing one message to its provider, claimed in the store so that only one instance does.

Like GOV.UK Notify's delivery task: reload the message by id, decide from its own stream, call
the provider behind its interface, record the outcome. The claim (`SmsDispatching` appended at
the stream's exact version) is what makes "never twice" independent of read models: two
instances, a restarted one or a replayed projection all lose the append and do not call.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.envelope import (
    DuplicateEventIds,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    StreamState,
    WrongExpectedVersion,
)
from contracts.events import Cause, Event, derived_id, new_event, registry
from contracts.eventstore import EventStore
from contracts.notify import SmsDelivered, SmsDispatching, SmsFailed, SmsQueued, SmsSent
from services.notify.email import EmailProvider
from services.notify.lifecycle import Message, Policy, fold, then
from services.notify.providers import (
    Delivery,
    PermanentFailure,
    Receipt,
    SmsProvider,
    TransientFailure,
)

log = logging.getLogger(__name__)

SENDING_WIDTH = 16
"""How many recipients' messages notify queues or hands over at once."""


def message_stream(message_id: str) -> str:
    """The stream of one message's life cycle."""
    return f"sms-{message_id}"


@dataclass(frozen=True)
class Channels:
    """The providers of each channel; without an e-mail provider, e-mails fail for good."""

    sms: SmsProvider
    email: EmailProvider | None = None

    def name(self, channel: str) -> str:
        """The provider's name that a message on `channel` goes through."""
        return self.email.name if channel == "email" and self.email else self.sms.name


@dataclass(frozen=True)
class Derived:
    """The identity of a command notify gives itself (no caller's key, so no fingerprint): its
    events' ids are derived from `namespace` (the event that caused them) by their purpose."""

    namespace: uuid.UUID
    fingerprint: str = ""

    @property
    def command_id(self) -> str:
        return str(self.namespace)

    def derived(self, purpose: str) -> uuid.UUID:
        return derived_id(self.namespace, purpose)

    def marked(self, event: NewEvent) -> NewEvent:
        return event

    def check_repeat(self, recorded: RecordedEvent) -> None:
        """A command of notify's own has no other input to be told from."""


def load(store: EventStore, message_id: str) -> tuple[Message, RecordedEvent] | None:
    """The message and its first recorded event (the cause of what is recorded next)."""
    try:
        recorded = store.read_stream(message_stream(message_id))
    except StreamNotFound:
        return None
    return fold([(registry.decode(r), r.recorded_at) for r in recorded]), recorded[0]


def dispatch(
    store: EventStore,
    channels: Channels,
    message_id: str,
    policy: Policy,
    *,
    text: str | None = None,
    now: datetime | None = None,
) -> Message | None:
    """Send the message if it is due, once: claim it, call the provider, record the outcome.

    `text` is given only for one-time codes, whose real text is never stored; such a message
    found abandoned (its caller crashed mid-send) ends as a technical failure instead."""
    now = now or datetime.now(UTC)
    loaded = load(store, message_id)
    if loaded is None:
        return None
    message, first = loaded
    if not message.due(now, policy):
        return message
    provider = channels.name(message.queued.channel)
    if message.queued.one_time_code and text is None:
        waited = message.retry_at if message.status == "deferred" else None
        if waited is not None and now - waited < timedelta(seconds=policy.lease):
            return message  # its caller is still retrying within its own call
        abandoned = SmsFailed(
            message_id=message_id,
            provider=provider,
            reason="abandoned one-time code",
            status="technical_failure",
            attempts=message.attempts,
        )
        _record(store, message, first, abandoned, f"abandoned:{message.attempts}")
        return _reload(store, message_id)
    attempt = message.attempts + 1
    claim = SmsDispatching(message_id=message_id, attempt=attempt, provider=provider)
    # A claim's id is its claimant's own: with an id derived from the message, a second instance
    # that read the same version would have its claim taken for a repeat of the first's, and sent.
    try:
        store.append(
            message_stream(message_id),
            [new_event(claim, cause=first)],
            message.version,
        )
    except WrongExpectedVersion:
        return _reload(store, message_id)  # another instance claimed it first: theirs to send
    return deliver(store, channels, then(message, claim, now), first, text or message.queued.text, policy)


def queue_claimed(
    store: EventStore, channels: Channels, queued: NewEvent, message: SmsQueued
) -> Message | None:
    """Start a message's stream with its `SmsQueued` and this run's claim, in one append.

    The claimed message, to `deliver` now; None when the stream exists already: an earlier run
    of the same plan (a batch run again after a crash, or by another instance) queued and
    claimed it, and may have sent it, so only that claim's lease (`retry_due`) may send it
    again. The claim's id is this run's own: a derived one would make the store take a
    second run's append for a repeat of the first and accept it, and both would send."""
    claim = SmsDispatching(message_id=message.message_id, attempt=1, provider=channels.name(message.channel))
    try:
        store.append(
            message_stream(message.message_id),
            [queued, new_event(claim, cause=queued)],
            StreamState.NO_STREAM,
        )
    except (WrongExpectedVersion, DuplicateEventIds):
        return None
    now = datetime.now(UTC)
    return fold([(message, now), (claim, now)])


def deliver(
    store: EventStore, channels: Channels, claimed: Message, first: Cause, text: str, policy: Policy
) -> Message | None:
    """Hand a message this instance has just claimed to its provider and record the outcome;
    `first` is its `SmsQueued` (the cause of what is recorded)."""
    provider, attempt, message_id = claimed.provider or "", claimed.attempts, claimed.message_id
    outcome: Event
    try:
        delivery = _hand_over(channels, claimed, text)
        outcome = SmsSent(
            message_id=message_id, provider=provider, provider_message_id=delivery.provider_message_id
        )
    except PermanentFailure as failure:
        outcome = SmsFailed(message_id=message_id, provider=provider, reason=str(failure), attempts=attempt)
    except Exception as failure:  # a provider's bug must not leave the claim open
        if not isinstance(failure, TransientFailure):
            log.exception("message %s: the %s adapter failed unexpectedly", message_id, provider)
        log.warning("message %s attempt %d failed for now: %s", message_id, attempt, failure)
        reason = (
            str(failure) if isinstance(failure, TransientFailure) else f"{type(failure).__name__}: {failure}"
        )
        outcome = claimed.after_transient(provider, reason, datetime.now(UTC), policy)
    if _record(store, claimed, first, outcome, f"outcome:{attempt}"):
        return then(claimed, outcome, datetime.now(UTC))
    return _reload(store, message_id)


def _hand_over(channels: Channels, message: Message, text: str) -> Delivery:
    queued = message.queued
    if queued.channel == "email":
        if channels.email is None:
            raise PermanentFailure("no e-mail provider is configured")
        return channels.email.send(message.message_id, queued.to, queued.subject or "", text)
    return channels.sms.send(message.message_id, queued.to, text)


def record_receipt(store: EventStore, message_id: str, receipt: Receipt) -> Message | None:
    """Record a provider's delivery receipt for a sent message (once: ids are derived)."""
    loaded = load(store, message_id)
    if loaded is None or receipt.status == "pending":
        return None if loaded is None else loaded[0]
    message, first = loaded
    if message.status != "sent":
        return message
    outcome: Event
    if receipt.status == "delivered":
        outcome = SmsDelivered(
            message_id=message_id, provider=message.provider or "", delivered_at=datetime.now(UTC).isoformat()
        )
    else:
        outcome = SmsFailed(
            message_id=message_id,
            provider=message.provider or "",
            reason=receipt.reason or "undelivered",
            attempts=message.attempts,
        )
    _record(store, message, first, outcome, "receipt")
    return _reload(store, message_id)


def _record(store: EventStore, message: Message, first: Cause, event: Event, purpose: str) -> bool:
    """Append `event` after `message`; False when another instance got there first (it
    recovered the claim and recorded its own outcome; the provider de-duplicated the second
    hand-over by the message id)."""
    try:
        store.append(
            message_stream(message.message_id),
            [new_event(event, event_id=derived_id(first.id, purpose), cause=first)],
            message.version,
        )
    except WrongExpectedVersion:
        return False
    return True


def _reload(store: EventStore, message_id: str) -> Message | None:
    loaded = load(store, message_id)
    return None if loaded is None else loaded[0]
