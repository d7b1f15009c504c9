"""The citizen's side of the survey: open it with the tracking code and its second factor,
answer it once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from contracts.envelope import StreamState, WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.persian import normalize_mobile
from contracts.survey import AnswerSurvey, OpenSurvey, Respondent, SurveyAnswered
from contracts.tracking import normalize_tracking_code
from infra.commands import append_command
from services.survey.projections import requests_table


def survey_stream(request_id: str) -> str:
    """The stream of one request's survey: at most one response."""
    return f"survey-{request_id}"


def _find(db_read: sa.Engine, command: OpenSurvey) -> Any:
    code = normalize_tracking_code(command.tracking_code)
    if code is None:
        raise DomainError("invalid_tracking_code")
    # The second factor: the applicant's national code, or the mobile given in the request.
    mobile = normalize_mobile(command.national_code)
    second = (
        requests_table.c.mobile == mobile
        if mobile is not None
        else requests_table.c.national_code == command.national_code
    )
    with db_read.connect() as conn:
        row = conn.execute(
            sa.select(requests_table).where(requests_table.c.tracking_code == code, second)
        ).first()
    if row is None:
        raise DomainError("request_not_found")  # a wrong second factor reads like an unknown code
    return row


def open_survey(db_read: sa.Engine, command: OpenSurvey) -> dict[str, Any]:
    """The request the survey is about, if it may be answered now."""
    row = _find(db_read, command)
    if row.final_reply_at is None:
        raise DomainError("survey_not_ready")
    if row.answered_at is not None:
        raise DomainError("survey_already_answered")
    first, _, last = row.full_name.partition(" ")
    return {
        "request_id": row.request_id,
        "tracking_code": row.tracking_code,
        "service_name": row.service_name,
        "unit": row.unit,
        "prefill": {
            "first_name": first,
            "last_name": last,
            "respondent_national_code": row.national_code,
            "mobile": row.mobile,
            "email": row.email or "",
        },
    }


def answer_survey(store: EventStore, db_read: sa.Engine, command: AnswerSurvey) -> dict[str, Any]:
    """Record the response; a second one for the same request is refused."""
    row = _find(db_read, command)
    if row.final_reply_at is None:
        raise DomainError("survey_not_ready")
    event = SurveyAnswered(
        request_id=row.request_id,
        respondent=Respondent(
            first_name=command.first_name,
            last_name=command.last_name,
            national_code=command.respondent_national_code,
            mobile=command.mobile,
            email=command.email or None,
        ),
        answers=command.answers,
        comment=command.comment or None,
        unit=row.unit,
        service_id=row.service_id,
        service_name=row.service_name,
        province=row.province,
        answered_at=datetime.now(UTC).isoformat(),
    )
    try:
        append_command(
            store,
            survey_stream(row.request_id),
            [new_event(event, event_id=command.derived("survey-answered"), actor="citizen")],
            StreamState.NO_STREAM,
            command,
        )
    except WrongExpectedVersion:
        raise DomainError("survey_already_answered") from None
    return {"request_id": row.request_id, "answered_at": event.answered_at}
