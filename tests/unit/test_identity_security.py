"""Security rules of identity, each with its own test: lock-outs, captcha, one-time codes that are
hashed, single-use and expiring, rate limits, and events that never carry a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.identity_rpc import CodeAnswer, PasswordLogin, RequestLoginCode, StartRegistration
from services.identity import codes, login, registration
from tests.unit.test_identity_commands import PASSWORD, World, build_world, register_by_mobile


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from build_world(tmp_path)


def _wrong(world: World, client: str = "c", captcha_ok: bool = True, code: str = "0012345679") -> str:
    try:
        login.login_password(
            world.deps,
            PasswordLogin(national_code=code, password="Wrong-Pass-1", client=client, captcha_ok=captcha_ok),
        )
    except DomainError as error:
        return error.code
    return "ok"


def test_a_captcha_is_required_after_three_failures(world: World) -> None:
    register_by_mobile(world)
    assert [_wrong(world, captcha_ok=False) for _ in range(3)] == ["bad_credentials"] * 3
    assert _wrong(world, captcha_ok=False) == "captcha_required"
    assert _wrong(world, captcha_ok=True) == "bad_credentials"


def test_an_account_is_locked_after_five_wrong_passwords_even_for_the_right_one(world: World) -> None:
    register_by_mobile(world)
    for client in ("a", "b", "c", "d", "e"):
        assert _wrong(world, client=client) == "bad_credentials"
    right = PasswordLogin(national_code="0012345679", password=PASSWORD, client="f", captcha_ok=True)
    with pytest.raises(DomainError) as locked:
        login.login_password(world.deps, right)
    assert locked.value.code == "locked"
    world.clock.now += world.deps.limits.window + 1  # the lock passes with time
    assert login.login_password(world.deps, right)["national_code"] == "0012345679"


def test_a_client_address_is_locked_after_many_failures_across_accounts(world: World) -> None:
    codes_tried = ["0023456787", "0045678901", "0056789017", "0067890121", "0011223340"]
    for _ in range(4):
        for code in codes_tried:
            _wrong(world, client="10.9.9.9", code=code)
    assert _wrong(world, client="10.9.9.9", code="0022334459") == "locked"
    assert _wrong(world, client="10.1.1.1", code="0022334459") == "bad_credentials"


def test_the_lockout_answer_is_the_same_for_accounts_that_do_not_exist(world: World) -> None:
    answers = [_wrong(world, client=f"x{i}", code="0023456787") for i in range(6)]
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
