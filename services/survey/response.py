"""A request's survey as an aggregate: whether it may be answered, and its one response. Pure:
the tracking code typed, its second factor and the time come in the command.

The survey's stream (`survey-{request_id}`) holds its response; the request's stream (its
submission: the tracking code, the applicant) and the secretariat's case stream (its final
reply) are folded in, read but never written here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.errors import DomainError
from contracts.events import Event
from contracts.persian import normalize_mobile
from contracts.requests import RequestSubmitted
from contracts.secretariat import ReplyPosted
from contracts.survey import AnswerSurvey, OpenSurvey, Respondent, SurveyAnswered
from infra.decider import Decider


@dataclass(frozen=True)
class Survey:
    """A request's survey as its streams say now: the request (None: no such request), whether
    its final reply was posted, and its response (None: not answered)."""

    request: RequestSubmitted | None = None
    final_reply: bool = False
    answered: SurveyAnswered | None = None


@dataclass(frozen=True)
class Answer:
    """`survey.answer` with its tracking code as normalised and the time."""

    payload: AnswerSurvey
    tracking_code: str
    at: datetime


def evolve(state: Survey, event: Event) -> Survey:
    if isinstance(event, RequestSubmitted):
        return dataclasses.replace(state, request=event)
    if isinstance(event, ReplyPosted) and event.kind == "final":
        return dataclasses.replace(state, final_reply=True)
    if isinstance(event, SurveyAnswered):
        return dataclasses.replace(state, answered=event)
    return state


def answerable(state: Survey, tracking_code: str, second_factor: str) -> RequestSubmitted:
    """The request the survey is about, when the code and its second factor (the applicant's
    national code, or the mobile given in the request) name it and its final reply is posted:
    `request_not_found` (a wrong second factor reads like an unknown code), `survey_not_ready`."""
    request = state.request
    if request is None or request.tracking_code != tracking_code:
        raise DomainError("request_not_found")
    mobile = normalize_mobile(second_factor)
    applicant = request.applicant
    if (applicant.mobile != mobile) if mobile is not None else (applicant.national_code != second_factor):
        raise DomainError("request_not_found")
    if not state.final_reply:
        raise DomainError("survey_not_ready")
    return request


def invitation(state: Survey, tracking_code: str, command: OpenSurvey) -> dict[str, Any]:
    """What the survey's first page shows, if it may be answered now (`survey_already_answered`
    once it was)."""
    request = answerable(state, tracking_code, command.national_code)
    if state.answered is not None:
        raise DomainError("survey_already_answered")
    applicant = request.applicant
    first, _, last = applicant.full_name.partition(" ")
    return {
        "request_id": request.request_id,
        "tracking_code": request.tracking_code,
        "service_name": request.service_name,
        "unit": request.unit,
        "prefill": {
            "first_name": first,
            "last_name": last,
            "respondent_national_code": applicant.national_code,
            "mobile": applicant.mobile,
            "email": applicant.email or "",
        },
    }


def decide(command: Answer, state: Survey) -> Sequence[Event]:
    """Record the response; a second one for the same request is refused."""
    payload = command.payload
    request = answerable(state, command.tracking_code, payload.national_code)
    if state.answered is not None:
        raise DomainError("survey_already_answered")
    return [
        SurveyAnswered(
            request_id=request.request_id,
            respondent=Respondent(
                first_name=payload.first_name,
                last_name=payload.last_name,
                national_code=payload.respondent_national_code,
                mobile=payload.mobile,
                email=payload.email or None,
            ),
            answers=payload.answers,
            comment=payload.comment or None,
            unit=request.unit,
            service_id=request.service_id,
            service_name=request.service_name,
            province=request.province,
            answered_at=command.at.isoformat(),
        )
    ]


surveys: Decider[Answer, Survey] = Decider(initial=Survey, evolve=evolve, decide=decide)
"""A request's survey; fold the request's and its case's streams in."""
