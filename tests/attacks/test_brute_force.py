"""Guessing passwords and one-time codes: the captcha appears, the account locks, and an address
shared by many citizens (a پیشخوان office, a carrier's NAT) only ever gets a captcha, never a
lock-out. Real accounts, registered through the pages; every request comes from 127.0.0.1, and
the desk keeps the default limits (an address had been locked out after 20 failures)."""

from __future__ import annotations

import base64
import re

import httpx
import pytest

from contracts.errors import MESSAGES
from contracts.persian import is_national_code, persian_digits
from deploy.run import Desk
from tests.captchas import answer_of, secret_of, solved_fields, token_in
from tests.integration.test_identity_flow import code_for, csrf_of, error_of, post_form

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

NATIONAL_CODE, MOBILE, PASSWORD = "0012345679", "09121234567", "Golbarg-1403!"
OFFICE_CODE, OFFICE_MOBILE = "0067890121", "09351112233"
"""A second citizen, who signs in from the same address while others fail."""
LOCKED = MESSAGES["locked"][1]
CAPTCHA = MESSAGES["captcha_required"][1]
PNG = b"\x89PNG\r\n\x1a\n"


def browser(desk: Desk, gateway: str = "citizen") -> httpx.Client:
    return httpx.Client(base_url=desk.url(gateway), timeout=60, follow_redirects=True)


def log_in(
    desk: Desk, client: httpx.Client, password: str, national_code: str = NATIONAL_CODE
) -> httpx.Response:
    """Open the login page and post it, answering its captcha like a person when it shows one."""
    page = client.get("/login")
    fields = {"national_code": national_code, "password": password, "csrf_token": csrf_of(page)}
    return client.post("/login", data={**fields, **solved_fields(desk, page)})


def register(desk: Desk, national_code: str, mobile: str, seen: set[str]) -> None:
    form = {
        "national_code": national_code,
        "mobile": mobile,
        "birth_date": "1368/04/15",
        "first_name": "مریم",
        "last_name": "کاظمی",
        "password": PASSWORD,
        "password2": PASSWORD,
        "kind": "natural",
    }
    with browser(desk) as citizen:
        code_page = post_form(citizen, "/register/mobile", form)
        assert code_page.url.path == "/code", error_of(code_page)
        done = post_form(citizen, "/code", {"code": code_for(desk, mobile, seen)})
        assert done.url.path == "/account", error_of(done)


@pytest.fixture(scope="module")
def account(desk: Desk) -> set[str]:
    """Two registered citizens; the codes read so far."""
    seen: set[str] = set()
    register(desk, NATIONAL_CODE, MOBILE, seen)
    register(desk, OFFICE_CODE, OFFICE_MOBILE, seen)
    return seen


def strangers(count: int) -> list[str]:
    """Valid national codes of accounts that do not exist."""
    found = (f"{n:09d}{d}" for n in range(100_000_000, 100_001_000) for d in range(10))
    return [code for code in found if is_national_code(code)][:count]


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
        first = log_in(desk, attacker, "Wrong-Guess-1")
        assert first.status_code == 422 and 'id="captcha-image"' in first.text  # from the first failure
        for n in range(2, 8):
            last = log_in(desk, attacker, f"Wrong-Guess-{n}")
        assert last.status_code in (422, 429) and LOCKED in last.text
        right = log_in(desk, attacker, PASSWORD)
        assert right.url.path == "/login" and LOCKED in right.text  # the account stays locked
        api = attacker.post(
            "/api/identity/login", json={"national_code": NATIONAL_CODE, "password": PASSWORD}
        )
        assert api.status_code in (422, 429) and api.json()["error"]["code"] in ("locked", "captcha_required")


def _outside_image_and_token(page: httpx.Response) -> str:
    text = re.sub(r'src="data:image/png;base64,[^"]*"', "", page.text)
    return re.sub(r'name="captcha_token" value="[^"]*"', "", text)


def test_after_three_failures_from_an_address_a_fresh_login_page_shows_a_png_captcha(
    desk: Desk, account: set[str]
) -> None:
    with browser(desk) as someone:
        for code in strangers(25)[:3]:
            log_in(desk, someone, "Any-Password-9", code)
    with browser(desk) as citizen:  # another browser behind the same address
        page = citizen.get("/login")
        token = token_in(page)
        assert token is not None, "the login page must show the captcha this address needs"
        assert "<svg" not in page.text
        image = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', page.text)
        assert image is not None and base64.b64decode(image.group(1)).startswith(PNG)
        assert "کد امنیتی" in image.group(2)
        answer = answer_of(token, secret_of(desk))
        outside = _outside_image_and_token(page)
        assert answer not in outside and persian_digits(answer) not in outside
        session = citizen.cookies.get("pishkhan_citizen", "").split(".")[0]
        assert answer not in base64.b64decode(session + "==").decode()

        # «کد امنیتی جدید» is a plain link: it brings a new image without JavaScript.
        link = re.search(r'<a href="([^"]+)" id="captcha-new">کد امنیتی جدید</a>', page.text)
        assert link is not None
        again = citizen.get(link.group(1).replace("&amp;", "&"))
        fresh = token_in(again)
        assert fresh is not None and fresh != token

        # Without the answer the right password is refused and asked for the captcha...
        login = {"national_code": OFFICE_CODE, "password": PASSWORD, "csrf_token": csrf_of(again)}
        refused = citizen.post("/login", data=login)
        assert refused.url.path == "/login" and error_of(refused) == CAPTCHA
        assert token_in(refused) is not None
        # ...and with it, typed in Persian digits, it signs in.
        answer = answer_of(str(token_in(refused)), secret_of(desk))
        fields = {**login, "csrf_token": csrf_of(refused), "captcha_token": str(token_in(refused))}
        signed = citizen.post("/login", data={**fields, "captcha": persian_digits(answer)})
        assert signed.url.path == "/account", error_of(signed)

    with browser(desk, "backoffice") as office:  # staff sign in from the same address
        assert token_in(office.get("/login")) is not None


def test_many_accounts_failing_behind_one_address_never_lock_out_the_others(
    desk: Desk, account: set[str]
) -> None:
    with browser(desk) as others:
        answers = [log_in(desk, others, "Any-Password-9", code) for code in strangers(25)[3:]]
    assert all(a.status_code == 422 and LOCKED not in a.text for a in answers)
    assert error_of(answers[-1]) == MESSAGES["bad_credentials"][1]  # still a captcha, not a lock
    with browser(desk) as citizen:
        signed = log_in(desk, citizen, PASSWORD, OFFICE_CODE)
        assert signed.url.path == "/account", error_of(signed)
