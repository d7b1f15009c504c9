"""The citizens' dashboard (issue 23, seed 003) and the receipt's SMS notice, in Chromium.

An administrator adds an announcement with a file, a form for a service and a question and answer
in the back office, choosing the unit and the service from lists; a refused form comes back with
what was typed. A visitor reaches «داشبورد شهروندان» from the home page and finds them there, with
every service's own forms grouped by service; an announcement hidden by the administrator or past
its expiry date is not shown. On the receipt, «پیامکی برای شهروند ارسال نشد» appears once the SMS
provider has failed for good, and not while the message is still being retried.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

from contracts.eventstore import EventStore
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from tests.desk import CSRF_FOR_TESTS, running_desk, signed_in_client, store_url_of
from tests.e2e.conftest import click_and_wait, sign_in_as
from tests.steps import eventually, submit

pytestmark = pytest.mark.e2e

ADMIN = Principal(account_id="admin-dashboard", kind="staff", display_name="مدیر داشبورد", roles=("admin",))
RURAL = "دفتر برنامه ریزی و مدیریت توسعه روستایی"
EVALUATION = "دفتر ارزیابی عملکرد، بازرسی و پاسخگویی به شکایات"
GRADING = "درجه بندی دهیاری های کشور"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
NOT_SENT = "پیامکی برای شهروند ارسال نشد"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """SMS through the provider simulator, whose retries wait long enough to be seen."""
    env = {"SMS_PROVIDER": "http", "NOTIFY_FIRST_RETRY": "20", "NOTIFY_RETRY_FACTOR": "1"}
    with running_desk(tmp_path_factory.mktemp("dashboard"), "postgresql", **env) as running:
        yield running


def _fill(browser: webdriver.Chrome, values: dict[str, str]) -> None:
    form = browser.find_element(By.ID, "content-form")
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def _choose(browser: webdriver.Chrome, unit: str, service: str | None = None) -> None:
    Select(browser.find_element(By.ID, "c-unit")).select_by_visible_text(unit)
    if service is not None:
        Select(browser.find_element(By.ID, "c-service")).select_by_visible_text(service)


def _save(browser: webdriver.Chrome) -> None:
    click_and_wait(browser, browser.find_element(By.ID, "save-content"))


def _add(browser: webdriver.Chrome, desk: Desk, kind: str) -> None:
    browser.get(desk.url("backoffice") + "/content")
    browser.find_element(By.ID, f"new-{kind}").click()
    assert browser.find_element(By.ID, "content-form")


def _row(browser: webdriver.Chrome, title: str) -> WebElement:
    (row,) = [r for r in browser.find_elements(By.CSS_SELECTOR, "tr[data-item]") if title in r.text]
    return row


def test_an_administrator_fills_the_dashboard_and_a_visitor_finds_it_from_the_home_page(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    paper = tmp_path / "راهنما.pdf"
    paper.write_bytes(PDF)
    sign_in_as(browser, desk, ADMIN)
    browser.get(desk.url("backoffice") + "/identity/home")
    browser.find_element(By.ID, "nav-content").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "داشبورد شهروندان"

    # An announcement without its text is refused in Persian, with the title kept.
    browser.find_element(By.ID, "new-announcement").click()
    _fill(browser, {"title": f"تعطیلی پیشخوان {tag}", "expires_on": "۱۴۰۵/۱۳/۴۰"})
    _save(browser)
    assert browser.find_element(By.ID, "e-text").text == "«متن اطلاعیه» را وارد کنید."
    assert "تاریخ انقضا را به شکل" in browser.find_element(By.ID, "e-expires_on").text
    assert browser.find_element(By.ID, "c-title").get_attribute("value") == f"تعطیلی پیشخوان {tag}"
    _fill(browser, {"text": "پیشخوان روز جمعه پاسخگو نیست.", "expires_on": ""})
    browser.find_element(By.ID, "c-file").send_keys(str(paper))
    _save(browser)
    assert browser.find_element(By.ID, "saved")
    assert "نمایش داده می‌شود" in _row(browser, f"تعطیلی پیشخوان {tag}").text

    _add(browser, desk, "announcement")
    _fill(browser, {"title": f"اطلاعیه کهنه {tag}", "text": "ثبت‌نام بهار", "date": "1405/01/10"})
    _fill(browser, {"expires_on": "1405/01/20"})
    _save(browser)
    assert "منقضی شده" in _row(browser, f"اطلاعیه کهنه {tag}").text

    _add(browser, desk, "announcement")
    _fill(browser, {"title": f"اطلاعیه پنهان {tag}", "text": "به زودی"})
    _save(browser)
    click_and_wait(
        browser, _row(browser, f"اطلاعیه پنهان {tag}").find_element(By.CSS_SELECTOR, "button.hide")
    )
    assert "پنهان" in _row(browser, f"اطلاعیه پنهان {tag}").text

    # A form for one service, unit and service chosen from the catalogue's lists.
    _add(browser, desk, "form")
    _fill(browser, {"title": f"فرم درخواست نقشه {tag}"})
    _choose(browser, RURAL, GRADING)
    browser.find_element(By.ID, "c-file").send_keys(str(paper))
    _save(browser)
    assert GRADING in _row(browser, f"فرم درخواست نقشه {tag}").text

    _add(browser, desk, "faq")
    _fill(browser, {"title": f"شکایت را کجا ثبت کنم؟ {tag}", "text": "از بخش ثبت درخواست ارباب رجوع."})
    _choose(browser, EVALUATION)
    _save(browser)
    assert EVALUATION in _row(browser, f"شکایت را کجا ثبت کنم؟ {tag}").text

    # A visitor, not signed in, from the home page.
    browser.delete_all_cookies()
    browser.get(desk.url("citizen") + "/")
    browser.find_element(By.ID, "to-dashboard").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "داشبورد شهروندان"
    menu = browser.find_element(By.ID, "dashboard-menu").text
    for label in ("بسته اطلاع رسانی", "فرمهای مورد نیاز جهت دریافت خدمات", "پرسش و پاسخ", "لیست خدمات"):
        assert label in menu

    announcements = browser.find_element(By.ID, "announcements").text
    assert f"تعطیلی پیشخوان {tag}" in announcements and "پیشخوان روز جمعه پاسخگو نیست." in announcements
    assert f"اطلاعیه کهنه {tag}" not in announcements  # past its expiry date
    assert f"اطلاعیه پنهان {tag}" not in announcements  # hidden by the administrator
    file_url = str(browser.find_element(By.PARTIAL_LINK_TEXT, "دریافت فایل پیوست").get_attribute("href"))
    assert httpx.get(file_url, timeout=30).content == PDF

    forms = browser.find_element(By.ID, "forms")
    assert "فرم درخواست تأسیس دهیاری" in forms.text  # a service card's own form
    (grading,) = [g for g in forms.find_elements(By.CSS_SELECTOR, ".form-group") if GRADING in g.text]
    uploaded = grading.find_element(By.LINK_TEXT, f"فرم درخواست نقشه {tag}")
    assert httpx.get(str(uploaded.get_attribute("href")), timeout=30).content == PDF

    faq = browser.find_element(By.ID, "faq")
    assert f"شکایت را کجا ثبت کنم؟ {tag}" in faq.text
    Select(browser.find_element(By.ID, "faq-unit")).select_by_visible_text(RURAL)
    click_and_wait(browser, browser.find_element(By.ID, "faq-apply"))
    assert f"شکایت را کجا ثبت کنم؟ {tag}" not in browser.find_element(By.ID, "faq").text
    Select(browser.find_element(By.ID, "faq-unit")).select_by_visible_text(EVALUATION)
    click_and_wait(browser, browser.find_element(By.ID, "faq-apply"))
    assert f"شکایت را کجا ثبت کنم؟ {tag}" in browser.find_element(By.ID, "faq").text

    # Hidden, the announcement's file is no longer served either; the hidden one, edited and
    # shown again, is back under its new title.
    sign_in_as(browser, desk, ADMIN)
    browser.get(desk.url("backoffice") + "/content")
    click_and_wait(
        browser, _row(browser, f"تعطیلی پیشخوان {tag}").find_element(By.CSS_SELECTOR, "button.hide")
    )
    assert httpx.get(file_url, timeout=30).status_code == 404
    _row(browser, f"اطلاعیه پنهان {tag}").find_element(By.CSS_SELECTOR, "a.edit").click()
    assert browser.find_element(By.ID, "c-text").get_attribute("value") == "به زودی"
    _fill(browser, {"title": f"اطلاعیه آشکار {tag}"})
    _save(browser)
    click_and_wait(
        browser, _row(browser, f"اطلاعیه آشکار {tag}").find_element(By.CSS_SELECTOR, "button.show")
    )
    assert "نمایش داده می‌شود" in _row(browser, f"اطلاعیه آشکار {tag}").text
    browser.delete_all_cookies()
    browser.get(desk.url("citizen") + "/dashboard")
    announcements = browser.find_element(By.ID, "announcements").text
    assert f"تعطیلی پیشخوان {tag}" not in announcements
    assert f"اطلاعیه آشکار {tag}" in announcements and f"اطلاعیه پنهان {tag}" not in announcements


def _deferred(store: EventStore, request_id: str) -> bool:
    """True when the request's confirmation SMS was tried and waits to be tried again."""
    queued = [
        e for e in store.read_all(0, types=["SmsQueued"], limit=10000) if e.data["request_id"] == request_id
    ]
    return bool(queued) and all(store.read_stream(e.stream)[-1].type == "SmsDeferred" for e in queued)


@contextlib.contextmanager
def _store(desk: Desk) -> Iterator[EventStore]:
    store = open_store(store_url_of(desk))
    try:
        yield store
    finally:
        store.close()


def _receipt_says(browser: webdriver.Chrome, desk: Desk, request_id: str) -> str:
    browser.get(desk.url("citizen") + f"/requests/{request_id}/receipt")
    return str(browser.find_element(By.ID, "sms-status").text)


def test_the_receipt_says_no_sms_was_sent_only_once_the_provider_failed_for_good(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    citizen = Principal(
        account_id=f"citizen-{uuid.uuid4().hex[:8]}", kind="citizen", display_name="مریم کاظمی"
    )
    sms = httpx.Client(base_url=desk.env["SMS_HTTP_URL"], timeout=10)
    with sms:
        sms.post("/admin/mode", json={"down": True}).raise_for_status()
        retrying = submit(desk, account_id=citizen.account_id)
        sign_in_as(browser, desk, citizen)

        with _store(desk) as store:
            eventually(lambda: _deferred(store, retrying.request_id))  # tried, to try again
        assert "در حال ارسال" in _receipt_says(browser, desk, retrying.request_id)

        sms.post("/admin/mode", json={"down": False, "blocked": ["09123456789"]}).raise_for_status()
        failed = submit(desk, account_id=citizen.account_id)
        eventually(lambda: _receipt_says(browser, desk, failed.request_id) == NOT_SENT)
        assert "status-red" in str(browser.find_element(By.ID, "sms-status").get_attribute("class"))
        eventually(lambda: _receipt_says(browser, desk, retrying.request_id) == NOT_SENT)


def test_only_an_administrator_edits_the_dashboard(desk: Desk) -> None:
    clerk = Principal(
        account_id="clerk-dashboard",
        kind="staff",
        display_name="کارشناس",
        roles=("clerk",),
        province="tehran",
    )
    with signed_in_client(desk, clerk, timeout=30) as staff:
        assert staff.get("/content").status_code == 403
        typed = {"csrf_token": CSRF_FOR_TESTS, "kind": "announcement", "title": "نفوذی", "text": "نفوذی"}
        assert staff.post("/content", data=typed).status_code == 403
    with httpx.Client(base_url=desk.url("citizen"), timeout=30) as visitor:
        assert "نفوذی" not in visitor.get("/dashboard").text
