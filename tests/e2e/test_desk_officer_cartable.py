"""In a real browser: the desk officer's cartable of identity verifications has seed 004's columns
with real values (how long the answer has been awaited, in whose cartable the case is, what the
officers wrote) and a search by national code, name, mobile and the case's number that looks in
every folder and keeps what was typed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from contracts.events import new_event
from contracts.identity import VerificationSubmitted
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from services.identity.accounts import case_id, case_stream
from tests.desk import CSRF_FOR_TESTS, make_real, session_cookie, store_url_of
from tests.e2e.conftest import sign_in_as
from tests.steps import eventually

pytestmark = pytest.mark.e2e

OFFICER = Principal(
    account_id="desk-officer-tehran",
    kind="staff",
    display_name="محمدرضا دهقانی",
    roles=("desk_officer",),
    scopes={"desk_officer": {"province": "tehran"}},
)
ISFAHAN_OFFICER = Principal(
    account_id="desk-officer-isfahan",
    kind="staff",
    display_name="زهرا اصفهانی",
    roles=("desk_officer",),
    scopes={"desk_officer": {"province": "isfahan"}},
)
WAITING = Principal(  # sent the form today: waits for the officer
    account_id="citizen-waiting",
    kind="citizen",
    display_name="مریم کاظمی",
    national_code="0084575948",
    mobile="09121112233",
    assurance_level=2,
)
RETURNED = Principal(  # the officer sent it back for correction
    account_id="citizen-returned",
    kind="citizen",
    display_name="علی رضایی",
    national_code="0012345679",
    mobile="09124445566",
    assurance_level=2,
)
LONG_WAITING = Principal(  # sent three days and two hours ago
    account_id="citizen-long-waiting",
    kind="citizen",
    display_name="نرگس احمدی",
    national_code="0067890148",
    mobile="09127778899",
    assurance_level=2,
)
REASON = "تصویر شناسنامه خوانا نیست"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def client(desk: Desk, principal: Principal) -> httpx.Client:
    gateway = "backoffice" if principal.kind == "staff" else "citizen"
    cookie = session_cookie(desk, principal)
    return httpx.Client(base_url=desk.url(gateway), cookies={cookie["name"]: cookie["value"]}, timeout=20)


def send_verification(desk: Desk, citizen: Principal) -> None:
    """The citizen's verification form with scans, through the citizen gateway."""
    with client(desk, citizen) as browser:
        answer = browser.post(
            "/verification",
            data={"csrf_token": CSRF_FOR_TESTS, "province": "tehran", "note": "لطفاً بررسی شود"},
            files={
                "national_card": ("card.pdf", PDF, "application/pdf"),
                "birth_certificate": ("birth.pdf", PDF, "application/pdf"),
            },
        )
        assert answer.status_code == 303, answer.text


def sent_long_ago(desk: Desk, citizen: Principal) -> None:
    """A verification form sent three days and two hours ago, as identity records one."""
    make_real(desk, citizen)
    at = (datetime.now(UTC) - timedelta(days=3, hours=2, minutes=5)).isoformat()
    event = VerificationSubmitted(
        case_id=case_id(citizen.account_id),
        account_id=citizen.account_id,
        round=1,
        national_code=str(citizen.national_code),
        full_name=citizen.display_name,
        submitted_at=at,
        province="tehran",
    )
    store = open_store(store_url_of(desk))
    try:
        stream = case_stream(case_id(citizen.account_id))
        store.append(stream, [new_event(event, actor=f"citizen:{citizen.account_id}")])
    finally:
        store.close()


@dataclass(frozen=True)
class Cases:
    waiting: str
    returned: str
    long_waiting: str


@pytest.fixture(scope="module")
def cases(desk: Desk) -> Iterator[Cases]:
    make_real(desk, ISFAHAN_OFFICER)
    send_verification(desk, WAITING)
    send_verification(desk, RETURNED)
    sent_long_ago(desk, LONG_WAITING)
    returned = case_id(RETURNED.account_id)
    with client(desk, OFFICER) as officer:
        eventually(lambda: returned in officer.get("/identity/cartable").text)
        decided = officer.post(
            f"/identity/cases/{returned}",
            data={"csrf_token": CSRF_FOR_TESTS, "decision": "reject", "reason": REASON},
        )
        assert decided.status_code == 303, decided.text
        eventually(lambda: returned in officer.get("/identity/cartable?status=rejected").text)
    yield Cases(case_id(WAITING.account_id), returned, case_id(LONG_WAITING.account_id))


def cell(browser: webdriver.Chrome, case: str, name: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, f'tr[data-case="{case}"] td.{name}').text).strip()


def rows(browser: webdriver.Chrome) -> list[str]:
    found = browser.find_elements(By.CSS_SELECTOR, "tr[data-case]")
    return [str(row.get_attribute("data-case")) for row in found]


def search(browser: webdriver.Chrome, field: str, value: str) -> None:
    """Type `value` into one search box on the cartable (its other boxes empty) and send it."""
    browser.find_element(By.ID, "folder-submitted").click()
    box = browser.find_element(By.ID, field)
    box.clear()
    box.send_keys(value)
    browser.find_element(By.ID, "search").click()
    eventually(lambda: browser.find_elements(By.ID, "search-scope"))


def test_the_cartable_shows_waiting_time_holder_and_report(
    desk: Desk, cases: Cases, browser: webdriver.Chrome
) -> None:
    sign_in_as(browser, desk, OFFICER)
    browser.get(desk.url("backoffice") + "/identity/cartable")
    headers = [h.text.strip() for h in browser.find_elements(By.CSS_SELECTOR, "#cases thead th")]
    for column in ("درخواست کننده", "شماره درخواست", "تاریخ درخواست", "زمان انتظار", "فعلی", "گزارش"):
        assert column in headers, headers
    assert set(rows(browser)) == {cases.waiting, cases.long_waiting}

    assert cell(browser, cases.long_waiting, "waiting") == "۳ روز و ۲ ساعت"
    assert cell(browser, cases.waiting, "waiting") in ("کمتر از یک دقیقه", "۱ دقیقه", "۲ دقیقه")
    holder = cell(browser, cases.waiting, "holder")
    assert "محمدرضا دهقانی" in holder and "زهرا اصفهانی" not in holder  # Tehran's desk officer
    assert cell(browser, cases.waiting, "report") == "—"  # nobody has given an opinion yet
    assert cell(browser, cases.waiting, "tracking") == cases.waiting[:10]

    browser.find_element(By.ID, "folder-rejected").click()
    eventually(lambda: "status=rejected" in browser.current_url)
    assert rows(browser) == [cases.returned]
    assert cell(browser, cases.returned, "holder") == "متقاضی: علی رضایی"  # back with the citizen
    report = cell(browser, cases.returned, "report")
    assert "عدم تایید" in report and REASON in report and "محمدرضا دهقانی" in report
    waited = cell(browser, cases.returned, "waiting")
    assert waited.startswith(("کمتر از یک دقیقه", "۱ دقیقه", "۲ دقیقه")) and "تا اعلام نظر" in waited


def test_search_by_national_code_mobile_name_and_number_keeps_the_filter(
    desk: Desk, cases: Cases, browser: webdriver.Chrome
) -> None:
    sign_in_as(browser, desk, OFFICER)
    browser.get(desk.url("backoffice") + "/identity/cartable")

    search(browser, "s-national", "۰۰۸۴۵۷۵۹۴۸")  # Persian digits, as an officer types them
    assert rows(browser) == [cases.waiting]
    assert browser.find_element(By.ID, "s-national").get_attribute("value") == "۰۰۸۴۵۷۵۹۴۸"

    search(browser, "s-mobile", "0912 444 5566")  # the returned case, found from «در انتظار اقدام»
    assert rows(browser) == [cases.returned]
    assert cell(browser, cases.returned, "folder") == "بازگشت به متقاضی"
    assert browser.find_element(By.ID, "s-mobile").get_attribute("value") == "0912 444 5566"

    search(browser, "s-mobile", "+989127778899")
    assert rows(browser) == [cases.long_waiting]

    search(browser, "s-name", "كاظمي")  # Arabic ك and ي find the Persian spelling
    assert rows(browser) == [cases.waiting]

    search(browser, "s-tracking", cases.returned[:10].upper())
    assert rows(browser) == [cases.returned]

    search(browser, "s-national", "0045678901")  # nobody's
    assert rows(browser) == []
    assert "یافت نشد" in browser.find_element(By.ID, "cases").text


def test_another_provinces_officer_finds_nothing_of_tehran(desk: Desk, cases: Cases) -> None:
    with client(desk, ISFAHAN_OFFICER) as officer:
        page = officer.get("/identity/cartable", params={"national_code": "0084575948"})
        assert page.status_code == 200 and cases.waiting not in page.text


def test_a_search_box_holding_what_no_field_may_hold_gets_a_persian_message(desk: Desk) -> None:
    with client(desk, OFFICER) as officer:
        for box in ("national_code", "name", "mobile", "tracking_id"):
            page = officer.get("/identity/cartable", params={box: "۱۲\x00\u202e"})
            assert page.status_code == 200 and 'id="error"' in page.text, (box, page.status_code)
