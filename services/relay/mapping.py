"""From stored request events to integration events (contracts/integration.py).

Pure: the relay keeps, per request, what later events do not repeat (the tracking code, the
service, the units), and hands it in as `known`; the mapping gives the request's new public state
and the integration event, or None for an event partners are not told about.
"""

from __future__ import annotations

from typing import Any

from contracts import integration as ie
from contracts.envelope import RecordedEvent
from contracts.requests import RequestSubmitted
from contracts.secretariat import CaseClosed, CaseReferred, NumberAssigned, ReplyPosted, ReturnedForCorrection

HANDLED = (RequestSubmitted, NumberAssigned, CaseReferred, ReturnedForCorrection, ReplyPosted, CaseClosed)
"""The stored events that make an integration event."""

Known = dict[str, Any]
"""A request's public state: `contracts.integration.RequestData`'s fields and `scope`."""


def request_id_of(event: Any) -> str:
    """The request an event is about."""
    return str(event.request_id)


def first_state(event: RequestSubmitted) -> Known:
    """What a submission makes known of the request."""
    unit = event.unit or event.addressee_unit or None
    return {
        "tracking_code": event.tracking_code,
        "status": "submitted",
        "service_id": event.service_id,
        "service_name": event.service_name,
        "unit": unit,
        "province": event.province,
        "submitted_at": event.submitted_at,
        "scope": [unit] if unit else [],
    }


def integrate(
    event: Any, known: Known | None, recorded: RecordedEvent
) -> tuple[Known, ie.IntegrationEvent] | None:
    """The request's new state and its integration event; None when partners are not told (an
    event of a request submitted before the relay's history, which no partner could place)."""
    if isinstance(event, RequestSubmitted):
        state = first_state(event)
        kind = ie.SUBMITTED
    elif known is None:
        return None
    else:
        state = {**known, "reply_kind": None, "reply_date": None}
        if isinstance(event, NumberAssigned):
            state |= {"status": "registered", "registration_number": event.registration_number}
            kind = ie.REGISTERED
        elif isinstance(event, CaseReferred):
            scope = list(state.get("scope", []))
            if event.unit not in scope:
                scope.append(event.unit)
            state |= {"status": "referred", "referred_to": event.unit, "scope": scope}
            kind = ie.REFERRED
        elif isinstance(event, ReturnedForCorrection):
            state |= {"status": "returned"}
            kind = ie.RETURNED
        elif isinstance(event, ReplyPosted):
            state |= {"status": "replied", "reply_kind": event.kind, "reply_date": event.reply_date}
            kind = ie.REPLIED
        elif isinstance(event, CaseClosed):
            state |= {"status": "closed"}
            kind = ie.CLOSED
        else:
            return None
    data = {key: value for key, value in state.items() if key != "scope"}
    integration = ie.IntegrationEvent(
        id=str(recorded.id),
        type=kind,
        subject=state["tracking_code"],
        time=recorded.recorded_at.isoformat(),
        position=recorded.position,
        data=ie.RequestData.model_validate(data),
        scope=tuple(state.get("scope", [])),
    )
    return state, integration
