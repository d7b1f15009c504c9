"""One-time secrets sent at once: codes by SMS (`send_code`) and links by e-mail (`send_link`).

They are requested directly, not projected, and must arrive within seconds, so the caller's RPC
sends them. The secret travels only in the provider call: the stored events hold the template's
text with the secret masked, and a message found abandoned is never re-sent from the store.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.eventstore import EventStore
from contracts.notify import SendCode, SendLink, SmsQueued
from infra.decider import handle
from services.notify.dispatch import Channels, Derived, dispatch, load, message_stream
from services.notify.lifecycle import Message, Policy, Queue, messages
from services.notify.planner import current_text
from services.notify.projections import status_table
from services.notify.templates import DEFAULT_ORGANISATION, MASK, TEMPLATES, render

CODE_POLICY = Policy(max_attempts=2, first_retry=0.3, factor=2.0, lease=60.0)
"""Codes must arrive within seconds: two quick tries within the caller's RPC (with `SMS_TIMEOUT`
at 5 s the answer comes within about 11 s, under the gateways' 15 s RPC time-out), never later."""


@dataclass
class CodeLimit:
    """At most `count` codes per number per `window`. The status read model counts codes of
    every instance; this instance's own recent codes are counted too, since the read model may
    not have caught up with a burst yet."""

    count: int = 3
    window: timedelta = timedelta(minutes=10)
    _recent: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check_and_note(self, db_read: sa.Engine, mobile: str, now: datetime) -> None:
        """Refuse with `too_many_requests` past the limit, else count one more code."""
        since = (now - self.window).isoformat()
        with db_read.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count())
                .select_from(status_table)
                .where(
                    status_table.c.to == mobile,
                    status_table.c.one_time_code.is_(True),
                    status_table.c.queued_at >= since,
                )
            ).scalar_one()
        with self._lock:
            recent = self._recent.setdefault(mobile, deque())
            while recent and recent[0] < time.time() - self.window.total_seconds():
                recent.popleft()
            if max(stored, len(recent)) >= self.count:
                raise DomainError("too_many_requests", f"{self.count} codes per {self.window}")
            recent.append(time.time())


def send_code(
    store: EventStore, db_read: sa.Engine, channels: Channels, limit: CodeLimit, command: SendCode
) -> dict[str, Any]:
    """Send a one-time code by SMS now."""
    secret = Secret("code", command.code)
    return _send(
        store, db_read, channels, limit, command.message_id, command.mobile, f"otp_{command.purpose}", secret
    )


def send_link(
    store: EventStore, db_read: sa.Engine, channels: Channels, limit: CodeLimit, command: SendLink
) -> dict[str, Any]:
    """Send a one-time link (account activation, password reset) by e-mail now."""
    secret = Secret("link", command.link)
    name = f"email_{command.purpose}"
    return _send(store, db_read, channels, limit, command.message_id, command.email, name, secret, "email")


@dataclass(frozen=True)
class Secret:
    """The template value that must never be stored, and its value for this one message."""

    key: str
    value: str


def _send(
    store: EventStore,
    db_read: sa.Engine,
    channels: Channels,
    limit: CodeLimit,
    message_id: str,
    to: str,
    name: str,
    secret: Secret,
    channel: str = "sms",
) -> dict[str, Any]:
    existing = load(store, message_id)
    now = datetime.now(UTC)
    if existing is None:
        limit.check_and_note(db_read, to, now)
        with db_read.connect() as conn:
            text, version = current_text(conn, DEFAULT_ORGANISATION, name)
        queued = SmsQueued(
            message_id=message_id,
            to=to,
            template=name,
            text=render(text, **{secret.key: MASK}),
            channel="email" if channel == "email" else "sms",
            subject=f"پیشخوان خدمت: {TEMPLATES[name].title}" if channel == "email" else None,
            one_time_code=True,
            template_version=version,
        )
        # The same message id at the same moment: both go on, and the claim picks one sender.
        handle(
            store,
            messages,
            Queue(queued, at=now),
            message_stream(message_id),
            identity=Derived(uuid.NAMESPACE_OID),
            purpose=f"one-time:{message_id}",
            actor="service:notify",
            new_stream=True,
        )
    else:
        # The masked text of the first request: the same words with the secret put back.
        text = existing.queued.text.replace(MASK, "{" + secret.key + "}")
    real_text = render(text, **{secret.key: secret.value})
    message = dispatch(store, channels, message_id, CODE_POLICY, text=real_text)
    while message is not None and message.status == "deferred" and message.retry_at is not None:
        time.sleep(max(0.0, (message.retry_at - datetime.now(UTC)).total_seconds()))
        message = dispatch(store, channels, message_id, CODE_POLICY, text=real_text)
    return code_answer(message_id, message)


def code_answer(message_id: str, message: Message | None) -> dict[str, Any]:
    """`sent`, `queued` (another instance is sending it) or `failed` with its reason."""
    status = "queued" if message is None else message.status
    if status in ("sent", "delivered"):
        return {"message_id": message_id, "status": "sent"}
    if status in ("permanent_failure", "technical_failure"):
        return {"message_id": message_id, "status": "failed", "reason": message.reason if message else ""}
    return {"message_id": message_id, "status": "queued"}
