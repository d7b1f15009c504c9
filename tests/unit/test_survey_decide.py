"""The survey's rules as given events / when a command / then events, with no store: a
request's survey opens after its final reply, to its tracking code and second factor, and takes
one response."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.errors import DomainError
from contracts.requests import Applicant, RequestSubmitted
from contracts.secretariat import ReplyPosted
from contracts.survey import QUESTIONS, AnswerSurvey, OpenSurvey, Respondent, SurveyAnswered
from services.survey.response import Answer, invitation, surveys
from tests.scenario import scenario

AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
CODE = "100000000001"
NATIONAL_CODE = "0084575948"
SUBMITTED = RequestSubmitted(
    request_id="r1",
    tracking_code=CODE,
    applicant=Applicant(
        national_code=NATIONAL_CODE, full_name="مریم کاظمی", mobile="09121234567", email="m@example.ir"
    ),
    province="isfahan",
    subject="درخواست پروانه",
    text="متن",
    submitted_at="2026-04-01T08:00:00+00:00",
    unit="u1",
    service_id="12345678901",
    service_name="صدور مجوز",
)


def reply(kind: str = "final") -> ReplyPosted:
    return ReplyPosted(request_id="r1", reply_id=kind, kind=kind, body="پاسخ", clerk="c", posted_at="t")


def answer(second_factor: str = "۰۰۸۴۵۷۵۹۴۸", code: str = CODE, **extra: Any) -> Answer:
    payload = AnswerSurvey.model_validate(
        {
            "tracking_code": code,
            "national_code": second_factor,
            "first_name": "مریم",
            "last_name": "کاظمی",
            "respondent_national_code": NATIONAL_CODE,
            "mobile": "09121234567",
            "answers": {q.id: 4 for q in QUESTIONS},
            **extra,
        }
    )
    return Answer(payload, code, AT)


def test_the_response_is_recorded_with_the_requests_unit_and_service() -> None:
    scenario(surveys).given(SUBMITTED, reply()).when(answer(comment="خوب بود")).then(
        SurveyAnswered(
            request_id="r1",
            respondent=Respondent(
                first_name="مریم", last_name="کاظمی", national_code=NATIONAL_CODE, mobile="09121234567"
            ),
            answers={q.id: 4 for q in QUESTIONS},
            comment="خوب بود",
            unit="u1",
            service_id="12345678901",
            service_name="صدور مجوز",
            province="isfahan",
            answered_at=AT.isoformat(),
        )
    )


ANSWERED = surveys.decide(answer(), surveys.fold([SUBMITTED, reply()]))[0]


def test_the_mobile_given_in_the_request_is_a_second_factor_too() -> None:
    scenario(surveys).given(SUBMITTED, reply()).when(answer("+98 912 123 4567")).then_types("SurveyAnswered")


@pytest.mark.parametrize(
    ("history", "command", "code"),
    [
        ((), answer(), "request_not_found"),
        ((SUBMITTED, reply()), answer(code="100000000102"), "request_not_found"),
        ((SUBMITTED, reply()), answer("0000000000"), "request_not_found"),
        ((SUBMITTED, reply()), answer("09120000000"), "request_not_found"),
        ((SUBMITTED,), answer(), "survey_not_ready"),
        ((SUBMITTED, reply("interim")), answer(), "survey_not_ready"),
    ],
    ids=["unknown", "another-code", "wrong-national-code", "wrong-mobile", "no-reply", "interim-reply"],
)
def test_a_survey_not_open_to_this_citizen_now_is_refused(
    history: tuple[Any, ...], command: Answer, code: str
) -> None:
    scenario(surveys).given(*history).when(command).refused(code)


def test_a_survey_takes_one_response() -> None:
    given = scenario(surveys).given(SUBMITTED, reply()).after(answer())
    given.when(answer()).refused("survey_already_answered")


def test_opening_shows_the_request_and_prefills_the_applicant() -> None:
    state = surveys.fold([SUBMITTED, reply()])
    opened = invitation(state, CODE, OpenSurvey(tracking_code=CODE, national_code=NATIONAL_CODE))
    assert opened == {
        "request_id": "r1",
        "tracking_code": CODE,
        "service_name": "صدور مجوز",
        "unit": "u1",
        "prefill": {
            "first_name": "مریم",
            "last_name": "کاظمی",
            "respondent_national_code": NATIONAL_CODE,
            "mobile": "09121234567",
            "email": "m@example.ir",
        },
    }


@pytest.mark.parametrize(
    ("history", "second_factor", "code"),
    [
        ((SUBMITTED,), NATIONAL_CODE, "survey_not_ready"),
        ((SUBMITTED, reply()), "0000000000", "request_not_found"),
        ((SUBMITTED, reply(), ANSWERED), NATIONAL_CODE, "survey_already_answered"),
    ],
    ids=["no-reply", "wrong-second-factor", "answered"],
)
def test_opening_a_survey_that_may_not_be_answered_is_refused(
    history: tuple[Any, ...], second_factor: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        invitation(surveys.fold(history), CODE, OpenSurvey(tracking_code=CODE, national_code=second_factor))
    assert refused.value.code == code
