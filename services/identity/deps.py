"""The composition root: what identity's commands use, real adapters by default, fakes in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts.events import Event, new_event
from contracts.eventstore import EventStore
from infra.attachments import AttachmentStore
from infra.db import Database
from infra.decider import Decided
from services.identity.adapters import CivilRegistry, CodeSender, LinkSender, Shahkar
from services.identity.codes import LIMITS, Limits


@dataclass
class Deps:
    """Store, read-model database, outside systems and the clock."""

    store: EventStore
    db: Database
    registry: CivilRegistry
    shahkar: Shahkar
    sms: CodeSender
    attachments: AttachmentStore
    clock: Callable[[], float] = field(default=time.time)
    limits: Limits = LIMITS
    settle: Callable[[int], None] = field(default=lambda position: None)
    """Waits until identity's read models have seen `position` (read-your-writes for the pages
    that list what was just recorded); a no-op in unit tests."""
    mail: LinkSender | None = None
    """The e-mail channel for activation links; without it no link can go out."""

    def settled(self, decided: Decided[Any]) -> None:
        """`settle` past what a command recorded (nothing to wait for when it recorded nothing)."""
        if decided.position is not None:
            self.settle(decided.position)

    def audit(self, event: Event, actor: str | None = None) -> None:
        """Record a login success or failure in the day's audit stream."""
        day = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d")
        self.store.append(f"identity-audit-{day}", [new_event(event, actor=actor)])
