"""Digits typed in Persian (or Arabic-Indic) come back as typed in free text and become ASCII only
in fields that are numbers (issue 23, item 6): «پلاک ۷» stays «پلاک ۷» in a subject, a text, an
address, a name, a note, a reply or a survey comment, while a national code, a mobile, a date or a
tracking code typed with the same digits is one ASCII code. Every command that carries what a
citizen or a clerk typed is checked, field by field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from contracts.identity_rpc import SubmitVerification, UpdateProfile
from contracts.requests import Resubmit, SaveDraft
from contracts.rpc import SubmitRequest
from contracts.secretariat_rpc import AddNote, Reply, ReturnToApplicant, Staff
from contracts.survey import QUESTIONS, AnswerSurvey

PERSIAN = "پلاک ۷ کوچه ۱۲"
ARABIC = "پلاک ٧ کوچه ١٢"  # Arabic-Indic digits, as some keyboards type them
CODE = "0084575948"
STAFF = Staff(account_id="clerk-1", name="سارا دبیری", roles=("clerk",), province="tehran")
CASE = {"request_id": "r" * 32, "staff": STAFF}
DRAFT = {"draft_id": "d" * 32, "account_id": "a" * 32, "step": 4}
ANSWERS = {q.id: 3 for q in QUESTIONS}
SUBMIT = {"national_code": CODE, "mobile": "09121234567", "province": "tehran", "full_name": "زهرا احمدی",
          "subject": "موضوع", "text": "متن"}  # fmt: skip
SURVEY = {"tracking_code": "123", "national_code": CODE, "first_name": "زهرا", "last_name": "احمدی",
          "respondent_national_code": CODE, "mobile": "09121234567", "answers": ANSWERS}  # fmt: skip

FREE_TEXT: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (SubmitRequest, SUBMIT, "subject"),
    (SubmitRequest, SUBMIT, "text"),
    (SubmitRequest, SUBMIT, "full_name"),
    (Resubmit, {"request_id": "f" * 32, "account_id": "a" * 32, "text": "متن"}, "subject"),
    (Resubmit, {"request_id": "f" * 32, "account_id": "a" * 32, "subject": "موضوع"}, "text"),
    (AddNote, CASE, "text"),
    (ReturnToApplicant, CASE, "reason"),
    (Reply, CASE, "body"),
    (Reply, {**CASE, "body": "پاسخ"}, "notes"),
    (UpdateProfile, {"account_id": "a" * 32}, "address"),
    (UpdateProfile, {"account_id": "a" * 32}, "first_name"),
    (SubmitVerification, {"account_id": "a" * 32}, "note"),
    (AnswerSurvey, SURVEY, "comment"),
]  # fmt: skip
"""(command, its other fields, the free-text field under test)."""

DRAFT_TEXT = ("subject", "text", "address", "first_name", "last_name", "full_name", "father_name",
              "company_name", "owner_name", "visit_description")  # fmt: skip
DRAFT_NUMBERS = {
    "national_code": ("۰۰۸۴۵۷۵۹۴۸", CODE),
    "owner_national_code": ("٠٠٨٤٥٧٥٩٤٨", CODE),
    "company_national_id": ("۱۰۱۰۰۳۸۷۱۲۴", "10100387124"),
    "mobile": ("۰۹۱۲۱۲۳۴۵۶۷", "09121234567"),
    "owner_mobile": ("۰۹۱۲ ۱۲۳ ۴۵۶۷", "0912 123 4567"),  # the spaces go when the rule reads it
    "landline": ("۰۲۱۸۸۷۷۶۶۵۵", "02188776655"),
    "birth_date": ("۱۳۶۵/۰۴/۲۱", "1365/04/21"),
    "owner_birth_date": ("۱۳۶۰/۰۱/۰۱", "1360/01/01"),
    "visit_date": ("۱۴۰۳/۰۲/۱۵", "1403/02/15"),
}


@pytest.mark.parametrize("typed", [PERSIAN, ARABIC])
@pytest.mark.parametrize(("command", "others", "field"), FREE_TEXT, ids=lambda v: getattr(v, "__name__", v))
def test_free_text_keeps_the_digits_as_typed(
    command: type[BaseModel], others: dict[str, Any], field: str, typed: str
) -> None:
    parsed = command.model_validate({**others, field: typed})
    assert getattr(parsed, field) == typed


@pytest.mark.parametrize("typed", [PERSIAN, ARABIC])
def test_a_draft_keeps_the_digits_of_its_free_text_as_typed(typed: str) -> None:
    saved = SaveDraft.model_validate({**DRAFT, "fields": dict.fromkeys(DRAFT_TEXT, typed)})
    assert saved.fields == dict.fromkeys(DRAFT_TEXT, typed)


def test_a_draft_reads_its_numbers_codes_and_dates_in_ascii_digits() -> None:
    typed = {name: persian for name, (persian, _) in DRAFT_NUMBERS.items()}
    saved = SaveDraft.model_validate({**DRAFT, "fields": typed})
    assert saved.fields == {k: ascii for k, (_, ascii) in DRAFT_NUMBERS.items()}


def test_codes_in_commands_become_ascii_beside_text_that_stays_persian() -> None:
    request = SubmitRequest.model_validate(
        {
            "national_code": "۰۰۸۴۵۷۵۹۴۸",
            "mobile": "۰۹۱۲۱۲۳۴۵۶۷",
            "province": "tehran",
            "subject": "پروانه ۱۴۰۳",
            "text": PERSIAN,
            "full_name": "زهرا احمدی",
        }
    )
    assert (request.national_code, request.mobile) == (CODE, "09121234567")
    assert (request.subject, request.text) == ("پروانه ۱۴۰۳", PERSIAN)
    reply = Reply.model_validate(
        {**CASE, "body": PERSIAN, "reply_number": "۱۲۳/۴", "reply_date": "۱۴۰۳/۰۲/۱۵"}
    )
    assert (reply.body, reply.reply_number, reply.reply_date) == (PERSIAN, "123/4", "1403/02/15")
    survey = AnswerSurvey.model_validate(
        {
            "tracking_code": "۱۲۳۴۵۶",
            "national_code": "۰۰۸۴۵۷۵۹۴۸",
            "first_name": "زهرا",
            "last_name": "احمدی",
            "respondent_national_code": "۰۰۸۴۵۷۵۹۴۸",
            "mobile": "۰۹۱۲۱۲۳۴۵۶۷",
            "answers": ANSWERS,
            "comment": PERSIAN,
        }
    )
    assert (survey.tracking_code, survey.respondent_national_code) == ("123456", CODE)
    assert survey.comment == PERSIAN
    profile = UpdateProfile.model_validate(
        {"account_id": "a" * 32, "landline": "۰۲۱۸۸۷۷۶۶۵۵", "address": PERSIAN}
    )
    assert (profile.landline, profile.address) == ("02188776655", PERSIAN)
