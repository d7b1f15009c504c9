"""Input at the boundary, through the real gateways of a running desk (PostgreSQL): what no read
model can store is refused with a clear code, codes typed with other digits are the same code,
a province with no secretariat is refused, and a parked event makes the desk `degraded`.

A subject holding NUL was once accepted (201, tracking code by SMS) and then parked in three
read models; a fullwidth-digit copy of a national code opened a second account; a request for
the province `atlantis` was accepted that no secretariat would ever see.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from contracts.events import new_event
from contracts.requests import Applicant, RequestSubmitted
from deploy.run import ROOT, Desk
from infra.eventstore import open_store
from tests.attacks.conftest import TOKEN, citizen_principal, client, new_draft, register, staff_principal
from tests.integration.test_identity_flow import code_for, post_form

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

REQUEST = {
    "national_code": "0084575948",
    "full_name": "مریم کاظمی",
    "mobile": "09123456789",
    "province": "tehran",
    "subject": "درخواست مجوز",
    "text": "متن درخواست",
}


def _stored(desk: Desk, *types: str) -> int:
    """How many events of `types` the desk's store holds."""
    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        count, position = 0, 0
        while page := store.read_all(position, types=list(types), limit=1000):
            count += len(page)
            position = page[-1].position
        return count
    finally:
        store.close()


def test_a_nul_in_the_subject_is_refused_with_a_clear_code_and_nothing_is_stored(desk: Desk) -> None:
    before = _stored(desk, "RequestSubmitted", "TrackingCodeIssued")
    with httpx.Client(base_url=desk.url("citizen"), timeout=60) as api:
        for subject in ("درخواست\u0000مجوز", "درخواست\u202eزوجم", "\u200c\u200b\ufeff"):
            refused = api.post("/api/requests", json={**REQUEST, "subject": subject})
            assert refused.status_code == 422, refused.text
            error = refused.json()["error"]
            assert error["code"] == "invalid_input" and "subject" in error["detail"], error
        nul = api.post("/api/requests", json={**REQUEST, "subject": "درخواست\u0000مجوز"}).json()["error"]
        assert "«موضوع»" in nul["detail"] and "U+0000" in nul["detail"]
        # Persian digits typed in free text stay Persian; codes typed with them are codes.
        accepted = api.post(
            "/api/requests", json={**REQUEST, "national_code": "۰۰۸۴۵۷۵۹۴۸", "subject": "پروانه ۱۴۰۳"}
        )
        assert accepted.status_code == 201, accepted.text
    assert _stored(desk, "RequestSubmitted", "TrackingCodeIssued") == before + 2
    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        first = store.read_stream(f"request-{accepted.json()['request_id']}")[0].data
    finally:
        store.close()
    assert (first["subject"], first["applicant"]["national_code"]) == ("پروانه ۱۴۰۳", "0084575948")


def test_a_letter_with_a_bidi_override_is_refused_on_the_page_in_persian(desk: Desk) -> None:
    with client(desk, citizen_principal("نامه")) as citizen:
        draft = new_draft(citizen)
        letter = {
            **TOKEN,
            "step": "1",
            "kind": "natural",
            "full_name": "مریم کاظمی",
            "national_code": "0084575948",
            "mobile": "09123456789",
            "province": "tehran",
            "subject": "گزارش \u202eکارمند\u202c",
            "action": "save",
        }
        page = citizen.post(f"/drafts/{draft}", data=letter)
        assert page.status_code == 422, page.text[-500:]
        shown = re.search(r'id="error">([^<]+)<', page.text)
        assert shown is not None and "«موضوع»" in shown.group(1) and "U+202E" in shown.group(1)
        assert "\u202e" not in page.text  # what was typed comes back without it, for correcting
        assert "گزارش کارمند" in page.text
        assert "\u202e" not in citizen.get(f"/drafts/{draft}").text  # and the draft kept nothing of it


def test_a_province_with_no_secretariat_is_refused(desk: Desk) -> None:
    before = _stored(desk, "RequestSubmitted", "TrackingCodeIssued")
    with httpx.Client(base_url=desk.url("citizen"), timeout=60) as api:
        refused = api.post("/api/requests", json={**REQUEST, "province": "atlantis", "subject": "x2"})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_province" and "استان" in error["message"]
    assert _stored(desk, "RequestSubmitted", "TrackingCodeIssued") == before


def test_search_boxes_never_fail_on_what_was_typed(desk: Desk) -> None:
    with client(desk, citizen_principal("جستجو")) as api:
        tracked = api.get("/api/requests/123456789012", params={"national_code": "0084\u00005948"})
        assert tracked.status_code in (404, 422), tracked.text
        page = api.post("/track", data={**TOKEN, "tracking_code": "1234\x00", "second_factor": "x\x00"})
        assert page.status_code in (404, 422) and "خطای داخلی" not in page.text
    with client(desk, staff_principal("clerk", province="tehran")) as clerk:
        for box in ("tracking_code", "national_code", "registration_number", "status", "unit"):
            found = clerk.get("/api/inbox", params={box: "۱۲\x00\u202e"})
            assert found.status_code == 422, (box, found.status_code, found.text[:300])
            assert found.json()["error"]["code"] == "invalid_input"
            page = clerk.get("/secretariat/cartable", params={box: "۱۲\x00"})
            assert page.status_code == 200 and 'id="error"' in page.text, (box, page.status_code)


def test_a_national_code_typed_in_fullwidth_digits_is_the_same_person(desk: Desk) -> None:
    register(desk, "0012345679", "09121230001").close()
    fullwidth = "".join(chr(0xFF10 + int(d)) for d in "0012345679")
    form = {
        "national_code": fullwidth,
        "mobile": "09121230002",
        "birth_date": "1368/04/15",
        "first_name": "مریم",
        "last_name": "کاظمی",
        "password": "Golbarg-1403!",
        "password2": "Golbarg-1403!",
        "kind": "natural",
    }
    with httpx.Client(base_url=desk.url("citizen"), timeout=60, follow_redirects=True) as second:
        page = post_form(second, "/register/mobile", form)
        if page.url.path == "/code":
            page = post_form(second, "/code", {"code": code_for(desk, "09121230002", set())})
        assert page.url.path != "/account", "a second account for the same national code"
        assert "پیش‌تر ثبت نام شده" in page.text, page.text[-600:]
    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        codes = [e.data["national_code"] for e in store.read_all(0, types=["CitizenRegistered"], limit=1000)]
    finally:
        store.close()
    assert codes.count("0012345679") == 1 and fullwidth not in codes


def test_a_parked_event_makes_the_desk_degraded_and_stats_lists_it(desk: Desk) -> None:
    """Last in this module: the event it parks stays parked."""
    with httpx.Client(base_url=desk.url("citizen"), timeout=60) as api:
        healthy = api.get("/healthz")
        assert healthy.status_code == 200 and healthy.json()["parked"] == {}, healthy.text
        request_id = uuid.uuid4().hex
        broken = RequestSubmitted(  # what the command side once accepted: PostgreSQL text holds no NUL
            request_id=request_id,
            tracking_code=str(uuid.uuid4().int)[:12],
            applicant=Applicant(national_code="0084575948", full_name="مریم کاظمی", mobile="09123456789"),
            province="tehran",
            subject="درخواست\u0000مجوز",
            text="متن",
            submitted_at=datetime.now(UTC).isoformat(),
        )
        store = open_store(desk.env["EVENTSTORE_URL"])
        try:
            store.append(f"request-{request_id}", [new_event(broken)])
        finally:
            store.close()
        deadline = time.monotonic() + 120  # each projection retries it with back-off, then parks it
        while (health := api.get("/healthz")).json()["parked"].get("requests.citizen_view") is None:
            assert time.monotonic() < deadline, health.text
            time.sleep(0.5)
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded" and body["services"]["requests"].startswith("degraded")
    assert body["services"]["identity"] == "ok"  # its read models hold nothing of the request
    assert body["parked"]["requests.citizen_view"] == 1

    printed = subprocess.run(
        [sys.executable, "-m", "infra.cli", "stats"],
        env=dict(desk.env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    incidents = printed.split("parked events:")[1]
    assert re.search(
        r"requests\.citizen_view\s+1 parked\s+first at position \d+ \(RequestSubmitted\)", incidents
    )
