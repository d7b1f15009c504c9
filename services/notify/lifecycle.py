"""A message's life cycle, folded from its stream, and what may happen to it next.

Pure: no store, no provider, no clock of its own. `services.notify.dispatch` acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from contracts.events import Event
from contracts.notify import (
    SmsDeferred,
    SmsDelivered,
    SmsDispatching,
    SmsFailed,
    SmsQueued,
    SmsSent,
)
from infra.settings import NotifySettings

FINAL = frozenset({"delivered", "permanent_failure", "technical_failure"})
"""States nothing changes any more (`sent` still awaits its delivery receipt)."""
DONE_WITH_PROVIDER = FINAL | {"sent"}


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
    version: int = 0
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
        claim abandoned by a crash."""
        if self.status == "queued":
            return True
        if self.status == "deferred":
            return self.retry_at is not None and self.retry_at <= now
        if self.status == "dispatching":
            return self.claimed_at is not None and now - self.claimed_at >= timedelta(seconds=policy.lease)
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


def fold(history: list[tuple[Event, datetime]]) -> Message:
    """The message after each of its events (with the time each was recorded), in order."""
    first, _ = history[0]
    if not isinstance(first, SmsQueued):
        raise ValueError(f"a message's stream starts with SmsQueued, not {type(first).__name__}")
    message = Message(queued=first)
    for event, at in history[1:]:
        message = then(message, event, at)
    return message


def then(message: Message, event: Event, at: datetime) -> Message:
    """The message after one more event of its stream, recorded at `at`."""
    return replace(_step(message, event, at), version=message.version + 1)


def _step(message: Message, event: Event, at: datetime) -> Message:
    if message.status in FINAL:
        return message  # a late receipt or a racing instance's record changes nothing
    if isinstance(event, SmsDispatching):
        return replace(
            message, status="dispatching", attempts=event.attempt, claimed_at=at, provider=event.provider
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
    return message
