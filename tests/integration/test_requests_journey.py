"""The citizen's journey through the citizen gateway, RabbitMQ, the requests service and
PostgreSQL: catalogue, consent, the wizard with a refused disguised file, submit, receipt with
the SMS status, cartable, return for correction and resubmission, public tracking and its
limit; and the administrator's catalogue pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contracts.envelope import StreamState
from contracts.events import new_event
from contracts.secretariat import ReturnedForCorrection
from deploy.run import Desk
from gateway.rpc import RpcPool
from gateway.web.auth import Principal
from infra.eventstore import open_store
from tests.desk import CSRF_FOR_TESTS, running_desk, session_cookie
from tests.integration.test_walking_skeleton import eventually
from tests.unit.test_requests_files import EXE, PDF

pytestmark = pytest.mark.integration

CITIZEN = Principal(
    account_id="acc-maryam",
    kind="citizen",
    display_name="مریم کاظمی",
    national_code="0084575948",
    mobile="09123456789",
    assurance_level=1,
)
ADMIN = Principal(account_id="admin-1", kind="staff", display_name="مدیر سامانه", roles=("admin",))
SERVICE = "10012134001"
TOKEN = {"csrf_token": CSRF_FOR_TESTS}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder: Path = tmp_path_factory.mktemp("desk")
    with running_desk(folder, "postgresql", TRACK_ATTEMPTS="3/600") as running:
        yield running


def _client(desk: Desk, principal: Principal | None) -> httpx.Client:
    gateway = "backoffice" if principal is not None and principal.kind == "staff" else "citizen"
    client = httpx.Client(base_url=desk.url(gateway), timeout=30)
    if principal is not None:
        cookie = session_cookie(desk, principal)
        client.cookies.set(cookie["name"], cookie["value"])
    return client


@pytest.fixture
def citizen(desk: Desk) -> Iterator[httpx.Client]:
    with _client(desk, CITIZEN) as client:
        yield client


def _step(client: httpx.Client, draft: str, step: int, action: str, **fields: str) -> httpx.Response:
    return client.post(f"/drafts/{draft}", data={**TOKEN, "step": str(step), "action": action, **fields})


def test_wizard_to_receipt_cartable_correction_and_public_tracking(desk: Desk, citizen: httpx.Client) -> None:
    home = eventually(lambda: (page := citizen.get("/")).status_code == 200 and SERVICE in page.text and page)
    assert "دفتر برنامه ریزی و مدیریت توسعه روستایی" in home.text and "درجه بندی دهیاری های کشور" in home.text
    card = citizen.get(f"/services/{SERVICE}")
    assert "حداکثر اندازه فایل : ۸۰ کیلوبایت" in card.text and "گردش کار" in card.text

    refused = citizen.post(f"/services/{SERVICE}/start", data=TOKEN)
    assert refused.status_code == 422 and "موافقم" in refused.text
    started = citizen.post(f"/services/{SERVICE}/start", data={**TOKEN, "consent": "yes"})
    assert started.status_code == 303
    draft = started.headers["location"].rsplit("/", 1)[1]

    assert _step(citizen, draft, 1, "next").status_code == 303
    stuck = _step(citizen, draft, 2, "next", text="")
    assert stuck.status_code == 422 and "این فیلد الزامی است." in stuck.text
    _step(citizen, draft, 2, "next", text="درخواست تاسیس دهیاری روستای ده‌نو")
    disguised = citizen.post(
        f"/drafts/{draft}",
        data={**TOKEN, "step": "3", "action": "upload"},
        files={"file": ("صورتجلسه.pdf", EXE, "application/pdf")},
    )
    assert disguised.status_code == 422 and "معتبر نمی باشد" in disguised.text
    uploaded = citizen.post(
        f"/drafts/{draft}",
        data={**TOKEN, "step": "3", "action": "upload"},
        files={"file": ("صورتجلسه.pdf", PDF, "application/pdf")},
    )
    assert (
        uploaded.status_code == 200
        and 'id="attachments"' in uploaded.text
        and "صورتجلسه.pdf" in uploaded.text
    )
    _step(citizen, draft, 3, "next")
    page4 = citizen.get(f"/drafts/{draft}")
    assert 'value="۰۰۸۴۵۷۵۹۴۸"' in page4.text  # prefilled from the signed-in account, in Persian digits
    _step(
        citizen,
        draft,
        4,
        "next",
        national_code="0084575948",
        first_name="مریم",
        last_name="کاظمی",
        mobile="۰۹۱۲۳۴۵۶۷۸۹",
    )
    back = _step(citizen, draft, 5, "back", visit_date="1402/05/01")
    assert back.status_code == 303 and 'value="مریم"' in citizen.get(f"/drafts/{draft}").text
    _step(citizen, draft, 4, "next")
    _step(citizen, draft, 5, "next", visit_officer="ابوالفضل یاری")
    review = citizen.get(f"/drafts/{draft}")
    assert 'id="review"' in review.text and "۱۴۰۲/۰۵/۰۱" in review.text

    submitted = _step(citizen, draft, 6, "submit")
    assert submitted.status_code == 303
    receipt_url = submitted.headers["location"]
    request_id = receipt_url.split("/")[2]
    receipt = citizen.get(receipt_url)
    code = re.search(r'data-code="(\d{12})"', receipt.text)
    assert code is not None and "رسید خدمت" in receipt.text and "ابوالفضل یاری" in receipt.text
    tracking = code.group(1)
    assert (
        citizen.get(f"/drafts/{draft}").headers["location"] == receipt_url
    )  # a used draft shows its receipt

    def sms_sentence() -> str | None:
        found = re.search(r'id="sms-status">([^<]+)<', citizen.get(receipt_url).text)
        return found.group(1) if found and "ارسال شد" in found.group(1) else None

    assert eventually(sms_sentence) == "پیامک تأیید ثبت درخواست برای شهروند ارسال شد"
    progress = eventually(
        lambda: (
            f'data-request="{request_id}"' in (page := citizen.get("/cartable?folder=progress")).text and page
        )
    )
    assert "status-blue" in progress.text

    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        returned = ReturnedForCorrection(
            request_id=request_id, reason="تصویر صورتجلسه خوانا نیست", clerk="c1", holder="c1"
        )
        store.append(f"case-{request_id}", [new_event(returned, actor="clerk:c1")], StreamState.ANY)
    finally:
        store.close()
    awaiting = eventually(
        lambda: "خوانا نیست" in (page := citizen.get("/cartable?folder=awaiting")).text and page
    )
    assert f'data-request="{request_id}"' in awaiting.text
    again = citizen.post(
        f"/requests/{request_id}/resubmit",
        data={**TOKEN, "subject": "صدور مجوز تاسیس", "text": "تصویر خوانا پیوست شد"},
        files={"file": ("تصویر خوانا.pdf", PDF + b"2", "application/pdf")},
    )
    assert again.status_code == 303
    corrected = eventually(
        lambda: "تصویر خوانا پیوست شد" in (page := citizen.get(f"/requests/{request_id}")).text and page
    )
    assert "تصویر خوانا.pdf" in corrected.text and "صورتجلسه.pdf" in corrected.text

    with _client(desk, None) as stranger:
        stranger.get("/track")  # a session, and so a CSRF token, of its own
        token = re.search(r'name="csrf_token" value="([^"]+)"', stranger.get("/track").text)
        assert token is not None
        form = {"csrf_token": token.group(1), "tracking_code": tracking}
        found = stranger.post("/track", data={**form, "second_factor": "09123456789"})
        assert found.status_code == 200 and "ثبت درخواست" in found.text
        assert "کاظمی" not in found.text and "ده‌نو" not in found.text
        for _ in range(3):
            assert stranger.post("/track", data={**form, "second_factor": "09120000000"}).status_code == 404
        limited = stranger.post("/track", data={**form, "second_factor": "09123456789"})
        assert limited.status_code == 422 and "کد امنیتی را درست وارد کنید" in limited.text
        assert 'name="captcha_token"' in limited.text  # a captcha, never a flat refusal
        # one count for every entry point: the API refuses the address too
        api_limited = stranger.get(f"/api/requests/{tracking}", params={"national_code": "0084575948"})
        assert api_limited.status_code == 429
        assert api_limited.json()["error"]["code"] == "track_limited"
    detail = citizen.get(f"/requests/{request_id}")
    link = re.search(r'href="(/requests/[0-9a-f]+/attachments/[0-9a-f]{64})"', detail.text)
    assert link is not None and citizen.get(link.group(1)).content == PDF
    api = citizen.get(f"/api/catalogue/{SERVICE}").json()
    assert (api["form"], api["expected_duration_days"]) == ("wizard", 30)
    with _client(desk, Principal(account_id="acc-other", kind="citizen", display_name="دیگری")) as other:
        assert other.get(f"/requests/{request_id}").status_code == 404
        assert other.get(receipt_url).status_code == 404
        assert other.get(link.group(1)).status_code == 404


def test_the_administrator_publishes_and_retires_a_service(desk: Desk) -> None:
    with _client(desk, ADMIN) as office, _client(desk, CITIZEN) as citizen:
        assert eventually(lambda: "دفتر برنامه ریزی" in (page := office.get("/catalogue")).text and page)
        assert (
            office.post(
                "/catalogue/units", data={**TOKEN, "unit_id": "water", "name": "دفتر آب روستایی"}
            ).status_code
            == 303
        )
        form = {
            **TOKEN,
            "service_id": "10012134009",
            "unit_id": "water",
            "service_type": "انشعاب",
            "name": "درخواست انشعاب آب",
            "expected_duration_days": "12",
            "form": "letter",
            "province": "fars",
            "max_size_kb": "300",
            "max_count": "1",
            "type_pdf": "on",
        }
        bad = office.post("/catalogue/services", data={**form, "service_id": "123"})
        assert bad.status_code == 422 and 'value="درخواست انشعاب آب"' in bad.text
        assert office.post("/catalogue/services", data=form).status_code == 303
        eventually(lambda: "درخواست انشعاب آب" in citizen.get("/").text)
        assert (
            office.post(
                "/catalogue/services/10012134009/retire", data={**TOKEN, "reason": "ادغام"}
            ).status_code
            == 303
        )
        eventually(lambda: "درخواست انشعاب آب" not in citizen.get("/").text)
        assert citizen.get("/catalogue").status_code == 404  # the citizen gateway has no admin pages
    with _client(
        desk, Principal(account_id="clerk-1", kind="staff", display_name="کارشناس", roles=("clerk",))
    ) as clerk:
        assert clerk.get("/catalogue").status_code == 403


def test_letters_of_natural_persons_and_companies_and_the_assurance_they_need(
    desk: Desk, citizen: httpx.Client
) -> None:
    formal = citizen.post("/services/17011230001/start", data={**TOKEN, "consent": "yes"})
    assert formal.status_code == 422 and "سطح احراز هویت شما کافی نیست" in formal.text
    started = citizen.post("/services/17011230002/start", data={**TOKEN, "consent": "yes"})
    draft = started.headers["location"].rsplit("/", 1)[1]
    letter = {
        **TOKEN,
        "step": "1",
        "kind": "natural",
        "full_name": "مريم كاظمی",
        "national_code": "۰۰۸۴۵۷۵۹۴۸",
        "mobile": "09123456789",
        "province": "isfahan",
        "subject": "ارائه پرونده کلاسه ۱۹۷۳۶",
    }
    big = PDF + b"0" * (1024 * 1024)
    oversized = citizen.post(
        f"/drafts/{draft}",
        data={**letter, "action": "submit"},
        files={"file": ("بدنه.pdf", big, "application/pdf")},
    )
    assert oversized.status_code == 422 and "حجم فایل «بدنه.pdf»" in oversized.text
    kept = citizen.get(f"/drafts/{draft}")
    assert 'value="ارائه پرونده کلاسه ۱۹۷۳۶"' in kept.text  # saved before the file was refused, as typed
    incomplete = citizen.post(f"/drafts/{draft}", data={**letter, "subject": "", "action": "submit"})
    assert incomplete.status_code == 422 and "این فیلد الزامی است." in incomplete.text
    company = {
        **letter,
        "kind": "legal",
        "owner_name": "رضا محمدی",
        "owner_national_code": "0084575948",
        "owner_mobile": "09123456789",
        "owner_birth_date": "1360/01/01",
        "company_name": "شرکت نمونه",
        "company_national_id": "10380284790",
    }
    sent = citizen.post(
        f"/drafts/{draft}",
        data={**company, "action": "submit"},
        files={"file": ("بدنه.pdf", PDF, "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    receipt = citizen.get(sent.headers["location"])
    assert "شرکت نمونه" in receipt.text and "اصفهان" in receipt.text and "حقوقی" in receipt.text


def test_the_tracking_limit_is_kept_by_the_service_for_every_caller(desk: Desk) -> None:
    """What a second gateway process would see: the failures are counted where the look-ups
    are answered, per the address the gateway passes on."""
    pool = RpcPool({"AMQP_URI": desk.env["AMQP_URI"], "rpc_exchange": "nameko-rpc"}, size=1, timeout=30)
    pool.start()
    try:

        def look_up(client: str) -> str:
            reply = pool.call("requests", "public_track", "1403-0000-0000", "09120000000", client=client)
            assert not reply["ok"]
            return str(reply["error"]["code"])

        assert {look_up("203.0.113.9") for _ in range(3)} <= {"request_not_found", "invalid_tracking_code"}
        assert look_up("203.0.113.9") == "track_limited"
        assert look_up("203.0.113.10") != "track_limited"
    finally:
        pool.stop()
