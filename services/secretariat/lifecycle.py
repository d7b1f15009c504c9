"""Finishing a request and opening it again: close, archive, reopen (the secretariat's clerks)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.events import Event
from contracts.eventstore import EventStore
from contracts.secretariat import CaseArchived, CaseClosed, CaseReopened
from contracts.secretariat_rpc import WithReason
from services.secretariat.case import Case
from services.secretariat.commands import act, clerk_check


def close(store: EventStore, db_read: sa.Engine, command: WithReason) -> dict[str, Any]:
    """Close an open request (with a reason)."""

    def decide(case: Case) -> Event:
        clerk_check(case, command)
        if not command.reason:
            raise DomainError("case_reason_required")
        return CaseClosed(
            request_id=case.request_id, reason=command.reason, actor=command.staff.account_id,
            actor_name=command.staff.label,
        )  # fmt: skip

    return act(store, db_read, command, decide)


def archive(store: EventStore, db_read: sa.Engine, command: WithReason) -> dict[str, Any]:
    """Archive a finished request."""

    def decide(case: Case) -> Event:
        clerk_check(case, command, needs_open=False)
        if not case.finished or case.archived:
            raise DomainError("case_open" if not case.finished else "case_finished")
        return CaseArchived(
            request_id=case.request_id, reason=command.reason, actor=command.staff.account_id,
            actor_name=command.staff.label,
        )  # fmt: skip

    return act(store, db_read, command, decide)


def reopen(store: EventStore, db_read: sa.Engine, command: WithReason) -> dict[str, Any]:
    """Open a finished request again, at the secretariat's desk."""

    def decide(case: Case) -> Event:
        clerk_check(case, command, needs_open=False)
        if not case.finished:
            raise DomainError("case_open")
        if not command.reason:
            raise DomainError("case_reason_required")
        return CaseReopened(
            request_id=case.request_id, reason=command.reason, actor=command.staff.account_id,
            actor_name=command.staff.label,
        )  # fmt: skip

    return act(store, db_read, command, decide)
