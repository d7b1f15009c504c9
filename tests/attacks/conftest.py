"""Attacks against a whole running desk (PostgreSQL): one desk per module, clients signed in as
chosen principals, and requests filed through the citizen pages or appended as events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from contracts.events import new_event
from contracts.requests import Applicant, RequestSubmitted
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from tests.desk import CSRF_FOR_TESTS, running_desk, session_cookie
from tests.integration.test_identity_flow import code_for, identity_env, post_form
from tests.unit.test_requests_files import PDF

TOKEN = {"csrf_token": CSRF_FOR_TESTS}
LETTER_SERVICE = "17011230002"  # a letter any signed-in citizen (assurance 1) may send


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """One desk per module, with identity's test settings (an administrator, the code file)."""
    folder = tmp_path_factory.mktemp("attacks")
    with running_desk(folder, "postgresql", **identity_env(folder)) as running:
        yield running


def citizen_principal(name: str, national_code: str = "0084575948") -> Principal:
    """A signed-in citizen of assurance level 1 (enough to send letters); `session_cookie`
    registers the account."""
    return Principal(
        account_id=f"acc-{name}-{uuid.uuid4().hex[:6]}",
        kind="citizen",
        display_name=name,
        national_code=national_code,
        mobile="09123456789",
        assurance_level=1,
    )


def staff_principal(role: str, province: str | None = None, unit: str | None = None) -> Principal:
    """A signed-in staff member of one role (and province or unit; a desk officer's province
    too); `session_cookie` makes the account with that role."""
    return Principal(
        account_id=f"{role}-{province or unit or 'x'}",
        kind="staff",
        display_name=f"{role} {province or unit or ''}",
        roles=(role,),
        province=province if role == "clerk" else None,
        unit=unit if role == "representative" else None,
        scopes={role: {"province": province, "unit": unit}},
    )


def client(desk: Desk, principal: Principal | None, gateway: str | None = None) -> httpx.Client:
    """An httpx client on the principal's gateway with its signed session and CSRF header."""
    name = gateway or ("backoffice" if principal is not None and principal.kind == "staff" else "citizen")
    made = httpx.Client(base_url=desk.url(name), timeout=60, headers={"X-CSRF-Token": CSRF_FOR_TESTS})
    if principal is not None:
        cookie = session_cookie(desk, principal)
        made.cookies.set(cookie["name"], cookie["value"])
    return made


def file_letter(citizen: httpx.Client, subject: str = "درخواست آزمایشی", **extra: str) -> tuple[str, str]:
    """File a letter through the citizen pages; its request id and tracking code."""
    started = citizen.post(f"/services/{LETTER_SERVICE}/start", data={**TOKEN, "consent": "yes"})
    assert started.status_code == 303, started.text[:300]
    draft = started.headers["location"].rsplit("/", 1)[1]
    letter = {
        **TOKEN,
        "step": "1",
        "kind": "natural",
        "full_name": "مریم کاظمی",
        "national_code": "0084575948",
        "mobile": "09123456789",
        "province": "tehran",
        "subject": subject,
        "action": "submit",
        **extra,
    }
    sent = citizen.post(f"/drafts/{draft}", data=letter, files={"file": ("نامه.pdf", PDF, "application/pdf")})
    assert sent.status_code == 303, re.findall(
        r"class=\"(?:alert error|field-error)\"[^>]*>([^<]+)<", sent.text
    )
    request_id = sent.headers["location"].split("/")[2]
    code = re.search(r'data-code="(\d{12})"', citizen.get(sent.headers["location"]).text)
    assert code is not None
    return request_id, code.group(1)


def new_draft(citizen: httpx.Client) -> str:
    """A fresh letter draft's id."""
    started = citizen.post(f"/services/{LETTER_SERVICE}/start", data={**TOKEN, "consent": "yes"})
    assert started.status_code == 303
    return str(started.headers["location"].rsplit("/", 1)[1])


def append_request(desk: Desk, province: str = "tehran", **fields: str) -> str:
    """A submitted request appended straight to the store (for back-office attacks)."""
    request_id = uuid.uuid4().hex
    event = RequestSubmitted(
        request_id=request_id,
        tracking_code=str(uuid.uuid4().int)[:12],
        applicant=Applicant(
            national_code="0084575948",
            full_name=fields.pop("full_name", "مریم کاظمی"),
            mobile="09123456789",
        ),
        province=province,
        subject=fields.pop("subject", "درخواست مجوز"),
        text=fields.pop("text", "متن"),
        submitted_at=datetime.now(UTC).isoformat(),
    )
    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        store.append(f"request-{request_id}", [new_event(event)])
    finally:
        store.close()
    return request_id


def register(desk: Desk, national_code: str, mobile: str, password: str = "Golbarg-1403!") -> httpx.Client:
    """A citizen registered by mobile through the pages; the signed-in browser-like client."""
    form = {
        "national_code": national_code,
        "mobile": mobile,
        "birth_date": "1368/04/15",
        "first_name": "مریم",
        "last_name": "کاظمی",
        "password": password,
        "password2": password,
        "kind": "natural",
    }
    citizen = httpx.Client(base_url=desk.url("citizen"), timeout=60, follow_redirects=True)
    code_page = post_form(citizen, "/register/mobile", form)
    assert code_page.url.path == "/code", code_page.text[-400:]
    done = post_form(citizen, "/code", {"code": code_for(desk, mobile, set())})
    assert done.url.path == "/account"
    return citizen
