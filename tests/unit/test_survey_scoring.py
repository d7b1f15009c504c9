"""The questionnaire, one response per request, and reports that never single anyone out."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.errors import DomainError
from contracts.events import new_event
from contracts.requests import Applicant, RequestSubmitted, TrackingCodeIssued
from contracts.secretariat import ReplyPosted
from contracts.survey import AXES, MIN_GROUP, QUESTIONS, AnswerSurvey, OpenSurvey
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.survey.commands import answer_survey, open_survey
from services.survey.projections import Invitations, Responses, jalali_month
from services.survey.reports import OTHERS, csv_rows, report, summary

NATIONAL_CODE = "0084575948"


@pytest.fixture
def survey(store: SqlEventStore, db: Database) -> tuple[SqlEventStore, ProjectionRunner]:
    runner = ProjectionRunner(store, db, [Invitations(), Responses()])
    runner.setup()
    return store, runner


def _request(store: SqlEventStore, number: int, unit: str = "u1", final: bool = True) -> str:
    body = f"{number:010d}"
    code = body + f"{98 - (int(body) * 100) % 97:02d}"  # a valid tracking code (its check digits)
    applicant = Applicant(national_code=NATIONAL_CODE, full_name="مریم کاظمی", mobile="09121234567")
    submitted = RequestSubmitted(
        request_id=f"r{number}",
        tracking_code=code,
        applicant=applicant,
        province="tehran",
        subject="s",
        text="t",
        submitted_at="2026-01-01T00:00:00+00:00",
        unit=unit,
        service_id="12345678901",
        service_name="صدور مجوز",
    )
    claim = TrackingCodeIssued(tracking_code=code, request_id=f"r{number}")
    store.append(f"tracking-{code}", [new_event(claim)])  # the code's claim: how a survey finds it
    store.append(f"request-r{number}", [new_event(submitted)])
    if final:
        reply = ReplyPosted(
            request_id=f"r{number}", reply_id="x", kind="final", body="b", clerk="c", posted_at="t"
        )
        store.append(f"case-r{number}", [new_event(reply)])
    return code


def _answer(code: str, value: int = 4, **extra: Any) -> AnswerSurvey:
    return AnswerSurvey.model_validate(
        {
            "tracking_code": code,
            "national_code": "۰۰۸۴۵۷۵۹۴۸",
            "first_name": "مریم",
            "last_name": "کاظمی",
            "respondent_national_code": NATIONAL_CODE,
            "mobile": "09121234567",
            "answers": {q.id: value for q in QUESTIONS},
            **extra,
        }
    )


def test_the_questionnaire_has_sixteen_questions_on_five_axes() -> None:
    assert len(QUESTIONS) == 16
    assert [q.axis for q in QUESTIONS].count("overall") == 1 and QUESTIONS[-1].axis == "overall"
    assert set(AXES) == {q.axis for q in QUESTIONS}
    with pytest.raises(ValueError):
        _answer("1", answers={"q1": 5})
    with pytest.raises(ValueError):
        _answer("1", answers={q.id: 6 for q in QUESTIONS})


def test_a_survey_opens_after_the_final_reply_and_takes_one_answer(
    survey: tuple[SqlEventStore, ProjectionRunner],
) -> None:
    store, runner = survey
    waiting = _request(store, 1, final=False)
    done = _request(store, 2)
    runner.run_once()
    with pytest.raises(DomainError) as not_ready:
        open_survey(store, OpenSurvey(tracking_code=waiting, national_code=NATIONAL_CODE))
    assert not_ready.value.code == "survey_not_ready"
    with pytest.raises(DomainError) as wrong:
        open_survey(store, OpenSurvey(tracking_code=done, national_code="0000000000"))
    assert wrong.value.code == "request_not_found"
    opened = open_survey(store, OpenSurvey(tracking_code=done, national_code=NATIONAL_CODE))
    assert opened["prefill"]["first_name"] == "مریم"
    answer_survey(store, _answer(done, comment="خوب بود"))
    with pytest.raises(DomainError) as twice:
        answer_survey(store, _answer(done))
    assert twice.value.code == "survey_already_answered"
    runner.run_once()
    with pytest.raises(DomainError) as closed:
        open_survey(store, OpenSurvey(tracking_code=done, national_code=NATIONAL_CODE))
    assert closed.value.code == "survey_already_answered"


def test_averages_and_distributions() -> None:
    rows = [{q.id: (5 if i % 2 else 1) for q in QUESTIONS} for i in range(MIN_GROUP)]
    result = summary(rows)
    assert result["shown"] and result["average"] == 3.0 and result["axes"]["overall"] == 3.0
    assert result["questions"][0]["distribution"] == [5, 0, 0, 0, 5]
    assert result["questions"][0]["percent"] == [50.0, 0.0, 0.0, 0.0, 50.0]
    assert summary(rows[:-1]) == {"count": MIN_GROUP - 1, "shown": False}


def test_small_groups_are_never_shown_apart(survey: tuple[SqlEventStore, ProjectionRunner]) -> None:
    store, runner = survey
    codes = [_request(store, n, unit="big") for n in range(1, 11)] + [_request(store, 99, unit="small")]
    runner.run_once()
    for code in codes[:-1]:
        answer_survey(store, _answer(code, 5))
    answer_survey(store, _answer(codes[-1], 1))
    runner.run_once()
    everything = report(runner.db.read, {})
    assert everything["count"] == 11 and everything["shown"]
    assert [(g["name"], g["count"], g["shown"]) for g in everything["by_unit"]] == [
        ("big", 10, True),
        (OTHERS, 1, False),
    ]
    assert "axes" not in everything["by_unit"][1]
    small = report(runner.db.read, {"unit": "small"})
    assert (small["count"], small["shown"]) == (1, False) and "questions" not in small
    lines = csv_rows(runner.db.read, {})
    assert lines[0][:5] == ["province", "unit", "service", "month", "count"]
    assert lines[1][:2] == ["tehran", "big"] and lines[1][4] == "10" and lines[1][5] == "5.00"
    assert lines[2][0] == OTHERS and lines[2][5] == ""
    assert [(g["name"], g["count"]) for g in everything["by_province"]] == [("tehran", 11)]
    assert everything["provinces"] == ["tehran"]
    assert report(runner.db.read, {"province": "yazd"})["count"] == 0


def test_periods_are_jalali_months_in_tehran() -> None:
    assert jalali_month("2026-03-20T21:00:00+00:00") == "1405/01"  # past midnight in Tehran: Nowruz
    assert jalali_month("2026-03-20T20:00:00+00:00") == "1404/12"
