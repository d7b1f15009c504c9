"""In a real browser: a registration number is digits only, as the guides print it («با شماره ۱۲۳۴
ثبت گردید»), in Persian digits and isolated left to right wherever it is shown (the request page,
the citizen's cartable, the track page, the back office's cartable and case page), so the bidi
algorithm can no longer turn «۱۴۰۵/tehran/۱» into «tehran/۱/۱۴۰۵»; in a cartable's narrow cell it
stays on one line (it was «azarbaijan-/۱۴۰۵ west/۱»)."""

from __future__ import annotations

import re

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from contracts.persian import persian_digits
from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import signed_in_client
from tests.e2e.conftest import act, click_and_wait, open_case, sign_in_as
from tests.steps import eventually, submit

pytestmark = pytest.mark.e2e

PROVINCE = "azarbaijan-west"  # the longest name of all: the one that wrapped in the cartable
CODE = "۰۴"  # its numeric code
CLERK = Principal(
    account_id="clerk-numbers", kind="staff", display_name="سارا دبیری", roles=("clerk",), province=PROVINCE
)
CITIZEN = Principal(
    account_id="citizen-numbers",
    kind="citizen",
    display_name="مریم کاظمی",
    national_code="0084575948",
    mobile="09123456789",
    assurance_level=2,
)
FILED = {
    "national_code": "0084575948",
    "full_name": "زهرا احمدی",
    "mobile": "09120001122",
    "province": PROVINCE,
    "subject": "درخواست پروانه",
    "text": "با سلام، درخواست صدور پروانه دارم.",
}
NUMBER = re.compile(f"[۰-۹]{{4}}/{CODE}/[۰-۹]+")
"""The default format, `{year}/{code}/{sequence}`, as a citizen reads it."""


def isolated(browser: webdriver.Chrome, holder: WebElement) -> str:
    """The text of the one left-to-right isolate inside `holder`, after checking that it is one:
    a <bdi dir="ltr"> that the browser lays out on a single line, whatever the cell's width."""
    boxes = holder.find_elements(By.CSS_SELECTOR, 'bdi[dir="ltr"]')
    assert len(boxes) == 1, holder.get_attribute("innerHTML")
    box = boxes[0]
    assert box.value_of_css_property("white-space") == "nowrap"
    assert box.value_of_css_property("unicode-bidi") == "isolate"
    lines = browser.execute_script(
        "const r = arguments[0].getClientRects(); return new Set([...r].map(b => Math.round(b.top))).size;",
        box,
    )
    assert lines == 1, f"{box.text} is on {lines} lines"
    return str(box.text)


def a_number(text: str) -> str:
    """`text` is a registration number in Persian digits with no Latin letter or digit in it."""
    assert NUMBER.fullmatch(text), text
    assert not re.search("[A-Za-z0-9]", text), text
    return text


def test_a_number_is_shown_digits_only_isolated_and_in_one_line(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    filed = submit(desk, PROVINCE, account_id=CITIZEN.account_id)
    tracking = persian_digits(filed.tracking_code)

    # The back office: the clerk registers the request and reads the number on the case page.
    sign_in_as(browser, desk, CLERK)
    open_case(browser, desk, filed.request_id)
    assert isolated(browser, browser.find_element(By.ID, "tracking-code")) == tracking
    act(browser, "register")
    number = a_number(isolated(browser, browser.find_element(By.ID, "registration-number")))
    numbered = browser.find_element(By.CSS_SELECTOR, '#history tr[data-action="numbered"]')
    assert isolated(browser, numbered) == number

    # The clerk's cartable, in a narrow window: the number's cell holds it on one line.
    browser.set_window_size(560, 1000)
    row = f'#cartable tr[data-request-id="{filed.request_id}"]'

    def listed() -> list[WebElement]:
        browser.get(desk.url("backoffice") + "/secretariat/cartable?folder=all")
        return browser.find_elements(By.CSS_SELECTOR, f"{row} td.registration-number bdi")

    eventually(listed)
    assert isolated(browser, browser.find_element(By.CSS_SELECTOR, f"{row} td.registration-number")) == number

    # The citizen: the request page and the cartable (narrow too).
    browser.set_window_size(1280, 1000)
    sign_in_as(browser, desk, CITIZEN)

    def numbered_for_the_citizen() -> bool:
        browser.get(desk.url("citizen") + f"/requests/{filed.request_id}")
        return bool(browser.find_elements(By.CSS_SELECTOR, '#registration-number bdi[dir="ltr"]'))

    eventually(numbered_for_the_citizen)
    assert isolated(browser, browser.find_element(By.ID, "registration-number")) == number
    assert isolated(browser, browser.find_element(By.ID, "tracking-code")) == tracking

    browser.set_window_size(560, 1000)
    browser.get(desk.url("citizen") + "/cartable")
    mine = f'#requests tr[data-request="{filed.request_id}"]'
    assert (
        isolated(browser, browser.find_element(By.CSS_SELECTOR, f"{mine} td.registration-number")) == number
    )
    assert isolated(browser, browser.find_element(By.CSS_SELECTOR, f"{mine} a")) == tracking


def test_the_track_page_shows_the_code_and_the_number_isolated(desk: Desk, browser: webdriver.Chrome) -> None:
    # Filed through the citizen API, so the tracking code is a real one (with its check digits).
    with httpx.Client(base_url=desk.url("citizen"), timeout=30) as citizen:
        filed = citizen.post("/api/requests", json=FILED)
    assert filed.status_code == 201, filed.text
    request_id, code = filed.json()["request_id"], filed.json()["tracking_code"]
    with signed_in_client(desk, CLERK, timeout=30) as clerk:
        eventually(lambda: clerk.get(f"/api/requests/{request_id}").status_code == 200)
        numbered = clerk.post(f"/api/requests/{request_id}/number")
    assert numbered.status_code == 201, numbered.text
    number = persian_digits(numbered.json()["registration_number"])

    def found() -> WebElement | None:
        browser.get(desk.url("citizen") + "/track")
        browser.find_element(By.ID, "f-tracking_code").send_keys(code)
        browser.find_element(By.ID, "f-second_factor").send_keys(FILED["national_code"])
        click_and_wait(browser, browser.find_element(By.ID, "search"))
        result = browser.find_element(By.ID, "track-result")
        return result if result.find_elements(By.CSS_SELECTOR, "td bdi") else None

    result = eventually(found)
    assert isolated(browser, result.find_element(By.TAG_NAME, "h2")) == persian_digits(code)
    shown = result.find_element(By.XPATH, './/th[.="شماره ثبت دبیرخانه"]/following-sibling::td')
    assert a_number(isolated(browser, shown)) == number
