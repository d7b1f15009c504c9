"""Guessing passwords and one-time codes: the captcha appears, the account locks, and so does a
client address that tries many accounts. A real account, registered through the pages."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from contracts.errors import MESSAGES
from contracts.persian import latin_digits
from deploy.run import Desk
from tests.desk import running_desk
from tests.integration.test_identity_flow import code_for, csrf_of, identity_env, post_form

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

NATIONAL_CODE, MOBILE, PASSWORD = "0012345679", "09121234567", "Golbarg-1403!"
PER_CLIENT = 12
LOCKED = MESSAGES["locked"][1]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("brute")
    env = {**identity_env(folder), "IDENTITY_FAILURES_PER_CLIENT": str(PER_CLIENT)}
    with running_desk(folder, "postgresql", **env) as running:
        yield running


def browser(desk: Desk) -> httpx.Client:
    return httpx.Client(base_url=desk.url("citizen"), timeout=60, follow_redirects=True)


def with_captcha(page: httpx.Response, data: dict[str, str]) -> dict[str, str]:
    """The form's fields, the captcha solved like a person would when the page shows one."""
    digits = re.findall(r">([۰-۹+ ])</text>", page.text)
    fields = {**data, "csrf_token": csrf_of(page)}
    if digits:
        a, b = latin_digits("".join(digits)).split("+")
        fields["captcha"] = str(int(a) + int(b))
    return fields


def log_in(client: httpx.Client, password: str, national_code: str = NATIONAL_CODE) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login", data=with_captcha(page, {"national_code": national_code, "password": password})
    )


@pytest.fixture(scope="module")
def account(desk: Desk) -> set[str]:
    """A registered citizen; the codes read so far."""
    seen: set[str] = set()
    form = {
        "national_code": NATIONAL_CODE,
        "mobile": MOBILE,
        "birth_date": "1368/04/15",
        "first_name": "مریم",
        "last_name": "کاظمی",
        "password": PASSWORD,
        "password2": PASSWORD,
        "kind": "natural",
    }
    with browser(desk) as citizen:
        code_page = post_form(citizen, "/register/mobile", form)
        assert code_page.url.path == "/code", code_page.text[-400:]
        done = post_form(citizen, "/code", {"code": code_for(desk, MOBILE, seen)})
        assert done.url.path == "/account"
    return seen


def test_guessing_one_time_codes_burns_the_code(desk: Desk, account: set[str]) -> None:
    with browser(desk) as attacker:
        sent = post_form(attacker, "/login/code", {"national_code": NATIONAL_CODE})
        assert sent.url.path == "/code"
        real = code_for(desk, MOBILE, account)
        wrong = f"{(int(real) + 1) % 1_000_000:06d}"
        answers = [post_form(attacker, "/code", {"code": wrong}) for _ in range(6)]
        assert all(a.url.path != "/account" for a in answers)
        assert answers[0].status_code in (401, 422)
        late = post_form(attacker, "/code", {"code": real})
        assert late.url.path != "/account"  # the right code no longer opens the account


def test_guessing_passwords_shows_the_captcha_then_locks_the_account(desk: Desk, account: set[str]) -> None:
    with browser(desk) as attacker:
        first = log_in(attacker, "Wrong-Guess-1")
        assert first.status_code == 422 and "<svg" in first.text  # the captcha from the first failure
        for n in range(2, 8):
            last = log_in(attacker, f"Wrong-Guess-{n}")
        assert last.status_code in (422, 429) and LOCKED in last.text
        right = log_in(attacker, PASSWORD)
        assert right.url.path == "/login" and LOCKED in right.text
        api = attacker.post(
            "/api/identity/login", json={"national_code": NATIONAL_CODE, "password": PASSWORD}
        )
        assert api.status_code in (422, 429) and api.json()["error"]["code"] in ("locked", "captcha_required")


def test_one_address_trying_many_accounts_is_locked_out(desk: Desk) -> None:
    # Valid national codes of accounts that do not exist: each failure counts against the address.
    candidates = [f"{n:09d}" for n in range(100_000_000, 100_000_400)]
    codes = [c + str(d) for c in candidates for d in range(10) if _valid(c + str(d))][: PER_CLIENT + 3]
    with browser(desk) as attacker:
        answers = [log_in(attacker, "Any-Password-9", code) for code in codes]
    assert LOCKED in answers[-1].text and answers[-1].status_code in (422, 429)
    assert not any(LOCKED in a.text for a in answers[:4])


def _valid(code: str) -> bool:
    from contracts.persian import is_national_code

    return is_national_code(code)
