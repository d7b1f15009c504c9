"""Handing claimed messages to their providers outside the pass that claimed them.

The planner queues and claims each message in one append, inside its projection's pass, whose
checkpoint stays locked until the pass commits. The provider call is no part of that pass: the
claimed message goes to a `Sender`, whose threads (green ones in a Nameko service) hand messages
over side by side and record each outcome in the message's stream. A provider that answers one
recipient only after `SMS_TIMEOUT` holds one of those threads, never the pass nor the messages
of other recipients. One recipient's messages go in the order they were claimed.

Never twice still rests on the claim: a message is handed over only by the instance whose claim
won, under the message's id, which the provider de-duplicates. A process that dies between a
claim and its outcome leaves the claim to its lease, after which `commands.retry_due` claims
the message again and hands it over under the same id; a claim that waited here past its lease
is left to that too, rather than sent beside it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.eventstore import EventStore
from services.notify.dispatch import Channels, Claimed, deliver
from services.notify.lifecycle import Policy

log = logging.getLogger(__name__)

SENDERS = 32
"""How many messages are with their providers at once (each recipient's one at a time)."""
BACKLOG = 10_000
"""How many claimed messages may wait for a sender before whoever claims more waits too: the
bound of this process's memory when the providers fall behind for long."""


@dataclass(frozen=True)
class Handover:
    """One claimed message to hand over, with the text to send."""

    store: EventStore
    claimed: Claimed
    text: str

    @property
    def recipient(self) -> str:
        """Whose messages keep their order."""
        return self.claimed.message.queued.to


class Sender:
    """A pool of threads handing claimed messages to their providers.

    Threads are started when messages wait and end when none do, so an idle sender holds none.
    Each takes a recipient whose messages wait and nobody sends, and sends them in order."""

    def __init__(
        self, channels: Channels, policy: Policy, *, width: int = SENDERS, backlog: int = BACKLOG
    ) -> None:
        self.channels = channels
        self.policy = policy
        self.width = width
        self.backlog = backlog
        self._changed = threading.Condition()
        self._waiting: dict[str, deque[Handover]] = {}
        """Each recipient's messages not yet handed over, while one of them is waiting or sent."""
        self._ready: deque[str] = deque()
        """Recipients with messages waiting that no thread is sending."""
        self._threads = 0
        self._unfinished = 0

    def submit(self, store: EventStore, claimed: Claimed, text: str) -> None:
        """Hand `claimed` over as soon as a thread is free and the recipient's earlier messages
        are out; waits only while `backlog` messages wait already."""
        handover = Handover(store, claimed, text)
        with self._changed:
            while self._unfinished >= self.backlog:
                self._changed.wait()
            self._unfinished += 1
            waiting = self._waiting.get(handover.recipient)
            if waiting is not None:
                waiting.append(handover)  # behind its recipient's earlier messages
                return
            self._waiting[handover.recipient] = deque([handover])
            self._ready.append(handover.recipient)
            if self._threads < self.width:
                self._threads += 1
                threading.Thread(target=self._work, name="notify-sender", daemon=True).start()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every message submitted has been handed over and its outcome recorded
        (a graceful stop, a test); False if some were still out after `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._unfinished == 0, timeout)

    def _work(self) -> None:
        while True:
            with self._changed:
                if not self._ready:
                    self._threads -= 1
                    return
                recipient = self._ready.popleft()
                waiting = self._waiting[recipient]
            while True:
                with self._changed:
                    if not waiting:
                        del self._waiting[recipient]
                        break
                    handover = waiting.popleft()
                try:
                    self._send(handover)
                except Exception:  # the claim's lease brings the message back
                    log.exception("message %s: not handed over", handover.claimed.message.message_id)
                finally:
                    with self._changed:
                        self._unfinished -= 1
                        self._changed.notify_all()

    def _send(self, handover: Handover) -> None:
        message = handover.claimed.message
        claimed_at = message.claimed_at or datetime.now(UTC)
        if datetime.now(UTC) - claimed_at >= timedelta(seconds=self.policy.lease):
            log.warning("message %s waited past its claim's lease: left to the retries", message.message_id)
            return
        deliver(handover.store, self.channels, handover.claimed, handover.text, self.policy)
