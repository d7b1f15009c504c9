"""Date fields in Chromium (issue 24): each is a text field with its example that the server
checks, and the Jalali date picker (npm @majidh1/jalalidatepicker) opens under it when it gets
the focus, writes the chosen day in Persian digits, and closes when the focus moves on. Without
JavaScript the same forms work by typing; a date that is no Jalali day comes back with a Persian
message and what was typed."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import jdatetime
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from contracts.persian import latin_digits
from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import running_desk, signed_in_client
from tests.e2e.axe import audit
from tests.e2e.conftest import click_and_wait, sign_in_as
from tests.integration.test_identity_flow import PASSWORD, identity_env
from tests.steps import eventually, submit

pytestmark = pytest.mark.e2e

CLERK = Principal(
    account_id="dates-clerk", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)
PERSIAN_DAY = re.compile(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("date-pickers")
    with running_desk(folder, "postgresql", **identity_env(folder)) as running:
        yield running


def fill(browser: webdriver.Chrome, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def described(browser: webdriver.Chrome, field: WebElement) -> str:
    ids = (field.get_attribute("aria-describedby") or "").split()
    return " ".join(browser.find_element(By.ID, name).text for name in ids)


def picker_shown(browser: webdriver.Chrome) -> bool:
    return bool(
        browser.execute_script(
            "var c = document.querySelector('jdp-container'), style = c && getComputedStyle(c);"
            "return !!c && style.display !== 'none' && style.visibility === 'visible';"
        )
    )


def pick_today(browser: webdriver.Chrome, field: WebElement) -> str:
    """Open the picker from `field` and press its «امروز»; the day the field then holds."""
    field.click()
    eventually(lambda: picker_shown(browser), timeout=10)
    browser.find_element(By.CSS_SELECTOR, "jdp-container .jdp-btn-today").click()
    eventually(lambda: not picker_shown(browser), timeout=10)  # a day chosen, the grid steps aside
    return field.get_attribute("value") or ""


def typed_and_closed(browser: webdriver.Chrome, values: dict[str, str]) -> None:
    """Type `values` into their fields (the last one a date's): typing closes the picker the
    field opened, and it stays closed. The picker finishes opening 300 ms after the focus, even
    when typing hid it meanwhile: a date typed at once brought it back over the form's button,
    where Escape no longer closed it."""
    fill(browser, values)
    time.sleep(0.6)  # past the picker's opening
    assert not picker_shown(browser), "the picker came back over the form after the date was typed"


def today() -> str:
    return jdatetime.date.today().strftime("%Y/%m/%d")


def test_the_citizen_birth_date_picks_a_day_in_persian_digits_and_closes_when_the_focus_moves(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    browser.get(desk.url("citizen") + "/register/mobile")
    assert browser.execute_script("return !!window.jalaliDatepicker")  # served from var/npm
    field = browser.find_element(By.ID, "birth_date")
    assert field.get_attribute("type") == "text" and field.get_attribute("data-jdp") is not None
    assert "مثال: ۱۳۷۰/۰۵/۲۰" in described(browser, field)
    field.click()
    eventually(lambda: picker_shown(browser), timeout=10)
    blocking = [str(v) for v in audit(browser, "citizen/register/mobile (picker open)") if v.blocking]
    assert not blocking, blocking  # its year and month lists are labelled too
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    chosen = pick_today(browser, field)
    assert PERSIAN_DAY.fullmatch(chosen) and latin_digits(chosen) == today(), chosen
    field.click()
    assert picker_shown(browser)
    browser.switch_to.active_element.send_keys(Keys.TAB)  # on to «نام»
    eventually(lambda: not picker_shown(browser), timeout=5)
    assert browser.switch_to.active_element.get_attribute("id") == "first_name"


def test_without_javascript_a_typed_date_is_checked_by_the_server_and_the_form_comes_back(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    browser.get(desk.url("citizen") + "/register/mobile")
    who = {"national_code": "0022334459", "mobile": "09124445566", "first_name": "امیر", "last_name": "صادقی"}
    fill(browser, {**who, "birth_date": "۱۳۶۶/۱۳/۰۱", "password": PASSWORD, "password2": PASSWORD})
    click_and_wait(browser, browser.find_element(By.ID, "create"))
    assert "تاریخ تولد معتبر نیست" in browser.find_element(By.ID, "e-birth_date").text
    field = browser.find_element(By.ID, "birth_date")
    assert field.get_attribute("aria-invalid") == "true" and "e-birth_date" in (
        field.get_attribute("aria-describedby") or ""
    )
    assert latin_digits(field.get_attribute("value") or "") == "1366/13/01"
    assert browser.find_element(By.NAME, "first_name").get_attribute("value") == "امیر"
    fill(browser, {"birth_date": "۱۳۶۶/۱۲/۰۱", "password": PASSWORD, "password2": PASSWORD})
    click_and_wait(browser, browser.find_element(By.ID, "create"))
    assert browser.find_elements(By.ID, "code-form"), browser.find_element(By.TAG_NAME, "main").text


def test_the_back_office_filters_and_reply_date_pick_days_and_refuse_what_is_no_day(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    filed = submit(desk)
    with signed_in_client(desk, CLERK) as staff:

        def case() -> dict[str, object] | None:
            answer = staff.get(f"/api/requests/{filed.request_id}")
            return answer.json()["case"] if answer.status_code == 200 else None

        eventually(case)
        assert staff.post(f"/api/requests/{filed.request_id}/number").status_code == 201
        eventually(lambda: (case() or {}).get("registration_number"))

    sign_in_as(browser, desk, CLERK)
    browser.get(desk.url("backoffice") + "/secretariat/cartable?folder=all")
    since = browser.find_element(By.ID, "f-from")
    assert "مثال:" in described(browser, since)
    assert latin_digits(pick_today(browser, since)) == today()
    click_and_wait(browser, browser.find_element(By.ID, "search"))
    assert not browser.find_elements(By.CSS_SELECTOR, ".alert.error")
    assert latin_digits(browser.find_element(By.ID, "f-from").get_attribute("value") or "") == today()
    rows = browser.find_elements(By.CSS_SELECTOR, f"#cartable tr[data-request-id='{filed.request_id}']")
    assert rows, "today's request is found from today"

    typed_and_closed(browser, {"date_from": "", "date_to": "۱۴۰۵/۰۷/۳۱"})  # Mehr has 30 days
    click_and_wait(browser, browser.find_element(By.ID, "search"))
    assert "تاریخ را به صورت" in browser.find_element(By.CSS_SELECTOR, ".alert.error").text

    browser.get(desk.url("backoffice") + f"/secretariat/cases/{filed.request_id}")
    typed_and_closed(browser, {"body": "پاسخ با تاریخ نادرست", "reply_date": "۱۴۰۵/۰۷/۳۱"})
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#form-reply button[type=submit]"))
    assert "تاریخ را به صورت" in browser.find_element(By.CSS_SELECTOR, ".alert.error").text
    assert browser.find_element(By.NAME, "body").get_attribute("value") == "پاسخ با تاریخ نادرست"
    assert (
        latin_digits(browser.find_element(By.NAME, "reply_date").get_attribute("value") or "") == "1405/07/31"
    )
    picked = pick_today(browser, browser.find_element(By.NAME, "reply_date"))
    assert PERSIAN_DAY.fullmatch(picked), picked
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#form-reply button[type=submit]"))
    assert "done=reply" in browser.current_url, browser.find_element(By.TAG_NAME, "main").text
