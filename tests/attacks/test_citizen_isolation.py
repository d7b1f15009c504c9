"""Citizen B cannot read, change or track citizen A's requests and drafts by id, tracking code
or URL: pages, receipts, replies, attachments, drafts, resubmission, tracking and the survey."""

from __future__ import annotations

import re
import uuid

import pytest

from deploy.run import Desk
from tests.attacks.conftest import TOKEN, citizen_principal, client, file_letter, new_draft
from tests.integration.test_walking_skeleton import eventually
from tests.unit.test_requests_files import PDF

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

OTHER_NATIONAL_CODE = "0012345679"


def test_citizen_b_cannot_reach_citizen_a_requests(desk: Desk) -> None:
    owner, intruder = citizen_principal("الف"), citizen_principal("ب", OTHER_NATIONAL_CODE)
    with client(desk, owner) as a, client(desk, intruder) as b:
        request_id, tracking = file_letter(a, subject="نامه محرمانه الف")
        detail = eventually(lambda: (page := a.get(f"/requests/{request_id}")).status_code == 200 and page)
        link = re.search(r'href="(/requests/[0-9a-f]+/attachments/[0-9a-f]{64})"', detail.text)
        assert link is not None and a.get(link.group(1)).content == PDF
        reply = f"/requests/{request_id}/replies/{uuid.uuid4().hex}"

        for path in (f"/requests/{request_id}", f"/requests/{request_id}/receipt", reply, link.group(1)):
            hidden = b.get(path)
            assert hidden.status_code == 404, (path, hidden.status_code)
            assert "محرمانه" not in hidden.text and hidden.content != PDF
        assert request_id not in b.get("/cartable?folder=all").text
        for folder in ("awaiting", "progress", "done"):
            assert request_id not in b.get(f"/cartable?folder={folder}").text

        changed = b.post(
            f"/requests/{request_id}/resubmit",
            data={**TOKEN, "subject": "تغییر داده شد", "text": "ب"},
            files={"file": ("x.pdf", PDF, "application/pdf")},
        )
        assert changed.status_code == 404, changed.status_code
        assert "تغییر داده شد" not in a.get(f"/requests/{request_id}").text

        # Tracking needs the applicant's own second factor; the API's national code too.
        assert (
            b.get(f"/api/requests/{tracking}", params={"national_code": OTHER_NATIONAL_CODE}).status_code
            == 404
        )
        page = b.post("/track", data={**TOKEN, "tracking_code": tracking, "second_factor": "09350000000"})
        assert page.status_code == 404 and "محرمانه" not in page.text
        survey = b.post(
            "/api/survey/open", json={"tracking_code": tracking, "national_code": OTHER_NATIONAL_CODE}
        )
        assert survey.status_code in (404, 409, 422) and "محرمانه" not in survey.text


def test_citizen_b_cannot_open_change_or_discard_citizen_a_draft(desk: Desk) -> None:
    owner, intruder = citizen_principal("الف"), citizen_principal("ب", OTHER_NATIONAL_CODE)
    with client(desk, owner) as a, client(desk, intruder) as b:
        draft = new_draft(a)
        saved = a.post(
            f"/drafts/{draft}", data={**TOKEN, "step": "1", "action": "save", "subject": "پیش‌نویس الف"}
        )
        assert saved.status_code == 200 and "پیش‌نویس الف" in saved.text

        assert b.get(f"/drafts/{draft}").status_code == 404
        forged = b.post(
            f"/drafts/{draft}", data={**TOKEN, "step": "1", "action": "save", "subject": "دستکاری"}
        )
        assert forged.status_code == 404
        upload = b.post(
            f"/drafts/{draft}",
            data={**TOKEN, "step": "1", "action": "upload"},
            files={"file": ("x.pdf", PDF, "application/pdf")},
        )
        assert upload.status_code == 404
        submit = b.post(f"/drafts/{draft}", data={**TOKEN, "step": "1", "action": "submit"})
        assert submit.status_code == 404
        assert b.post(f"/drafts/{draft}/discard", data=TOKEN).status_code == 404

        mine = a.get(f"/drafts/{draft}")
        assert mine.status_code == 200 and "پیش‌نویس الف" in mine.text and "دستکاری" not in mine.text
        assert "x.pdf" not in mine.text


def test_signed_out_visitors_and_staff_cookies_get_nothing_on_the_citizen_gateway(desk: Desk) -> None:
    owner = citizen_principal("الف")
    with client(desk, owner) as a, client(desk, None) as anonymous:
        request_id, _ = file_letter(a)
        for path in (f"/requests/{request_id}", f"/requests/{request_id}/receipt", "/cartable"):
            answer = anonymous.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_citizen_b_reusing_citizen_a_idempotency_key_gets_a_request_of_its_own(desk: Desk) -> None:
    owner, intruder = citizen_principal("الف"), citizen_principal("ب", OTHER_NATIONAL_CODE)
    key = {"Idempotency-Key": f"shared-{uuid.uuid4().hex}"}
    body = {
        "national_code": OTHER_NATIONAL_CODE,
        "full_name": "علی رضایی",
        "mobile": "09121111111",
        "province": "tehran",
        "subject": "نامه",
        "text": "متن",
    }
    with client(desk, owner) as a, client(desk, intruder) as b:
        first = a.post("/api/requests", json={**body, "national_code": "0084575948"}, headers=key)
        again = a.post("/api/requests", json={**body, "national_code": "0084575948"}, headers=key)
        assert first.status_code == again.status_code == 201, first.text
        assert again.json() == first.json()  # the owner's retry is the same command

        other = b.post("/api/requests", json=body, headers=key)
        assert other.status_code == 201, other.text
        assert other.json()["request_id"] != first.json()["request_id"]
        assert other.json()["tracking_code"] != first.json()["tracking_code"]

        malformed = b.post("/api/requests", json=body, headers={"Idempotency-Key": "a b"})
        assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "invalid_input"
