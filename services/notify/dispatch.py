"""Handing one message to its provider, claimed in the store so that only one instance does.

Like GOV.UK Notify's delivery task: reload the message by id, decide from its own stream, call
the provider behind its interface, record the outcome. Every record goes through
`infra.decider.handle` with the rules of `lifecycle.messages`. The claim (`SmsDispatching`,
appended at the stream's exact version) is what makes "never twice" independent of read
models: two instances, a restarted one or a replayed projection all lose the append, read the
claim that won, and do not call.

A claim's id is its claimant's own (random): with an id derived from the message, a second
instance that decided on the same version would have its claim taken for a repeat of the
first's, and sent. The other records have ids derived from the message's first event, which
is also their cause (`Root`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.envelope import NewEvent, RecordedEvent
from contracts.errors import DomainError
from contracts.events import Cause, derived_id, registry
from contracts.eventstore import EventStore
from contracts.notify import SmsDispatching, SmsQueued
from infra.decider import Decided, handle, read_whole
from services.notify.email import EmailProvider
from services.notify.lifecycle import (
    Accepted,
    Claim,
    Message,
    Policy,
    Queue,
    RecordAnswer,
    RecordReceipt,
    Refused,
    Unavailable,
    messages,
)
from services.notify.providers import Delivery, PermanentFailure, Receipt, SmsProvider, TransientFailure

log = logging.getLogger(__name__)

SENDING_WIDTH = 16
"""How many recipients' messages notify queues at once."""


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

    def names(self) -> dict[str, str]:
        """The provider's name of each channel."""
        return {channel: self.name(channel) for channel in ("sms", "email")}


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


@dataclass(frozen=True)
class _Named:
    """An event known by its id and correlation (one this process has just appended)."""

    id: uuid.UUID
    correlation_id: uuid.UUID | None


class Root:
    """A message's first event, its `SmsQueued`: every later event of the stream is caused by
    it, and is recorded under an id derived from its id (`derived`, as `handle`'s identity).

    Whoever queued the message knows it; otherwise `load`, given to `handle` as the way the
    stream is read, learns it as it reads."""

    fingerprint = ""

    def __init__(self, first: Cause | None = None) -> None:
        self.first = first

    def load(self, store: EventStore, stream: str) -> list[RecordedEvent]:
        """The stream, read whole; its first event is remembered."""
        recorded = read_whole(store, stream)
        if recorded:
            self.first = recorded[0]
        return recorded

    def cause(self, earlier: Sequence[NewEvent]) -> Cause | None:
        """The cause of every event after the first (`handle`'s `cause`)."""
        return self.first

    @property
    def command_id(self) -> str:
        return str(self._first().id)

    def derived(self, purpose: str) -> uuid.UUID:
        return derived_id(self._first().id, purpose)

    def marked(self, event: NewEvent) -> NewEvent:
        return event

    def check_repeat(self, recorded: RecordedEvent) -> None:
        """A record of notify's own has no other input to be told from."""

    def _first(self) -> Cause:
        if self.first is None:
            raise LookupError("the message's first event is not known before its stream is read")
        return self.first


@dataclass(frozen=True)
class Claimed:
    """A message this instance has just claimed: what its claim left (the outcome is decided
    on it without reading the stream again) and its first event."""

    decided: Decided[Message | None]
    root: Root

    @property
    def message(self) -> Message:
        """The claimed message."""
        assert self.decided.state is not None, "a claim is never the first event of its stream"
        return self.decided.state


def queue(
    store: EventStore, queued: SmsQueued, cause: RecordedEvent, purpose: str, claim_for: str | None
) -> Claimed | None:
    """Start a message's stream with its `SmsQueued`, under the id `purpose` derives from the
    event that `cause`d it, and, with `claim_for` (a provider's name), this run's claim in the
    same append (caused by the `SmsQueued`).

    The claimed message, to hand over; None when the stream exists already (or nothing was
    claimed): an earlier run of the same plan (a batch run again after a crash, or by another
    instance) queued and claimed it, and may have sent it, so only that claim's lease
    (`commands.retry_due`) may send it again. A second run's append carries the same
    `SmsQueued` id with another claim id, which the store refuses instead of answering it as
    a repeat of the first."""
    queued_id = derived_id(cause.id, purpose)
    root = Root()
    command = Queue(queued, at=datetime.now(UTC), claim_for=claim_for)
    try:
        decided = handle(
            store,
            messages,
            command,
            message_stream(queued.message_id),
            identity=Derived(cause.id),
            ids=lambda count: [queued_id, *_fresh(count - 1)],
            cause=lambda earlier: earlier[0] if earlier else cause,
            load=root.load,
            new_stream=True,
        )
    except DomainError as refused:
        if refused.code != "idempotency_key_reused":
            raise
        return None  # its SmsQueued is stored, with another run's claim
    if decided.repeated or not any(isinstance(event, SmsDispatching) for event in decided.events):
        return None
    root.first = _Named(queued_id, cause.correlation_id)
    return Claimed(decided, root)


def load(store: EventStore, message_id: str) -> Message | None:
    """The message as its stream tells it now (None: never queued)."""
    recorded = read_whole(store, message_stream(message_id))
    return messages.fold(registry.decode(event) for event in recorded)


def claim(
    store: EventStore,
    channels: Channels,
    message_id: str,
    policy: Policy,
    *,
    holds_code: bool = False,
    now: datetime | None = None,
) -> Claimed | Message | None:
    """Claim the message's next attempt if one is due: the claimed message, to hand over, or
    the message as it is (None: never queued). A one-time code whose caller is gone
    (`holds_code` False) ends as a technical failure instead."""
    root = Root()
    command = Claim(now or datetime.now(UTC), policy, channels.names(), holds_code)
    decided = handle(
        store,
        messages,
        command,
        message_stream(message_id),
        identity=root,
        ids=_fresh,
        cause=root.cause,
        load=root.load,
    )
    if decided.events and isinstance(decided.events[-1], SmsDispatching):
        return Claimed(decided, root)
    return decided.state


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
    taken = claim(store, channels, message_id, policy, holds_code=text is not None, now=now)
    if not isinstance(taken, Claimed):
        return taken
    return deliver(store, channels, taken, text or taken.message.queued.text, policy)


def deliver(
    store: EventStore, channels: Channels, claimed: Claimed, text: str, policy: Policy
) -> Message | None:
    """Hand a message this instance has just claimed to its provider and record the outcome
    (on the state its claim left; when another instance got there first, which happens only
    after the claim's lease, its record stands and the provider de-duplicated the second
    hand-over by the message id)."""
    message = claimed.message
    command = RecordAnswer(message.attempts, _answer(channels, message, text), datetime.now(UTC), policy)
    decided = handle(
        store,
        messages,
        command,
        message_stream(message.message_id),
        identity=claimed.root,
        purpose=f"outcome:{message.attempts}",
        cause=claimed.root.cause,
        load=claimed.root.load,
        after=claimed.decided,
    )
    return decided.state


def _answer(channels: Channels, message: Message, text: str) -> Accepted | Refused | Unavailable:
    """The provider's answer to one hand-over; an adapter's bug is a temporary failure, so that
    it never leaves the claim open."""
    provider, attempt, message_id = message.provider or "", message.attempts, message.message_id
    try:
        return Accepted(_hand_over(channels, message, text).provider_message_id)
    except PermanentFailure as failure:
        return Refused(str(failure))
    except Exception as failure:  # a provider's bug must not leave the claim open
        if not isinstance(failure, TransientFailure):
            log.exception("message %s: the %s adapter failed unexpectedly", message_id, provider)
        log.warning("message %s attempt %d failed for now: %s", message_id, attempt, failure)
        if isinstance(failure, TransientFailure):
            return Unavailable(str(failure))
        return Unavailable(f"{type(failure).__name__}: {failure}")


def _hand_over(channels: Channels, message: Message, text: str) -> Delivery:
    queued = message.queued
    if queued.channel == "email":
        if channels.email is None:
            raise PermanentFailure("no e-mail provider is configured")
        return channels.email.send(message.message_id, queued.to, queued.subject or "", text)
    return channels.sms.send(message.message_id, queued.to, text)


def record_receipt(store: EventStore, message_id: str, receipt: Receipt) -> Message | None:
    """Record a provider's delivery receipt for a sent message (once: its id is derived)."""
    root = Root()
    command = RecordReceipt(receipt.status, receipt.reason, datetime.now(UTC))
    decided = handle(
        store,
        messages,
        command,
        message_stream(message_id),
        identity=root,
        purpose="receipt",
        cause=root.cause,
        load=root.load,
    )
    return decided.state


def _fresh(count: int) -> list[uuid.UUID]:
    """Ids of a claimant's own (see the module's docstring)."""
    return [uuid.uuid4() for _ in range(count)]
