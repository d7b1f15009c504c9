"""Finishing a request and opening it again: close, archive, reopen (the secretariat's clerks).
Their rules are in `rules`; each is decided on the case like any other action."""

from __future__ import annotations

from typing import Any

from contracts.eventstore import EventStore
from contracts.secretariat_rpc import WithReason
from services.secretariat import rules
from services.secretariat.case import Decision
from services.secretariat.commands import act, now


def close(store: EventStore, command: WithReason) -> dict[str, Any]:
    """Close an open request (with a reason)."""
    return act(store, Decision(rules.close, command, now()))


def archive(store: EventStore, command: WithReason) -> dict[str, Any]:
    """Archive a finished request."""
    return act(store, Decision(rules.archive, command, now()))


def reopen(store: EventStore, command: WithReason) -> dict[str, Any]:
    """Open a finished request again, at the secretariat's desk."""
    return act(store, Decision(rules.reopen, command, now()))
