"""The captcha's text alternative: a question in Persian words that the same check accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.errors import DomainError
from contracts.identity_rpc import CaptchaAnswer, CaptchaRequest, PasswordLogin
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from services.identity import captcha, login
from tests.captcha_words import answer_to, number_of
from tests.unit.test_identity_commands import PASSWORD, World, build_world, register_by_mobile


@pytest.fixture
def world(store: SqlEventStore, db: Database, tmp_path: Path) -> World:
    return build_world(store, db, tmp_path)


@pytest.mark.parametrize(
    ("number", "words"),
    [(0, "صفر"), (7, "هفت"), (12, "دوازده"), (20, "بیست"), (47, "چهل و هفت"), (100, "صد"),
     (118, "صد و هجده"), (198, "صد و نود و هشت"), (205, "دویست و پنج"), (500, "پانصد")],
)  # fmt: skip
def test_numbers_are_written_as_they_are_read_aloud(number: int, words: str) -> None:
    assert captcha.in_words(number) == words
    if number < 300:
        assert number_of(words) == number


def test_the_text_alternative_is_words_without_digits_and_its_answer_stays_in_the_service(
    world: World,
) -> None:
    asked = CaptchaRequest(purpose="mobile_code", client="c", kind="text")
    for _ in range(30):
        made = captcha.challenge(world.deps, asked)
        assert made["required"] is True and made["kind"] == "text" and "png_base64" not in made
        assert " به علاوه " in made["question"] or " منهای " in made["question"]
        assert not any(character.isdigit() for character in made["question"])
        answer = answer_to(made["question"])
        assert int(answer) >= 0
        challenge, expires, mac = made["token"].split(".")  # only the answer's HMAC travels
        assert len(challenge) == 32 and int(expires) and len(mac) == 64


def test_the_same_check_accepts_the_spoken_answer_once_and_refuses_a_wrong_one(world: World) -> None:
    asked = CaptchaRequest(purpose="reset", client="c", kind="text")
    made = captcha.challenge(world.deps, asked)
    persian = answer_to(made["question"]).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert captcha.solved(world.deps, CaptchaAnswer(token=made["token"], answer=f" {persian} "))
    assert not captcha.solved(world.deps, CaptchaAnswer(token=made["token"], answer=persian))  # spent
    other = captcha.challenge(world.deps, asked)
    wrong = str(int(answer_to(other["question"])) + 1)
    assert not captcha.solved(world.deps, CaptchaAnswer(token=other["token"], answer=wrong))


def test_a_citizen_asked_for_a_captcha_signs_in_by_answering_the_text_alternative(world: World) -> None:
    register_by_mobile(world)
    code = "0012345679"
    for _ in range(3):
        with pytest.raises(DomainError):
            login.login_password(
                world.deps, PasswordLogin(national_code=code, password="Wrong-Pass-1", client="c")
            )
    with pytest.raises(DomainError) as refused:
        login.login_password(world.deps, PasswordLogin(national_code=code, password=PASSWORD, client="c"))
    assert refused.value.code == "captcha_required"
    made = captcha.challenge(world.deps, CaptchaRequest(purpose="login", client="c", kind="text"))
    answer = CaptchaAnswer(token=made["token"], answer=answer_to(made["question"]))
    signed_in = login.login_password(
        world.deps, PasswordLogin(national_code=code, password=PASSWORD, client="c", captcha=answer)
    )
    assert signed_in
