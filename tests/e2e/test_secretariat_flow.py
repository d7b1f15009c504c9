"""In a real browser: a clerk registers and refers, a representative replies, the citizen reads the
reply and the number; two staff at once: the second keeps what they typed."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from contracts.persian import persian_digits
from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import signed_in_client
from tests.e2e.conftest import act, open_case, sign_in_as
from tests.steps import eventually, submit

pytestmark = pytest.mark.e2e

CLERK = Principal(
    account_id="clerk-1", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)
CLERK_2 = Principal(
    account_id="clerk-2", kind="staff", display_name="علی منشی", roles=("clerk",), province="tehran"
)
CITIZEN = Principal(
    account_id="citizen-1",
    kind="citizen",
    display_name="مریم کاظمی",
    national_code="0084575948",
    mobile="09123456789",
    assurance_level=2,
)


def test_clerk_registers_and_refers_representative_replies_citizen_reads(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    request_id = submit(desk, account_id=CITIZEN.account_id).request_id
    sign_in_as(browser, desk, CLERK)
    open_case(browser, desk, request_id)
    act(browser, "register")
    assert "شماره ثبت" in browser.find_element(By.ID, "notice").text
    number = browser.find_element(By.ID, "registration-number").text
    assert number.startswith("۱۴")

    unit_field = browser.find_element(By.ID, "refer-unit")
    if unit_field.tag_name == "select":  # the catalogue's units
        choice = Select(unit_field)
        choice.select_by_index(len(choice.options) - 1)
        unit, unit_name = (
            choice.first_selected_option.get_attribute("value"),
            choice.first_selected_option.text,
        )
    else:
        unit_field.send_keys("permits")
        unit, unit_name = "permits", "permits"
    browser.find_element(By.ID, "refer-instruction").send_keys("لطفاً بررسی و پاسخ دهید.")
    act(browser, "refer")
    assert "ارجاع" in browser.find_element(By.ID, "notice").text
    assert unit_name in browser.find_element(By.ID, "holder").text

    representative = Principal(
        account_id="rep-1", kind="staff", display_name="رضا پیگیر", roles=("representative",), unit=unit
    )
    sign_in_as(browser, desk, representative)
    open_case(browser, desk, request_id)
    browser.find_element(By.ID, "reply-legal").send_keys("ماده ۵ آیین‌نامه صدور مجوز")
    browser.find_element(By.ID, "reply-body").send_keys("مجوز شما صادر شد.")
    browser.find_element(By.ID, "reply-authority").send_keys("هیئت تجدیدنظر استان")
    act(browser, "reply", "button[type=submit]")
    assert "پاسخ ثبت شد" in browser.find_element(By.ID, "notice").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#history tr[data-action]")
    actions = [row.get_attribute("data-action") for row in rows]
    assert actions == ["submitted", "numbered", "referred", "reply_final"]
    assert browser.find_elements(By.CSS_SELECTOR, "svg.workflow-chart g.step")

    sign_in_as(browser, desk, CITIZEN)

    def replied() -> bool:
        browser.get(desk.url("citizen") + f"/requests/{request_id}")
        return "مجوز شما صادر شد." in browser.page_source

    eventually(replied)
    assert browser.find_element(By.ID, "registration-number").text == number
    assert persian_digits(number) == number


def test_two_staff_at_once_the_second_sees_a_conflict_and_keeps_their_text(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    request_id = submit(desk, account_id=CITIZEN.account_id).request_id
    sign_in_as(browser, desk, CLERK)
    open_case(browser, desk, request_id)
    act(browser, "register")
    typed = "این درخواست نیاز به مدارک بیشتری دارد."
    browser.find_element(By.ID, "note-text")  # the page the first clerk is looking at
    browser.find_element(By.ID, "return-reason").send_keys(typed)

    with signed_in_client(desk, CLERK_2) as colleague:  # meanwhile a colleague replies
        answer = colleague.post(
            f"/api/requests/{request_id}/replies", json={"kind": "interim", "body": "در حال بررسی"}
        )
        assert answer.status_code == 201, answer.text
        version = answer.json()["version"]
        eventually(lambda: colleague.get(f"/api/requests/{request_id}").json()["case"]["version"] >= version)

    act(browser, "return")
    assert "هم‌زمان" in browser.find_element(By.ID, "error").text
    assert browser.find_element(By.ID, "return-reason").get_attribute("value") == typed
    act(browser, "return")  # now on the fresh version
    assert "بازگشت" in browser.find_element(By.ID, "notice").text
