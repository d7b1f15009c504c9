"""A secretariat's day in a real browser, from the citizen's wizard to the reports: the clerk signs
in on the staff login page, finds the request by its tracking code, registers it, refers it to a
unit chosen from the list, recalls the referral, returns it for correction, sees the corrected file
with the old one under earlier versions, gives the final reply with seed 003's fields, prints it,
archives the finished request, and finds it counted on the overview; the administrator's survey
report counts the citizen's answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from contracts.persian import persian_digits
from contracts.survey import QUESTIONS
from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import CSRF_FOR_TESTS, running_desk, session_cookie, signed_in_client
from tests.e2e.conftest import act, click_and_wait
from tests.e2e.test_case_page_citizen_data import (
    CITIZEN,
    CORRECTED_FILE,
    FIRST_FILE,
    file_through_the_wizard,
    open_page,
    resubmit_with_a_new_file,
)
from tests.e2e.test_identity_journey import staff_login
from tests.integration.test_identity_flow import identity_env
from tests.steps import eventually, pdf_text

pytestmark = pytest.mark.e2e

ADMIN = Principal(account_id="admin-day", kind="staff", display_name="مدیر سامانه", roles=("admin",))
CLERK = {"national_code": "0031234569", "mobile": "09171113344", "password": "Dabir-Khaneh-1403!"}
CLERK_NAME = "سارا دبیری"
SECRETARIAT = "دبیرخانه تهران"
UNIT = "صدور مجوز"
INSTRUCTION = "لطفاً بررسی و پاسخ دهید."
RECALL = "به واحد اشتباه ارجاع شد؛ نخست صورتجلسه باید اصلاح شود."
RETURN = "صورتجلسه امضا ندارد؛ نسخه امضاشده را بفرستید."
REPLY = {  # seed 003's printed reply, field by field
    "reply-legal": "ماده 17 آیین‌نامه تاسیس دهیاری‌ها و صورتجلسه امضاشده شورا",
    "reply-body": "با تاسیس دهیاری روستای ده‌نو موافقت شد.",
    "reply-authority": "هیئت تجدیدنظر استان",
    "reply-deadline": "20 روز از ابلاغ",
    "reply-notes": "اصل صورتجلسه در پرونده بایگانی شد.",
}
ARCHIVE = "پاسخ نهایی ابلاغ شد."
FOLDERS = {"awaiting": "در انتظار اقدام", "in_progress": "در حال گردش", "done": "تمام شده (آرشیو)"}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A desk with the identity settings the staff login needs (codes by SMS, an administrator)."""
    folder = tmp_path_factory.mktemp("day")
    with running_desk(folder, "postgresql", **identity_env(folder)) as running:
        yield running


def staff_client(desk: Desk, cookies: dict[str, str]) -> httpx.Client:
    return httpx.Client(
        base_url=desk.url("backoffice"),
        cookies=cookies,
        headers={"X-CSRF-Token": CSRF_FOR_TESTS},
        timeout=30,
    )


def citizen_client(desk: Desk) -> httpx.Client:
    cookie = session_cookie(desk, CITIZEN)
    return httpx.Client(base_url=desk.url("citizen"), cookies={cookie["name"]: cookie["value"]}, timeout=30)


def make_the_clerk(desk: Desk) -> None:
    """The administrator opens the clerk's account with its role at Tehran's secretariat."""
    with signed_in_client(desk, ADMIN, timeout=30) as admin:
        made = admin.post(
            "/identity/staff",
            data={
                "csrf_token": CSRF_FOR_TESTS,
                "full_name": CLERK_NAME,
                **CLERK,
                "role": "clerk",
                "province": "tehran",
            },
            follow_redirects=False,
        )
    assert made.status_code == 303, re.findall(r'id="error">([^<]+)<', made.text)


def tracking_code_of(desk: Desk, request_id: str) -> str:
    """The tracking code on the citizen's receipt."""
    with citizen_client(desk) as citizen:

        def shown() -> str | None:
            found = re.search(r'data-code="(\d+)"', citizen.get(f"/requests/{request_id}/receipt").text)
            return found.group(1) if found else None

        return eventually(shown)


def forms(browser: webdriver.Chrome) -> set[str]:
    """The action forms the case page offers, by name."""
    shown = browser.find_elements(By.CSS_SELECTOR, ".actions form[id^='form-']")
    return {str(form.get_attribute("id")).removeprefix("form-") for form in shown}


def history(browser: webdriver.Chrome) -> list[str]:
    """The workflow's steps on the case page, oldest first."""
    rows = browser.find_elements(By.CSS_SELECTOR, "#history tr[data-action]")
    return [str(row.get_attribute("data-action")) for row in rows]


def step(browser: webdriver.Chrome, action: str) -> str:
    """The text of the workflow's last `action` row."""
    rows = browser.find_elements(By.CSS_SELECTOR, f'#history tr[data-action="{action}"]')
    assert rows, f"no «{action}» step in the workflow: {history(browser)}"
    return str(rows[-1].text)


def text_of(browser: webdriver.Chrome, element_id: str) -> str:
    return str(browser.find_element(By.ID, element_id).text)


def search(browser: webdriver.Chrome, desk: Desk, tracking_code: str) -> dict[str, str]:
    """Type the tracking code in the cartable's search; the hits, request id → its «پوشه»."""
    browser.get(desk.url("backoffice") + "/secretariat/cartable")
    box = browser.find_element(By.ID, "f-tracking")
    box.clear()
    box.send_keys(tracking_code)
    click_and_wait(browser, browser.find_element(By.ID, "search"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#cartable tr[data-request-id]")
    return {
        str(row.get_attribute("data-request-id")): row.find_element(By.CSS_SELECTOR, "td.folder").text.strip()
        for row in rows
    }


def overview_row(browser: webdriver.Chrome, desk: Desk, key: str) -> list[str]:
    """The cells of one secretariat's row on the overview: name, open, with the citizen,
    overdue, final replies, average and 90th percentile days."""
    browser.get(desk.url("backoffice") + "/secretariat/overview")
    row = browser.find_elements(By.CSS_SELECTOR, f'#overview-secretariat tr[data-key="{key}"] td')
    return [cell.text for cell in row]


def answer_the_survey(desk: Desk, tracking_code: str) -> None:
    """The citizen answers the survey the final reply invited them to."""
    national_code = str(CITIZEN.national_code)
    with httpx.Client(base_url=desk.url("citizen"), timeout=30) as citizen:

        def opened() -> dict[str, str] | None:
            found = citizen.post(
                "/api/survey/open", json={"tracking_code": tracking_code, "national_code": national_code}
            )
            return found.json()["prefill"] if found.status_code == 200 else None

        prefill = eventually(opened)
        answers = {q.id: 4 for q in QUESTIONS}
        body = {"tracking_code": tracking_code, "national_code": national_code, **prefill}
        answered = citizen.post("/api/survey/answers", json={**body, "answers": answers, "email": ""})
        assert answered.status_code == 201, answered.text


def test_a_secretariats_day(desk: Desk, browser: webdriver.Chrome, tmp_path: Path) -> None:
    # Morning: a citizen files a request with a file through the six-step wizard.
    request_id = file_through_the_wizard(desk)
    tracking_code = tracking_code_of(desk, request_id)
    make_the_clerk(desk)

    # The clerk signs in on the staff login page (password, then the code sent by SMS).
    staff_login(browser, desk, CLERK["national_code"], CLERK["password"], CLERK["mobile"])
    assert CLERK_NAME in browser.find_element(By.TAG_NAME, "h1").text
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "کارتابل دبیرخانه"))

    # Search: the tracking code finds the request in «در انتظار اقدام».
    assert eventually(lambda: search(browser, desk, tracking_code)) == {request_id: FOLDERS["awaiting"]}
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, f'tr[data-request-id="{request_id}"] a'))
    assert text_of(browser, "tracking-code") == persian_digits(tracking_code)
    assert text_of(browser, "registration-number") == "ثبت نشده"
    assert text_of(browser, "holder") == SECRETARIAT
    assert FIRST_FILE[0] in text_of(browser, "attachments-current")
    assert history(browser) == ["submitted"]

    # Register: the secretariat's number is shown.
    act(browser, "register")
    assert "شماره ثبت" in text_of(browser, "notice")
    number = text_of(browser, "registration-number")
    assert re.fullmatch("۱۴[۰-۹]{2}.*", number), number
    assert text_of(browser, "status") == "ثبت‌شده در دبیرخانه"
    assert number in step(browser, "numbered")

    # Refer to a unit picked from the list by its name.
    units = Select(browser.find_element(By.ID, "refer-unit"))
    assert UNIT in [option.text for option in units.options]
    units.select_by_visible_text(UNIT)
    browser.find_element(By.ID, "refer-instruction").send_keys(INSTRUCTION)
    act(browser, "refer")
    assert text_of(browser, "notice") == "درخواست ارجاع شد."
    assert text_of(browser, "holder") == f"واحد {UNIT}"
    assert "بازپس‌گیری ارجاع" in text_of(browser, "form-recall")  # the referring desk may take it back
    assert UNIT in step(browser, "referred") and INSTRUCTION in step(browser, "referred")

    # Recall the referral with a reason: the request is back at the desk with every form.
    browser.find_element(By.ID, "recall-reason").send_keys(RECALL)
    act(browser, "recall")
    assert not browser.find_elements(By.ID, "error")
    assert "بازپس" in text_of(browser, "notice")
    assert text_of(browser, "holder") == SECRETARIAT
    assert {"refer", "reply", "return", "close", "note"} <= forms(browser)
    assert "recall" not in forms(browser)
    recalled = step(browser, "recalled")
    assert "بازپس‌گیری ارجاع" in recalled and RECALL in recalled and UNIT in recalled

    # Return it to the applicant for correction: the clock stops, the citizen holds it.
    old_link = browser.find_element(By.ID, "attachments-current").find_element(
        By.PARTIAL_LINK_TEXT, FIRST_FILE[0]
    )
    old_file = str(old_link.get_attribute("href")).rsplit("/", 1)[-1]
    browser.find_element(By.ID, "return-reason").send_keys(RETURN)
    act(browser, "return")
    assert "برای اصلاح به متقاضی بازگشت" in text_of(browser, "notice")
    assert text_of(browser, "holder") == "متقاضی (برای اصلاح)"
    assert text_of(browser, "status") == "بازگشت به متقاضی برای اصلاح"
    assert RETURN in step(browser, "returned")

    # The citizen reads why and sends it again with a corrected file.
    with citizen_client(desk) as citizen:
        eventually(lambda: RETURN in citizen.get(f"/requests/{request_id}").text)
    resubmit_with_a_new_file(desk, request_id, old_file)

    # The clerk sees the new file as current and the old one under earlier versions.
    open_page(browser, desk, request_id, ready=CORRECTED_FILE[0])
    current = text_of(browser, "attachments-current")
    assert CORRECTED_FILE[0] in current and FIRST_FILE[0] not in current, current
    earlier = text_of(browser, "attachments-earlier")
    assert FIRST_FILE[0] in earlier and re.search("۱۴[۰-۹]{2}/[۰-۹]{2}/[۰-۹]{2}", earlier), earlier
    assert text_of(browser, "holder") == SECRETARIAT
    assert history(browser)[-1] == "resubmitted"

    # The final reply, with seed 003's fields.
    assert browser.find_element(By.CSS_SELECTOR, "#form-reply input[value=final]").is_selected()
    for field, value in REPLY.items():
        browser.find_element(By.ID, field).send_keys(value)
    act(browser, "reply", "button[type=submit]")
    assert "پاسخ ثبت شد" in text_of(browser, "notice")
    assert text_of(browser, "status") == "پاسخ نهایی داده شده"
    reply = browser.find_element(By.CSS_SELECTOR, "article.reply")
    assert "پاسخ نهایی" in reply.text and REPLY["reply-body"] in reply.text
    assert history(browser) == [
        "submitted",
        "numbered",
        "referred",
        "recalled",
        "returned",
        "resubmitted",
        "reply_final",
    ]

    # Print: the printable page and the PDF read as the clerk typed, digits in Persian.
    case_url = browser.current_url
    pdf_url = str(reply.find_element(By.LINK_TEXT, "PDF").get_attribute("href"))
    click_and_wait(browser, reply.find_element(By.LINK_TEXT, "نسخه چاپی"))
    printed = browser.find_element(By.TAG_NAME, "body").text
    assert REPLY["reply-body"] in printed and REPLY["reply-authority"] in printed
    assert "ماده ۱۷ آیین‌نامه" in printed and "ماده 17" not in printed
    assert CITIZEN.display_name in printed
    session = {c["name"]: c["value"] for c in browser.get_cookies()}
    with staff_client(desk, session) as clerk:
        pdf = clerk.get(pdf_url)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    copied = pdf_text(pdf.content, tmp_path)
    for typed in (REPLY["reply-body"], REPLY["reply-authority"], "ماده ۱۷ آیین‌نامه"):
        assert re.sub(r"\s+", "", typed) in copied, (typed, copied)

    # Close the day's file: a finished request is archived (not closed, nor replied to again).
    browser.get(case_url)
    offered = forms(browser)
    assert "archive" in offered and not offered & {"close", "reply", "return", "refer"}, offered
    browser.find_element(By.ID, "archive-reason").send_keys(ARCHIVE)
    act(browser, "archive")
    assert text_of(browser, "notice") == "درخواست بایگانی شد."
    assert text_of(browser, "status") == "بایگانی‌شده"
    assert ARCHIVE in step(browser, "archived") and CLERK_NAME in step(browser, "archived")
    assert history(browser)[-1] == "archived"
    assert search(browser, desk, tracking_code) == {request_id: FOLDERS["done"]}

    # The overview counts it among Tehran's final replies, nothing open or with the citizen.
    def counted() -> list[str] | None:
        cells = overview_row(browser, desk, "tehran")
        return cells if cells and cells[4] == "۱" else None

    name, still_open, with_citizen, overdue, replied, *_ = eventually(counted)
    assert (name, still_open, with_citizen, overdue, replied) == ("تهران", "۰", "۰", "۰", "۱")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.overview-chart")

    # Reports: the citizen answers the survey; the clerk's home page leads to the report of their
    # own province (another province's, asked for in the address, is not what they get).
    answer_the_survey(desk, tracking_code)
    browser.get(desk.url("backoffice") + "/identity/home")
    assert (
        browser.find_element(By.LINK_TEXT, "گزارش نظرسنجی").get_attribute("href").endswith("/survey/reports")
    )

    def report_counts() -> bool:
        browser.get(desk.url("backoffice") + "/survey/reports?province=yazd")
        return text_of(browser, "response-count").endswith("۱")

    eventually(report_counts)
    assert browser.find_element(By.ID, "own-province").text == "استان: تهران"
    assert not browser.find_elements(By.ID, "f-province")
