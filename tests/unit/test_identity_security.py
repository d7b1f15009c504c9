"""Security rules of identity, each with its own test: lock-outs per account, captchas per
address, one-time codes that are hashed, single-use and expiring, rate limits, and events that
never carry a secret."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.identity_rpc import (
    CaptchaAnswer,
    CaptchaRequest,
    CodeAnswer,
    PasswordLogin,
    RequestLoginCode,
    StartRegistration,
)
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from services.identity import captcha, codes, login, registration
from services.identity.keys import identity_secret
from tests.captchas import answer_of
from tests.unit.test_identity_commands import PASSWORD, World, build_world, register_by_mobile


@pytest.fixture
def world(store: SqlEventStore, db: Database, tmp_path: Path) -> World:
    return build_world(store, db, tmp_path)


def _captcha(world: World, client: str = "c", right: bool = True) -> CaptchaAnswer:
    """A challenge as identity gives it to a page, answered as a person would (or wrongly)."""
    made = captcha.challenge(world.deps, CaptchaRequest(purpose="login", client=client, force=True))
    answer = answer_of(made["token"], identity_secret())
    typed = answer if right else str((int(answer) + 1) % 10 ** len(answer)).zfill(len(answer))
    return CaptchaAnswer(token=made["token"], answer=typed)


def _wrong(world: World, client: str = "c", with_captcha: bool = True, code: str = "0012345679") -> str:
    return _login(world, "Wrong-Pass-1", client, _captcha(world, client) if with_captcha else None, code)


def _login(
    world: World, password: str, client: str, answer: CaptchaAnswer | None, code: str = "0012345679"
) -> str:
    command = PasswordLogin(national_code=code, password=password, client=client, captcha=answer)
    try:
        login.login_password(world.deps, command)
    except DomainError as error:
        return error.code
    return "ok"


def test_a_captcha_is_required_after_three_failures(world: World) -> None:
    register_by_mobile(world)
    assert [_wrong(world, with_captcha=False) for _ in range(3)] == ["bad_credentials"] * 3
    assert _wrong(world, with_captcha=False) == "captcha_required"
    assert _login(world, "Wrong-Pass-1", "c", _captcha(world, right=False)) == "captcha_required"
    assert _wrong(world, with_captcha=True) == "bad_credentials"


def test_the_captcha_is_a_png_whose_answer_stays_in_the_service_and_answers_once(world: World) -> None:
    made = captcha.challenge(world.deps, CaptchaRequest(purpose="mobile_code", client="c"))
    assert made["required"] is True and made["digits"] == 5
    assert base64.b64decode(made["png_base64"]).startswith(b"\x89PNG\r\n\x1a\n")
    answer = answer_of(made["token"], identity_secret())
    assert answer not in made["token"]
    persian = answer.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert captcha.solved(world.deps, CaptchaAnswer(token=made["token"], answer=f" {persian} "))
    assert not captcha.solved(world.deps, CaptchaAnswer(token=made["token"], answer=answer))  # spent
    late = captcha.challenge(world.deps, CaptchaRequest(purpose="mobile_code", client="c"))
    world.clock.now += captcha.SECONDS + 1
    assert not captcha.solved(
        world.deps, CaptchaAnswer(token=late["token"], answer=answer_of(late["token"], identity_secret()))
    )
    forged = CaptchaAnswer(token=late["token"][:-64] + "0" * 64, answer="12345")
    assert not captcha.solved(world.deps, forged)


def test_an_address_with_failures_needs_a_captcha_before_anyone_types_an_account(world: World) -> None:
    asked = CaptchaRequest(purpose="login", client="10.0.0.7")
    assert captcha.challenge(world.deps, asked) == {"required": False}
    for code in ("0023456787", "0045678901", "0056789017"):
        _wrong(world, client="10.0.0.7", with_captcha=False, code=code)
    assert captcha.challenge(world.deps, asked)["required"] is True
    elsewhere = CaptchaRequest(purpose="login", client="10.0.0.8")
    assert captcha.challenge(world.deps, elsewhere) == {"required": False}


def test_an_account_is_locked_after_five_wrong_passwords_even_for_the_right_one(world: World) -> None:
    register_by_mobile(world)
    for client in ("a", "b", "c", "d", "e"):
        assert _wrong(world, client=client) == "bad_credentials"
    assert _login(world, PASSWORD, "f", _captcha(world, "f")) == "locked"
    world.clock.now += world.deps.limits.window + 1  # the lock passes with time
    assert _login(world, PASSWORD, "f", None) == "ok"


def test_an_address_with_many_failures_asks_a_longer_captcha_and_never_locks_anyone_out(
    world: World,
) -> None:
    register_by_mobile(world)
    world.deps.limits = replace(world.deps.limits, failures_per_client=8)
    office = "10.9.9.9"
    others = ["0023456787", "0045678901", "0056789017", "0067890121", "0011223340"]
    for _ in range(2):  # 10 failures from one address, none of them five on one account
        for code in others:
            assert _wrong(world, client=office, code=code) == "bad_credentials"
    assert _login(world, PASSWORD, office, None) == "captcha_required"
    made = captcha.challenge(world.deps, CaptchaRequest(purpose="login", client=office))
    assert made["digits"] == 6
    answer = CaptchaAnswer(token=made["token"], answer=answer_of(made["token"], identity_secret()))
    assert _login(world, PASSWORD, office, answer) == "ok"
    assert _wrong(world, client="10.1.1.1", with_captcha=False, code="0022334459") == "bad_credentials"


def test_code_requests_from_one_address_ask_a_captcha_past_the_limit_instead_of_refusing(
    world: World,
) -> None:
    register_by_mobile(world)
    nobody = [f"00{n}" for n in ("23456787", "45678901", "56789017", "67890121", "11223340")]
    for index in range(world.deps.limits.codes_per_client):  # decoys: no SMS, but counted
        request = RequestLoginCode(national_code=nobody[index % len(nobody)], client="c")
        login.request_login_code(world.deps, request)
    with pytest.raises(DomainError) as asked:
        login.request_login_code(world.deps, RequestLoginCode(national_code="0012345679", client="c"))
    assert asked.value.code == "captcha_required"
    answer = _captcha(world)
    sent = login.request_login_code(
        world.deps, RequestLoginCode(national_code="0012345679", client="c", captcha=answer)
    )
    assert sent["sms_sent"] is True


def test_the_lockout_answer_is_the_same_for_accounts_that_do_not_exist(world: World) -> None:
    answers = [_wrong(world, client=f"x{i}") for i in range(6)]
    assert answers == ["bad_credentials"] * 5 + ["locked"]


def _start(world: World) -> str:
    command = StartRegistration(
        method="mobile",
        national_code="0012345679",
        birth_date="1368/04/15",
        mobile="09121234567",
        first_name="م",
        last_name="ک",
        password=PASSWORD,
        client="c",
    )
    return str(registration.start(world.deps, command)["ticket"])


def test_codes_are_stored_only_as_an_hmac(world: World) -> None:
    ticket = _start(world)
    code = world.sms.last_code("09121234567")
    with world.deps.db.read.connect() as conn:
        row = conn.execute(sa.select(codes.codes_table)).one()
    assert code not in json.dumps([str(v) for v in row]) and row.code_hash == codes.code_hash(ticket, code)
    assert len(row.code_hash) == 64


def test_a_code_expires_after_five_minutes(world: World) -> None:
    ticket = _start(world)
    code = world.sms.last_code("09121234567")
    world.clock.now += 301
    with pytest.raises(DomainError) as expired:
        registration.complete(world.deps, CodeAnswer(ticket=ticket, code=code, client="c"))
    assert expired.value.code == "bad_code"


def test_a_code_is_single_use(world: World) -> None:
    ticket = _start(world)
    answer = CodeAnswer(ticket=ticket, code=world.sms.last_code("09121234567"), client="c")
    registration.complete(world.deps, answer)
    with pytest.raises(DomainError) as again:
        registration.complete(world.deps, answer)
    assert again.value.code == "bad_code"


def test_a_code_burns_after_five_wrong_tries(world: World) -> None:
    ticket = _start(world)
    code = world.sms.last_code("09121234567")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(DomainError):
            registration.complete(world.deps, CodeAnswer(ticket=ticket, code=wrong, client="c"))
    with pytest.raises(DomainError) as burnt:
        registration.complete(world.deps, CodeAnswer(ticket=ticket, code=code, client="c"))
    assert burnt.value.code == "bad_code"


def test_code_requests_are_rate_limited_per_mobile(world: World) -> None:
    register_by_mobile(world)
    request = RequestLoginCode(national_code="0012345679", client="c")
    for _ in range(world.deps.limits.codes_per_mobile - 1):  # registration used one already
        login.request_login_code(world.deps, request)
    with pytest.raises(DomainError) as limited:
        login.request_login_code(world.deps, request)
    assert limited.value.code == "too_many_requests"


def test_an_unsent_sms_keeps_the_code_valid_and_resend_works(world: World) -> None:
    world.sms.working = False
    command = StartRegistration(
        method="mobile",
        national_code="0012345679",
        birth_date="1368/04/15",
        mobile="09121234567",
        first_name="م",
        last_name="ک",
        password=PASSWORD,
    )
    started = registration.start(world.deps, command)
    assert started["sms_sent"] is False
    world.sms.working = True
    again = registration.resend(world.deps, started["ticket"], "c")
    assert again["sms_sent"] is True and again["ticket"] != started["ticket"]
    answer = CodeAnswer(ticket=again["ticket"], code=world.sms.last_code("09121234567"), client="c")
    assert registration.complete(world.deps, answer)["national_code"] == "0012345679"


def test_no_event_carries_a_password_or_a_code(world: World) -> None:
    register_by_mobile(world)
    login.request_login_code(world.deps, RequestLoginCode(national_code="0012345679", client="c"))
    _wrong(world)
    sent_codes = {code for _, code, _ in world.sms.sent}
    for recorded in world.deps.store.read_all():
        text = json.dumps(recorded.data, ensure_ascii=False)
        assert PASSWORD not in text and "Wrong-Pass-1" not in text
        assert not any(code in text for code in sent_codes)
        if recorded.type == "PasswordSet":
            assert recorded.data["password_hash"].startswith("$argon2id$")
