"""Identity through the real pages of both gateways, RabbitMQ, the simulators and PostgreSQL:
registration by mobile and by registry, logins, lock-out, cookies and CSRF, staff login."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contracts.persian import latin_digits
from deploy.run import Desk
from infra.eventstore import open_store
from services.notify.providers import OutboxProvider
from tests.captchas import solved_fields, token_in
from tests.desk import running_desk

pytestmark = pytest.mark.integration

ADMIN = {
    "ADMIN_NATIONAL_CODE": "0045678901",
    "ADMIN_PASSWORD": "Admin-Secret-2025",
    "ADMIN_MOBILE": "09131234567",
}
PASSWORD = "Golbarg-1403!"


def identity_env(folder: Path) -> dict[str, str]:
    """What the identity tests need of a desk: an administrator, a short registry time-out, and
    the test-only code file (used only when the SMS outbox has not got the code)."""
    return {**ADMIN, "CIVIL_REGISTRY_TIMEOUT": "1", "IDENTITY_TEST_CODES_FILE": str(folder / "codes.txt")}


def code_for(desk: Desk, mobile: str, seen: set[str], timeout: float = 30) -> str:
    """The newest one-time code sent to `mobile` that was not read before: from the SMS outbox,
    else from the test-only code file."""
    outbox = OutboxProvider(desk.env["SMS_OUTBOX_URL"])
    codes_file = Path(desk.env["IDENTITY_TEST_CODES_FILE"])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            found = [
                match
                for message in outbox.messages()
                if message["to"] == mobile
                for match in re.findall(r"(?<!\d)\d{6}(?!\d)", latin_digits(str(message["text"])))
            ]
            if codes_file.exists():
                lines = codes_file.read_text(encoding="utf-8").splitlines()
                found += [line.split()[2] for line in lines if line.startswith(mobile)]
            fresh = [code for code in reversed(found) if code not in seen]
            if fresh:
                seen.add(fresh[0])
                return fresh[0]
            time.sleep(0.2)
    finally:
        outbox.db.dispose()
    raise AssertionError(f"no code for {mobile} in {timeout}s")


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def post_form(
    client: httpx.Client, path: str, data: dict[str, str], page: str | None = None
) -> httpx.Response:
    """Open the form's page for its CSRF token, then post it."""
    token = csrf_of(client.get(page or path))
    return client.post(path, data={**data, "csrf_token": token})


def solve_captcha(
    desk: Desk, client: httpx.Client, page: httpx.Response, path: str, data: dict[str, str]
) -> httpx.Response:
    """When `page` came back to the login form with a captcha, answer it (`tests.captchas`) and
    post `data` again; otherwise `page` itself."""
    if page.url.path != "/login" or token_in(page) is None:
        return page
    return client.post(path, data={**data, **solved_fields(desk, page), "csrf_token": csrf_of(page)})


def error_of(page: httpx.Response) -> str:
    match = re.search(r'id="error">([^<]+)<', page.text)
    return match.group(1) if match else ""


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("identity")
    with running_desk(folder, "postgresql", **identity_env(folder)) as running:
        yield running


@pytest.fixture
def citizen(desk: Desk) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=desk.url("citizen"), timeout=30, follow_redirects=True) as client:
        yield client


def test_register_by_mobile_then_log_in_three_ways(desk: Desk, citizen: httpx.Client) -> None:
    seen: set[str] = set()
    form = {
        "national_code": "۰۰۱۲۳۴۵۶۷۹",
        "mobile": "+98 912 123 4567",
        "birth_date": "۱۳۶۸/۴/۱۵",
        "first_name": "مريم",
        "last_name": "کاظمی",
        "password": PASSWORD,
        "password2": PASSWORD,
        "kind": "natural",
    }
    code_page = post_form(citizen, "/register/mobile", form)
    assert code_page.url.path == "/code" and "کد تایید" in code_page.text
    cookie = code_page.history[0].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    account = post_form(citizen, "/code", {"code": code_for(desk, "09121234567", seen)})
    assert account.url.path == "/account", error_of(account)
    assert 'data-level="2"' in account.text  # mobile proven, then Shahkar matched
    assert "مریم کاظمی" in account.text

    logout_token = csrf_of(account)
    citizen.post("/logout", data={"csrf_token": logout_token})
    wrong = post_form(citizen, "/login", {"national_code": "0012345679", "password": "Not-My-Pass-9"})
    assert wrong.status_code == 422 and error_of(wrong) == "نام کاربری یا کلمه عبور نادرست است."
    assert 'id="captcha-image"' in wrong.text  # a captcha from the first failure on
    right = post_form(
        citizen, "/login?next=/account", {"national_code": "0012345679", "password": PASSWORD}, "/login"
    )
    # The captcha is now part of the form.
    right = solve_captcha(
        desk, citizen, right, "/login?next=/account", {"national_code": "0012345679", "password": PASSWORD}
    )
    assert right.url.path == "/account", error_of(right)

    citizen.post("/logout", data={"csrf_token": csrf_of(right)})
    sent = post_form(citizen, "/login/code", {"national_code": "0012345679"})
    assert sent.url.path == "/code"
    signed = post_form(citizen, "/code", {"code": code_for(desk, "09121234567", seen)})
    assert signed.url.path == "/account"

    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        audit = [e.data for e in store.read_all(0, types=["LoginSucceeded", "LoginFailed"])]
    finally:
        store.close()
    assert [d["method"] for d in audit if "reason" not in d] == ["password", "code"]
    assert any(d.get("reason") == "bad_password" and d["identifier"] == "0012345679" for d in audit)


def test_registry_registration_refuses_the_deceased_and_survives_a_slow_registry(
    desk: Desk, citizen: httpx.Client
) -> None:
    dead = post_form(
        citizen,
        "/register/registry",
        {"national_code": "0034567895", "birth_date": "1320/01/20", "action": "inquire"},
    )
    assert dead.status_code == 422 and "در قید حیات نیست" in error_of(dead)
    slow = post_form(
        citizen,
        "/register/registry",
        {"national_code": "0078901235", "birth_date": "1370/01/01", "action": "inquire"},
    )
    assert slow.status_code == 422 and "«استعلام»" in error_of(slow)
    assert 'value="۰۰۷۸۹۰۱۲۳۵"' in slow.text  # what was typed is kept for the retry, in Persian digits
    bad = post_form(
        citizen, "/register/registry", {"national_code": "0034567896", "birth_date": "1320/01/20"}
    )
    assert error_of(bad) == "کد ملی وارد شده معتبر نیست."
    found = post_form(
        citizen,
        "/register/registry",
        {"national_code": "0023456787", "birth_date": "1360/11/02", "action": "inquire"},
    )
    assert found.status_code == 200 and "رضایی" in found.text and "زنده" in found.text


def test_forms_without_the_csrf_token_are_refused(citizen: httpx.Client) -> None:
    citizen.get("/login")
    refused = citizen.post("/login", data={"national_code": "0012345679", "password": PASSWORD})
    assert refused.status_code == 403 and 'data-code="csrf_failed"' in refused.text


def test_the_first_administrator_logs_in_with_password_and_code(desk: Desk) -> None:
    with httpx.Client(base_url=desk.url("backoffice"), timeout=30, follow_redirects=True) as office:
        code_page = post_form(
            office, "/login", {"national_code": "0045678901", "password": ADMIN["ADMIN_PASSWORD"]}
        )
        assert code_page.url.path == "/login/code"
        home = post_form(
            office, "/login/code", {"code": code_for(desk, "09131234567", set()), "action": "verify"}
        )
        assert home.url.path == "/identity/home" and 'id="to-staff"' in home.text
        staff = office.get("/identity/staff")
        assert "0045678901" in latin_digits(staff.text)


def test_the_json_api_answers_stable_codes_and_never_says_whether_an_account_exists(desk: Desk) -> None:
    with httpx.Client(base_url=desk.url("citizen"), timeout=30) as api:
        assert api.get("/api/identity/me").json()["error"]["code"] == "not_signed_in"
        bad = api.post("/api/identity/login", json={"national_code": "0012345678", "password": "x"})
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_national_code")
        for _ in range(3):  # earlier tests' failures from this address may already ask for a captcha
            nobody = api.post(
                "/api/identity/login", json={"national_code": "0022334459", "password": "Whatever-123"}
            )
            assert (nobody.status_code, nobody.json()["error"]["code"]) in (
                (401, "bad_credentials"),
                (422, "captcha_required"),
            )
        spoofed = api.post(
            "/api/identity/login",
            json={
                "national_code": "0022334459",
                "password": "Whatever-123",
                "captcha": {"token": f"{'a' * 32}.1.{'b' * 64}", "answer": "12345"},
                "client": "x",
            },
        )
        # The gateway sets the client address and the captcha, never the caller.
        assert (spoofed.status_code, spoofed.json()["error"]["code"]) == (422, "captcha_required")


def test_register_by_registry_then_every_account_page(desk: Desk, citizen: httpx.Client) -> None:
    form = {
        "national_code": "0011223340",
        "birth_date": "1370/05/20",
        "mobile": "09123334455",
        "password": "Narges-Taheri-70",
        "password2": "Narges-Taheri-70",
        "kind": "legal",
        "company_name": "شرکت نمونه",
        "national_id": "10380284790",
        "economic_code": "",
        "capacity": "owner",
        "action": "register",
    }
    code_page = post_form(citizen, "/register/registry", form)
    assert code_page.url.path == "/code", error_of(code_page)
    account = post_form(citizen, "/code", {"code": code_for(desk, "09123334455", set())})
    assert 'data-level="3"' in account.text and "طاهری" in account.text and "شرکت نمونه" in account.text
    for path in ("/account/edit", "/account/password", "/account/mobile", "/verification"):
        page = citizen.get(path)
        assert page.status_code == 200 and 'dir="rtl"' in page.text, path
    edited = post_form(
        citizen, "/account/edit", {"email": "n@example.ir", "address": "تهران", "kind": "natural"}
    )
    assert edited.url.path == "/account" and "n@example.ir" in edited.text
    weak = post_form(
        citizen,
        "/account/password",
        {"current_password": "Narges-Taheri-70", "new_password": "12345678", "new_password2": "12345678"},
    )
    assert weak.status_code == 422 and "کلمه عبور باید" in error_of(weak)
    assert "هویت شما تایید شد" in citizen.get("/verification").text  # the registry already verified it
