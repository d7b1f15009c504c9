"""Through the back-office gateway: each staff member sees only their scope; the overview's CSV,
the printable reply and its PDF."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from contracts.events import new_event
from contracts.requests import Applicant, RequestSubmitted
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from tests.desk import CSRF_FOR_TESTS, running_desk, signed_in_client

pytestmark = pytest.mark.integration

T = TypeVar("T")

TEHRAN = Principal(
    account_id="c-1", kind="staff", display_name="دبیر تهران", roles=("clerk",), province="tehran"
)
ISFAHAN = Principal(
    account_id="c-2", kind="staff", display_name="دبیر اصفهان", roles=("clerk",), province="isfahan"
)
PERMITS = Principal(
    account_id="r-1", kind="staff", display_name="پیگیر مجوز", roles=("representative",), unit="permits"
)


def eventually(check: Callable[[], T | None], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"not reached in {timeout}s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("scope"), "postgresql") as running:
        yield running


def submit(desk: Desk) -> str:
    request_id = uuid.uuid4().hex
    event = RequestSubmitted(
        request_id=request_id,
        tracking_code=str(uuid.uuid4().int)[:12],
        applicant=Applicant(national_code="0084575948", full_name="مریم کاظمی", mobile="09123456789"),
        province="tehran",
        subject="درخواست مجوز",
        text="متن",
        submitted_at=datetime.now(UTC).isoformat(),
    )
    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        store.append(f"request-{request_id}", [new_event(event)])
    finally:
        store.close()
    return request_id


def test_scope_is_enforced_and_reports_print(desk: Desk) -> None:
    request_id = submit(desk)
    with (
        signed_in_client(desk, TEHRAN) as tehran,
        signed_in_client(desk, ISFAHAN) as isfahan,
        signed_in_client(desk, PERMITS) as permits,
    ):
        eventually(
            lambda: any(i["request_id"] == request_id for i in tehran.get("/api/inbox").json()["items"])
        )
        assert isfahan.get("/api/inbox").json()["items"] == []
        for outsider in (isfahan, permits):
            hidden = outsider.get(f"/api/requests/{request_id}")
            assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "request_not_found")
        refused = isfahan.post(f"/api/requests/{request_id}/number")
        assert refused.status_code == 404

        assert tehran.post(f"/api/requests/{request_id}/number").status_code == 201
        eventually(lambda: tehran.get(f"/api/requests/{request_id}").json()["case"]["registration_number"])
        form = {
            "csrf_token": CSRF_FOR_TESTS,
            "unit": "permits",
            "instruction": "بررسی شود",
            "command_id": "refer-command-1",
        }
        referred = tehran.post(f"/secretariat/cases/{request_id}/refer", data=form)
        assert referred.status_code == 303, referred.text[:300]

        def referred_file() -> dict[str, Any] | None:
            answer = permits.get(f"/api/requests/{request_id}")
            if answer.status_code != 200 or answer.json()["case"]["holder_unit"] != "permits":
                return None  # the referral has not reached the cartable yet
            return dict(answer.json())

        file = eventually(referred_file)  # fails if the unit never holds it
        assert file["case"]["holder_unit"] == "permits"

        reply = permits.post(
            f"/api/requests/{request_id}/replies",
            json={"body": "مجوز صادر شد.", "legal_basis": "ماده ۵", "appeal_authority": "هیئت تجدیدنظر"},
        )
        assert reply.status_code == 201, reply.text
        reply_id = reply.json()["reply_id"]
        eventually(lambda: tehran.get(f"/api/requests/{request_id}").json()["replies"])
        printed = tehran.get(f"/secretariat/cases/{request_id}/replies/{reply_id}/print")
        assert (
            printed.status_code == 200
            and "مفاد اصلی پاسخ" in printed.text
            and "مجوز صادر شد." in printed.text
        )
        pdf = tehran.get(f"/secretariat/cases/{request_id}/replies/{reply_id}/pdf")
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
        assert isfahan.get(f"/secretariat/cases/{request_id}/replies/{reply_id}/pdf").status_code == 404

        csv = tehran.get("/secretariat/overview.csv")
        assert csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.lstrip("\ufeff").splitlines()
        assert lines[0].startswith("گروه,نام")
        assert any(line.startswith("دبیرخانه,") and ",1," in line for line in lines[1:])
        assert isfahan.get("/secretariat/overview.csv").text.lstrip("\ufeff").splitlines()[1:] == []
