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

from contracts.envelope import StreamState
from contracts.events import new_event
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
