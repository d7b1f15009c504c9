"""A refused form comes back, in a real browser, with what the citizen typed and says which
files were kept: the correction of a returned request (no file kept: the page says to choose it
again), the letter form and the wizard (a file that passed its checks stays on the draft, listed
with «حذف»; one too large for any rule is refused without losing the page)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from contracts.envelope import StreamState
from contracts.events import new_event, registry
from contracts.identity import CitizenRegistered, Company, ShahkarChecked
from contracts.persian import persian_digits
from contracts.requests import Applicant, AttachmentRef, RequestSubmitted
from contracts.secretariat import ReturnedForCorrection
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from tests.desk import store_url_of
from tests.e2e.conftest import click_and_wait, sign_in_as
from tests.steps import eventually
from tests.unit.test_requests_files import PDF

pytestmark = pytest.mark.e2e

CITIZEN = Principal(
    account_id="acc-e2e-refused",
    kind="citizen",
    display_name="مریم کاظمی",
    national_code="0084575948",
    mobile="09123456789",
    assurance_level=2,
)
LETTER = "17011230001"  # seed 000's letter: one file of 300 KB at most
WIZARD = "10012134001"  # seed 003's wizard: two files of 80 KB at most


def _returned_letter(desk: Desk) -> str:
    """A letter with its one file, filed by CITIZEN and returned for correction."""
    request_id = uuid.uuid4().hex
    scan = AttachmentRef(
        attachment_id=uuid.uuid4().hex,
        name="نامه.pdf",
        media_type="application/pdf",
        size=40,
        sha256="a" * 64,
    )
    submitted = RequestSubmitted(
        request_id=request_id,
        tracking_code=str(uuid.uuid4().int)[:12],
        applicant=Applicant(
            national_code="0084575948",
            full_name="مریم کاظمی",
            mobile="09123456789",
            account_id=CITIZEN.account_id,
        ),
        province="tehran",
        subject="درخواست تایید مستمری",
        text="متن نخست",
        submitted_at=datetime.now(UTC).isoformat(),
        form="letter",
        service_id=LETTER,
        service_name="ثبت و رهگیری مکاتبات اداری",
        attachments=(scan,),
    )
    returned = ReturnedForCorrection(
        request_id=request_id, reason="تصویر خوانا نیست", clerk="c1", holder="c1"
    )
    store = open_store(store_url_of(desk))
    try:
        store.append(f"request-{request_id}", [new_event(submitted, actor="citizen:test")])
        store.append(f"case-{request_id}", [new_event(returned, actor="clerk:c1")], StreamState.ANY)
    finally:
        store.close()
    return request_id


def _type(browser: webdriver.Chrome, name: str, text: str) -> None:
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(text)


def _value(browser: webdriver.Chrome, name: str) -> str:
    return browser.find_element(By.NAME, name).get_attribute("value") or ""


def test_a_refused_correction_keeps_the_typed_text_and_says_the_file_must_be_chosen_again(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    second = tmp_path / "پیوست دوم.pdf"
    second.write_bytes(PDF)
    request_id = _returned_letter(desk)
    sign_in_as(browser, desk, CITIZEN)
    page = desk.url("citizen") + f"/requests/{request_id}"

    def correctable() -> bool:
        browser.get(page)
        return bool(browser.find_elements(By.ID, "correction"))

    eventually(correctable)
    _type(browser, "subject", "درخواست تایید مستمری (اصلاح‌شده)")
    _type(browser, "text", "متن اصلاح‌شده با پلاک ۷")
    browser.find_element(By.ID, "f-file").send_keys(str(second))
    click_and_wait(browser, browser.find_element(By.ID, "resubmit"))

    assert "حداکثر تعداد فایل" in browser.find_element(By.ID, "error").text
    assert _value(browser, "subject") == "درخواست تایید مستمری (اصلاح‌شده)"
    assert _value(browser, "text") == "متن اصلاح‌شده با پلاک ۷"
    note = browser.find_element(By.ID, "file-note").text
    assert "پیوست دوم.pdf" in note and "دوباره انتخاب" in note


COMPANY = Principal(account_id="acc-e2e-company", kind="citizen", display_name="نرگس طاهری")


def _company_account(desk: Desk) -> None:
    """A company's account, as registration records it: the representative's own name, codes
    and birth date, the company's title and شناسه ملی, and the Shahkar match (level 2)."""
    at = datetime.now(UTC).isoformat()
    registered = CitizenRegistered(
        account_id=COMPANY.account_id,
        national_code="0011223340",
        mobile="09123334455",
        kind="legal",
        full_name="نرگس طاهری",
        first_name="نرگس",
        last_name="طاهری",
        birth_date="1370/05/20",
        method="mobile",
        company=Company(company_name="شرکت نمونه", national_id="10380284790", capacity="representative"),
        registered_at=at,
    )
    shahkar = ShahkarChecked(account_id=COMPANY.account_id, mobile="09123334455", matched=True, at=at)
    store = open_store(store_url_of(desk))
    try:
        store.append(
            f"account-{COMPANY.account_id}",
            [new_event(e, actor="citizen:test") for e in (registered, shahkar)],
            StreamState.ANY,
        )
    finally:
        store.close()


def _start(browser: webdriver.Chrome, desk: Desk, service_id: str) -> None:
    def card_ready() -> bool:
        browser.get(desk.url("citizen") + f"/services/{service_id}")
        return bool(browser.find_elements(By.ID, "consent"))

    eventually(card_ready)
    browser.find_element(By.ID, "consent").click()
    click_and_wait(browser, browser.find_element(By.ID, "start"))


def test_a_company_letter_is_prefilled_from_the_account_and_a_refused_file_keeps_the_form(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    huge, letter = tmp_path / "عکس گوشی.pdf", tmp_path / "نامه.pdf"
    huge.write_bytes(PDF + b"0" * (3 * 1024 * 1024))
    letter.write_bytes(PDF)
    _company_account(desk)
    sign_in_as(browser, desk, COMPANY)
    _start(browser, desk, LETTER)

    assert browser.find_element(By.ID, "kind-legal").is_selected()
    assert _value(browser, "owner_name") == "نرگس طاهری"  # the representative, without the company
    assert _value(browser, "owner_national_code") == persian_digits("0011223340")  # as Persian pages write
    assert _value(browser, "owner_birth_date") == persian_digits("1370/05/20")
    assert _value(browser, "company_name") == "شرکت نمونه"
    assert _value(browser, "company_national_id") == persian_digits("10380284790")
    status = browser.find_element(By.ID, "request-status")
    undetermined = browser.find_element(By.ID, "status-undetermined")
    assert "تعیین نشده" in status.text and undetermined.is_selected() and not undetermined.is_enabled()
    assert "۲۰۰ کاراکتر" in browser.find_element(By.ID, "letter-rules").text

    _type(browser, "subject", "ت" * 201)
    Select(browser.find_element(By.NAME, "addressee_unit")).select_by_value("licences")
    browser.find_element(By.ID, "f-file").send_keys(str(letter))
    click_and_wait(browser, browser.find_element(By.ID, "submit"))
    assert "۲۰۰" in browser.find_element(By.ID, "e-subject").text  # kept the file, refused the subject
    assert "نامه.pdf" in browser.find_element(By.ID, "attachments").text
    assert browser.find_elements(By.ID, "kept-files")

    _type(browser, "subject", "اصلاح صورتجلسه مالیاتی")
    _type(browser, "text", "متن نامه با پلاک ۷")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#attachments button"))  # «حذف»
    assert "نامه.pdf" not in browser.find_element(By.ID, "attachments").text
    browser.find_element(By.ID, "f-file").send_keys(str(huge))  # past every rule, and past 2 MB
    click_and_wait(browser, browser.find_element(By.ID, "submit"))
    assert "بیش از حد مجاز" in browser.find_element(By.ID, "error").text
    assert _value(browser, "subject") == "اصلاح صورتجلسه مالیاتی"
    assert _value(browser, "text") == "متن نامه با پلاک ۷"
    assert Select(browser.find_element(By.NAME, "addressee_unit")).first_selected_option.text == "پروانه‌ها"

    browser.find_element(By.ID, "f-file").send_keys(str(letter))
    click_and_wait(browser, browser.find_element(By.ID, "submit"))
    request_id = browser.current_url.split("/requests/")[1].split("/")[0]
    store = open_store(store_url_of(desk))
    try:
        recorded = registry.decode(store.read_stream(f"request-{request_id}")[0])
    finally:
        store.close()
    assert isinstance(recorded, RequestSubmitted)
    assert recorded.addressee_unit == "licences"
    assert (recorded.applicant.full_name, recorded.applicant.company_name) == ("نرگس طاهری", "شرکت نمونه")


def test_the_wizard_keeps_its_files_after_a_refused_one_and_picks_the_visit_date_on_a_calendar(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    scan, huge = tmp_path / "نقشه.pdf", tmp_path / "عکس بزرگ.pdf"
    scan.write_bytes(PDF)
    huge.write_bytes(PDF + b"0" * (3 * 1024 * 1024))
    sign_in_as(browser, desk, CITIZEN)
    _start(browser, desk, WIZARD)
    click_and_wait(browser, browser.find_element(By.ID, "next"))
    _type(browser, "text", "درخواست تاسیس دهیاری")
    click_and_wait(browser, browser.find_element(By.ID, "next"))
    browser.find_element(By.ID, "f-file").send_keys(str(scan))
    click_and_wait(browser, browser.find_element(By.ID, "upload"))
    browser.find_element(By.ID, "f-file").send_keys(str(huge))
    click_and_wait(browser, browser.find_element(By.ID, "upload"))
    assert "بیش از حد مجاز" in browser.find_element(By.ID, "error").text
    assert "نقشه.pdf" in browser.find_element(By.ID, "attachments").text
    assert browser.find_elements(By.ID, "kept-files")

    click_and_wait(browser, browser.find_element(By.ID, "next"))
    _type(browser, "first_name", "مریم")
    _type(browser, "last_name", "کاظمی")
    click_and_wait(browser, browser.find_element(By.ID, "next"))
    _type(browser, "visit_description", "دو بار مراجعه کردم")
    shown = browser.find_element(By.ID, "calendar-month").text
    click_and_wait(browser, browser.find_element(By.ID, "month-previous"))
    assert browser.find_element(By.ID, "calendar-month").text != shown
    assert _value(browser, "visit_description") == "دو بار مراجعه کردم"
    day = browser.find_element(By.CSS_SELECTOR, "#visit-calendar button[data-date$='/10']")
    picked = day.get_attribute("data-date")
    click_and_wait(browser, day)
    assert _value(browser, "visit_date") == persian_digits(picked or "")  # the day picked, in Persian digits
    assert browser.find_element(By.CSS_SELECTOR, "#visit-calendar button[aria-pressed='true']")
    assert not browser.find_element(By.ID, "month-next").get_attribute("disabled")
    assert _value(browser, "visit_description") == "دو بار مراجعه کردم"

    _type(browser, "visit_date", "1499/01/01")
    click_and_wait(browser, browser.find_element(By.ID, "next"))
    assert "تاریخ مراجعه" in browser.find_element(By.ID, "e-visit_date").text
    assert _value(browser, "visit_description") == "دو بار مراجعه کردم"
