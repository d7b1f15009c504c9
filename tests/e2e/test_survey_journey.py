"""From the tracking code to the report: ten requests get their final reply (and the survey
invitation by SMS), nine citizens answer through the API, one through the pages, and the
administrator reads the report with its charts and exports it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from contracts.persian import persian_digits
from contracts.survey import QUESTIONS
from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import signed_in_client
from tests.e2e.conftest import sign_in_as
from tests.steps import eventually

pytestmark = pytest.mark.e2e

NATIONAL_CODE = "0084575948"
CLERK = Principal(
    account_id="clerk-1", kind="staff", display_name="کارشناس", roles=("clerk",), province="isfahan"
)
ADMIN = Principal(account_id="admin-1", kind="staff", display_name="مدیر سامانه", roles=("admin",))


def _answered_request(desk: Desk, citizen: httpx.Client, clerk: httpx.Client) -> dict[str, str]:
    """A request with its final reply; its request id and tracking code."""
    body = {
        "national_code": NATIONAL_CODE,
        "full_name": "مریم کاظمی",
        "mobile": "09121234567",
        "province": "isfahan",
        "subject": "درخواست پروانه",
        "text": "با سلام، درخواست صدور پروانه دارم.",
    }
    submitted = citizen.post("/api/requests", json=body)
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["request_id"]
    eventually(lambda: clerk.post(f"/api/requests/{request_id}/number").status_code in (201, 409))
    final = {"kind": "final", "body": "پروانه صادر شد."}

    def replied() -> bool:
        # The secretariat's read model shows the number a moment after it is given.
        answer = clerk.post(f"/api/requests/{request_id}/replies", json=final)
        return answer.status_code == 201 or answer.json()["error"]["code"] == "already_final"

    eventually(replied)
    return {"request_id": request_id, "tracking_code": submitted.json()["tracking_code"]}


def _open(citizen: httpx.Client, code: str) -> Any:
    answer = citizen.post("/api/survey/open", json={"tracking_code": code, "national_code": NATIONAL_CODE})
    return answer.json() if answer.status_code == 200 else None


def _counted(browser: webdriver.Chrome) -> bool:
    """True once the report counts ten responses (the survey's read model follows shortly)."""
    browser.refresh()
    try:
        return "۱۰" in browser.find_element(By.ID, "response-count").text
    except StaleElementReferenceException:
        return False


def _answers(value: int) -> dict[str, int]:
    return {q.id: value for q in QUESTIONS}


def test_from_tracking_code_to_the_report(desk: Desk, browser: webdriver.Chrome) -> None:
    citizen = httpx.Client(base_url=desk.url("citizen"), timeout=20)
    with citizen, signed_in_client(desk, CLERK) as clerk, signed_in_client(desk, ADMIN) as admin:
        _journey(desk, browser, citizen, clerk, admin)


def _journey(
    desk: Desk, browser: webdriver.Chrome, citizen: httpx.Client, clerk: httpx.Client, admin: httpx.Client
) -> None:
    requests = [_answered_request(desk, citizen, clerk) for _ in range(10)]

    # The invitation went out by SMS with the final reply.
    first = requests[0]["request_id"]

    def templates() -> list[str] | None:
        items = admin.get("/api/notify/messages", params={"request_id": first}).json()["items"]
        names = [m["template"] for m in items if m["status"] in ("sent", "delivered")]
        return names if "final_reply_posted" in names else None

    assert eventually(templates).count("final_reply_posted") == 1

    for i, request in enumerate(requests[1:]):
        opened = eventually(lambda r=request: _open(citizen, r["tracking_code"]))  # type: ignore[misc]
        prefill = opened["prefill"]
        body = {"tracking_code": request["tracking_code"], "national_code": NATIONAL_CODE, **prefill}
        answer = citizen.post(
            "/api/survey/answers", json={**body, "answers": _answers(4 + i % 2), "email": ""}
        )
        assert answer.status_code == 201, answer.text
        again = citizen.post("/api/survey/answers", json={**body, "answers": _answers(1), "email": ""})
        assert (again.status_code, again.json()["error"]["code"]) == (409, "survey_already_answered")

    # One citizen walks through the pages, typing the code in Persian digits.
    own = requests[0]["tracking_code"]
    eventually(lambda: _open(citizen, own))
    browser.get(desk.url("citizen") + "/survey")
    browser.find_element(By.ID, "f-tracking_code").send_keys(persian_digits(own))
    browser.find_element(By.ID, "f-national_code").send_keys(persian_digits(NATIONAL_CODE))
    browser.find_element(By.ID, "search").click()
    browser.find_element(By.ID, "survey-details")  # waits for the next page
    assert browser.find_element(By.TAG_NAME, "h1").text == "فرم ثبت مشخصات شهروند"
    assert browser.find_element(By.ID, "f-first_name").get_attribute("value") == "مریم"
    code = browser.find_element(By.ID, "f-respondent_national_code")  # prefilled, in Persian digits
    assert (code.get_attribute("value"), code.get_attribute("dir")) == (persian_digits(NATIONAL_CODE), "ltr")
    assert browser.find_element(By.ID, "f-mobile").get_attribute("value") == persian_digits("09121234567")
    browser.find_element(By.ID, "save-details").click()
    browser.find_element(By.ID, "survey-questions")
    assert browser.find_element(By.TAG_NAME, "h1").text == "پرسشنامه"
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.questionnaire tbody tr")) == 16
    for question in QUESTIONS[:-1]:
        browser.find_element(By.ID, f"{question.id}-3").click()
    browser.find_element(By.ID, "save-questions").click()  # the last question left unanswered
    assert "همه پرسش‌ها" in browser.find_element(By.ID, "error").text
    assert browser.find_element(By.ID, "q1-3").is_selected()  # what was chosen is kept
    browser.find_element(By.ID, f"{QUESTIONS[-1].id}-5").click()
    browser.find_element(By.ID, "f-comment").send_keys("پاسخگویی سریع بود.")
    browser.find_element(By.ID, "save-questions").click()
    assert "سپاسگزاریم" in browser.find_element(By.ID, "survey-done").text

    # The administrator reads the report: ten responses, shown with charts, exported as CSV.
    sign_in_as(browser, desk, ADMIN)
    browser.get(desk.url("backoffice") + "/survey/reports")
    eventually(lambda: _counted(browser))
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#questions-table tbody tr")) == 16
    overall = browser.find_element(By.ID, "overall-average").text
    assert overall  # (9 × 4–5 and one 3 with a 5 for the last question)
    csv = admin.get("/survey/reports.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("استان,واحد سازمانی,خدمت,ماه,تعداد پاسخ") and len(lines) == 2
    assert lines[1].startswith("اصفهان,") and ",10," in lines[1]  # the province by its name

    # A representative of another unit sees too few responses to show anything apart.
    other = Principal(
        account_id="rep-1", kind="staff", display_name="نماینده", roles=("representative",), unit="x"
    )
    with signed_in_client(desk, other) as representative:
        report = representative.get("/api/survey/report").json()
    assert (report["count"], report["shown"]) == (0, False)
