"""The citizen's side of the survey: open it with the tracking code and its second factor,
answer it once. Both read the events (the code's claim, the request, its case, its survey),
never the read models, so a survey opens the moment the final reply is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.envelope import StreamNotFound
from contracts.errors import DomainError
from contracts.events import registry
from contracts.eventstore import EventStore
from contracts.requests import TrackingCodeIssued
from contracts.survey import AnswerSurvey, OpenSurvey
from contracts.tracking import normalize_tracking_code
from infra.decider import handle, load_state
from services.survey.response import Answer, invitation, surveys


def survey_stream(request_id: str) -> str:
    """The stream of one request's survey: at most one response."""
    return f"survey-{request_id}"


def _read_streams(request_id: str) -> tuple[str, str]:
    """The request's streams the survey folds in: the request's own (written by the requests
    service) and its case's (by the secretariat)."""
    return f"request-{request_id}", f"case-{request_id}"


def _find(store: EventStore, typed: str) -> tuple[str, str]:
    """The tracking code as normalised, and the request it was claimed for: `invalid_tracking_code`,
    or `request_not_found` for a code never given."""
    code = normalize_tracking_code(typed)
    if code is None:
        raise DomainError("invalid_tracking_code")
    try:
        (claim,) = store.read_stream(f"tracking-{code}", limit=1)
    except StreamNotFound:
        raise DomainError("request_not_found") from None
    issued = registry.decode(claim)
    assert isinstance(issued, TrackingCodeIssued)
    return code, issued.request_id


def open_survey(store: EventStore, command: OpenSurvey) -> dict[str, Any]:
    """The request the survey is about, if it may be answered now."""
    code, request_id = _find(store, command.tracking_code)
    survey = load_state(store, surveys, survey_stream(request_id), also=_read_streams(request_id))
    return invitation(survey.state, code, command)


def answer_survey(store: EventStore, command: AnswerSurvey) -> dict[str, Any]:
    """Record the response; a second one for the same request is refused."""
    code, request_id = _find(store, command.tracking_code)
    decided = handle(
        store,
        surveys,
        Answer(command, code, datetime.now(UTC)),
        survey_stream(request_id),
        identity=command,
        purpose="survey-answered",
        also=_read_streams(request_id),
        actor="citizen",
    )
    answered = decided.state.answered
    assert answered is not None
    return {"request_id": request_id, "answered_at": answered.answered_at}
