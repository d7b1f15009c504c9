"""What a staff member may do to a request now, so its page offers only the forms they can use.

Nothing here repeats a rule: each action's own rule (`rules`) is decided on the case with the
least its form could send (the staff member, and a placeholder where the form asks for text),
and the action is offered when its rule does not refuse. What the person then types can still be
refused (an empty reason), but never for who they are or where the request is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from contracts.errors import DomainError
from contracts.events import Event
from contracts.secretariat_rpc import (
    AddNote,
    CaseCommand,
    Recall,
    Refer,
    Reply,
    ReturnToApplicant,
    SetRequestStatus,
    Staff,
    WithReason,
)
from services.secretariat import rules
from services.secretariat.case import Case, Decision, decide

Rule = Callable[[Decision[Any], Case], Sequence[Event]]

TYPED = "-"
"""Stands for whatever the person would type into a required field."""


def _probes(request_id: str, staff: Staff) -> dict[str, tuple[Rule, CaseCommand]]:
    """Each action by its RPC name, with its rule and the least payload its form sends."""
    who: dict[str, Any] = {"request_id": request_id, "staff": staff}
    because = WithReason(**who, reason=TYPED)
    return {
        "register": (rules.register, CaseCommand(**who)),
        "refer": (rules.refer, Refer(**who, unit=TYPED, instruction=TYPED)),
        "recall": (rules.recall, Recall(**who, reason=TYPED)),
        "take": (rules.take, CaseCommand(**who)),
        "release": (rules.release, because),
        "add_note": (rules.add_note, AddNote(**who, text=TYPED)),
        "return_to_applicant": (rules.return_to_applicant, ReturnToApplicant(**who, reason=TYPED)),
        "set_request_status": (rules.set_request_status, SetRequestStatus(**who, value="undetermined")),
        "reply": (rules.reply, Reply(**who, body=TYPED)),
        "close": (rules.close, because),
        "archive": (rules.archive, because),
        "reopen": (rules.reopen, because),
    }


def allowed_actions(case: Case, staff: Staff, at: datetime) -> list[str]:
    """The RPC names of the actions `staff` may take on `case` as it stands (none on a request
    that does not exist or that they may not see)."""
    if not case.submitted:
        return []
    allowed = []
    for name, (rule, payload) in _probes(case.request_id, staff).items():
        if name == "take" and case.taken_by == staff.account_id:
            continue  # the rule accepts taking it again (a form sent twice), but it is theirs already
        try:
            decide(Decision(rule, payload, at), case)
        except DomainError:
            continue
        allowed.append(name)
    return allowed
