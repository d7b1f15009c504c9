"""A message's life cycle: the aggregate of its stream (`messages`), folded by `evolve`, and
what may happen to it next (`decide`).

Pure: no store, no provider, no clock of its own (the time comes with each command).
`services.notify.dispatch` acts on it through `infra.decider.handle`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from contracts.events import Event
from contracts.notify import (
    SmsDeferred,
    SmsDelivered,
    SmsDispatching,
    SmsFailed,
    SmsQueued,
    SmsSent,
)
from infra.decider import Decider
from infra.settings import NotifySettings

FINAL = frozenset({"delivered", "permanent_failure", "technical_failure"})
"""States nothing changes any more (`sent` still awaits its delivery receipt)."""


@dataclass(frozen=True)
class Policy:
    """How often and how patiently a message is tried.

    `lease` is how long a claim (`SmsDispatching`) protects a message from other instances:
    longer than a provider call can take, so an outcome-less claim older than it is a crash."""

    max_attempts: int = 5
    first_retry: float = 5.0
    factor: float = 4.0
    lease: float = 60.0

    def backoff(self, attempt: int) -> timedelta:
        """The wait after failed attempt `attempt` (1, 2, …): first_retry × factor^(attempt-1)."""
        return timedelta(seconds=self.first_retry * self.factor ** (attempt - 1))

    @classmethod
    def from_env(cls) -> Policy:
        """`NOTIFY_MAX_ATTEMPTS`, `NOTIFY_FIRST_RETRY`, `NOTIFY_RETRY_FACTOR`, `NOTIFY_LEASE`."""
        settings = NotifySettings.load()
        return cls(
            max_attempts=settings.NOTIFY_MAX_ATTEMPTS,
            first_retry=settings.NOTIFY_FIRST_RETRY,
            factor=settings.NOTIFY_RETRY_FACTOR,
            lease=settings.NOTIFY_LEASE,
        )


@dataclass(frozen=True)
class Message:
    """One message as its stream tells it."""

    queued: SmsQueued
    status: str = "queued"
    attempts: int = 0
    claimed_at: datetime | None = None
    retry_at: datetime | None = None
    provider: str | None = None
    provider_message_id: str | None = None
    reason: str | None = None

    @property
    def message_id(self) -> str:
        """The message's id (also the provider's de-duplication key)."""
        return self.queued.message_id

    def due(self, now: datetime, policy: Policy) -> bool:
        """True when the provider should be asked now: never asked, a retry that is due, or a
        claim abandoned by a crash (a v1 claim, which does not say when it was made, counts as
        abandoned)."""
        if self.status == "queued":
            return True
        if self.status == "deferred":
            return self.retry_at is not None and self.retry_at <= now
        if self.status == "dispatching":
            return self.claimed_at is None or now - self.claimed_at >= timedelta(seconds=policy.lease)
        return False

    def after_transient(self, provider: str, reason: str, now: datetime, policy: Policy) -> Event:
        """The record of a temporary failure of the current attempt: another try later, or,
        after the last attempt, a technical failure."""
        if self.attempts >= policy.max_attempts:
            return SmsFailed(
                message_id=self.message_id,
                provider=provider,
                reason=reason,
                status="technical_failure",
                attempts=self.attempts,
            )
        return SmsDeferred(
            message_id=self.message_id,
            provider=provider,
            attempt=self.attempts,
            reason=reason,
            retry_at=(now + policy.backoff(self.attempts)).isoformat(),
        )


def evolve(message: Message | None, event: Event) -> Message | None:
    """The message after one more event of its stream (None: no stream yet)."""
    if message is None:
        if not isinstance(event, SmsQueued):
            raise ValueError(f"a message's stream starts with SmsQueued, not {type(event).__name__}")
        return Message(queued=event)
    if message.status in FINAL:
        return message  # a late receipt or a racing instance's record changes nothing
    if isinstance(event, SmsDispatching):
        claimed_at = datetime.fromisoformat(event.claimed_at) if event.claimed_at else None
        attempts, provider = event.attempt, event.provider
        return replace(
            message, status="dispatching", attempts=attempts, claimed_at=claimed_at, provider=provider
        )
    if isinstance(event, SmsSent):
        return replace(
            message, status="sent", provider=event.provider, provider_message_id=event.provider_message_id
        )
    if isinstance(event, SmsDeferred):
        return replace(
            message, status="deferred", retry_at=datetime.fromisoformat(event.retry_at), reason=event.reason
        )
    if isinstance(event, SmsDelivered):
        return replace(message, status="delivered")
    if isinstance(event, SmsFailed):
        return replace(message, status=event.status, reason=event.reason, provider=event.provider)
    return message  # a second SmsQueued (the status view parks it) changes nothing


# -- what may be asked of a message ------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    """Start a message's life. `claim_for` (a provider's name) claims its first attempt in the
    same breath, for whoever queues it to send it at once (the planner); a one-time code is
    claimed by its caller's `Claim`."""

    queued: SmsQueued
    at: datetime
    claim_for: str | None = None


@dataclass(frozen=True)
class Claim:
    """Take the message's next attempt if one is due `at`, through its channel's provider
    (`providers`, by channel). `holds_code`: the claimant holds the real text of a one-time code,
    which no event keeps; without it such a message is given up once its caller is gone."""

    at: datetime
    policy: Policy
    providers: Mapping[str, str]
    holds_code: bool = False


@dataclass(frozen=True)
class Accepted:
    """The provider took the message, under its own id."""

    provider_message_id: str


@dataclass(frozen=True)
class Refused:
    """The provider will never send the message."""

    reason: str


@dataclass(frozen=True)
class Unavailable:
    """The provider failed for now (down, too slow, busy, a bug of its adapter)."""

    reason: str


@dataclass(frozen=True)
class RecordAnswer:
    """What the provider answered to the claimed attempt `attempt`."""

    attempt: int
    answer: Accepted | Refused | Unavailable
    at: datetime
    policy: Policy


@dataclass(frozen=True)
class RecordReceipt:
    """The provider's delivery receipt of a sent message."""

    status: Literal["delivered", "failed", "pending"]
    reason: str
    at: datetime


Command = Queue | Claim | RecordAnswer | RecordReceipt


def decide(command: Command, message: Message | None) -> list[Event]:
    """What happens to the message: nothing when the command comes too late or too early (the
    stream is the judge of which instance sends, not the instances)."""
    if isinstance(command, Queue):
        return [] if message is not None else _queue(command)
    if message is None:
        return []  # no such message
    if isinstance(command, Claim):
        return _claim(command, message)
    if isinstance(command, RecordAnswer):
        return _answer(command, message)
    return _receipt(command, message)


def _queue(command: Queue) -> list[Event]:
    queued = command.queued
    if command.claim_for is None:
        return [queued]
    claimed_at = command.at.isoformat()
    claim = SmsDispatching(
        message_id=queued.message_id, attempt=1, provider=command.claim_for, claimed_at=claimed_at
    )
    return [queued, claim]


def _claim(command: Claim, message: Message) -> list[Event]:
    if not message.due(command.at, command.policy):
        return []
    channel = message.queued.channel
    provider = command.providers.get(channel) or command.providers["sms"]
    if message.queued.one_time_code and not command.holds_code:
        waited = message.retry_at if message.status == "deferred" else None
        if waited is not None and command.at - waited < timedelta(seconds=command.policy.lease):
            return []  # its caller is still retrying within its own call
        return [
            SmsFailed(
                message_id=message.message_id,
                provider=provider,
                reason="abandoned one-time code",
                status="technical_failure",
                attempts=message.attempts,
            )
        ]
    attempt = message.attempts + 1
    at = command.at.isoformat()
    return [SmsDispatching(message_id=message.message_id, attempt=attempt, provider=provider, claimed_at=at)]


def _answer(command: RecordAnswer, message: Message) -> list[Event]:
    if message.status != "dispatching" or message.attempts != command.attempt:
        return []  # another instance took the attempt over (its lease ended) and records its own
    provider, answer = message.provider or "", command.answer
    if isinstance(answer, Accepted):
        sent = SmsSent(
            message_id=message.message_id, provider=provider, provider_message_id=answer.provider_message_id
        )
        return [sent]
    if isinstance(answer, Refused):
        reason, attempts = answer.reason, command.attempt
        return [SmsFailed(message_id=message.message_id, provider=provider, reason=reason, attempts=attempts)]
    return [message.after_transient(provider, answer.reason, command.at, command.policy)]


def _receipt(command: RecordReceipt, message: Message) -> list[Event]:
    if message.status != "sent" or command.status == "pending":
        return []
    provider = message.provider or ""
    if command.status == "delivered":
        at = command.at.isoformat()
        return [SmsDelivered(message_id=message.message_id, provider=provider, delivered_at=at)]
    reason = command.reason or "undelivered"
    return [
        SmsFailed(message_id=message.message_id, provider=provider, reason=reason, attempts=message.attempts)
    ]


def _no_message() -> Message | None:
    return None


messages: Decider[Command, Message | None] = Decider(initial=_no_message, evolve=evolve, decide=decide)
"""A message's aggregate: its stream, `sms-<message id>`."""
