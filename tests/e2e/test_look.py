"""The desk's look in Chromium (issue 24): Vazirmatn on both gateways, no page wider than a phone,
the error summary and the skip link moving focus.

The font comes from the `vazirmatn` npm package that deploy/bootstrap.sh installs into
var/npm/node_modules; the gateways serve it under /static/fonts/ (gateway/web/assets.py)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from deploy.run import Desk
from gateway.web.auth import Principal
from tests.e2e.conftest import click_and_wait, sign_in_as
from tests.steps import eventually, submit
from tests.unit.test_requests_files import PDF

pytestmark = pytest.mark.e2e

SERVICE = "10012134001"
PHONE = 375
"""A small phone's width in CSS pixels (iPhone SE and most Android phones are 360–390)."""
CITIZEN = Principal(
    account_id="acc-look",
    kind="citizen",
    display_name="زهرا احمدی",
    national_code="0084575948",
    mobile="09121234567",
    assurance_level=1,
)
CLERK = Principal(
    account_id="clerk-look", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)

FONT_LOADED = """
const done = arguments[arguments.length - 1];
document.fonts.ready.then(() => done({
  family: getComputedStyle(document.querySelector('main p, main label, main')).fontFamily,
  check: document.fonts.check('16px Vazirmatn'),
  loaded: [...document.fonts]
    .filter((f) => f.family.replace(/"/g, '') === 'Vazirmatn' && f.status === 'loaded').map((f) => f.weight),
}));
"""


def _font(browser: webdriver.Chrome, url: str) -> dict[str, object]:
    browser.get(url)
    answer: dict[str, object] = browser.execute_async_script(FONT_LOADED)
    return answer


def test_both_gateways_set_their_text_in_vazirmatn_served_with_a_long_cache(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    for url in (desk.url("citizen") + "/", desk.url("backoffice") + "/login"):
        answer = _font(browser, url)
        assert str(answer["family"]).startswith("Vazirmatn"), (url, answer)
        loaded = answer["loaded"]
        assert answer["check"] is True and isinstance(loaded, list) and "400" in loaded, (url, answer)
    with urllib.request.urlopen(desk.url("citizen") + "/static/fonts/Vazirmatn-Regular.woff2") as response:
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.read(4) == b"wOF2"


def _wide(browser: webdriver.Chrome) -> tuple[int, int]:
    """The document's width and the window's, in CSS pixels."""
    width: int = browser.execute_script("return document.documentElement.scrollWidth")
    window: int = browser.execute_script("return window.innerWidth")
    return width, window


def _fits(browser: webdriver.Chrome, name: str) -> None:
    width, window = _wide(browser)
    assert window == PHONE and width <= window, (name, width, window)


def _walk_the_wizard(browser: webdriver.Chrome, folder: Path) -> None:
    """The six steps, each as wide as the phone at most; the steps' list wraps inside it."""
    scan = folder / "نقشه روستا.pdf"
    scan.write_bytes(PDF)

    def next_step(step: int) -> None:
        assert browser.find_element(By.ID, "wizard").get_attribute("data-step") == str(step)
        _fits(browser, f"wizard step {step}")
        steps = browser.find_element(By.CSS_SELECTOR, "ol.steps")
        assert browser.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", steps)
        click_and_wait(browser, browser.find_element(By.ID, "next"))

    next_step(1)
    browser.find_element(By.NAME, "text").send_keys("درخواست صدور مجوز تاسیس دهیاری برای روستای ده‌نو")
    next_step(2)
    browser.find_element(By.ID, "f-file").send_keys(str(scan))
    click_and_wait(browser, browser.find_element(By.ID, "upload"))
    next_step(3)
    browser.find_element(By.NAME, "first_name").send_keys("زهرا")
    browser.find_element(By.NAME, "last_name").send_keys("احمدی")
    next_step(4)
    Select(browser.find_element(By.NAME, "visit_officer")).select_by_index(1)
    browser.find_element(By.NAME, "visit_date").send_keys("1402/05/01")
    next_step(5)
    assert browser.find_element(By.ID, "review").get_attribute("class") == "kv", (
        "the review keeps labels beside"
    )
    _fits(browser, "wizard step 6")


def test_no_page_scrolls_sideways_on_a_phone_and_tables_become_cards(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    filed = submit(desk, account_id=CITIZEN.account_id)
    citizen, backoffice = desk.url("citizen"), desk.url("backoffice")
    sign_in_as(browser, desk, CITIZEN)
    browser.set_window_size(PHONE, 800)

    def catalogue_ready() -> bool:
        browser.get(citizen + "/")
        return bool(browser.find_elements(By.CSS_SELECTOR, f"a[data-service='{SERVICE}']"))

    eventually(catalogue_ready)
    pages: dict[str, str] = {"home": browser.current_url}
    browser.find_element(By.CSS_SELECTOR, f"a[data-service='{SERVICE}']").click()
    pages["service"] = browser.current_url
    browser.find_element(By.ID, "consent").click()
    click_and_wait(browser, browser.find_element(By.ID, "start"))
    _walk_the_wizard(browser, tmp_path)

    def receipt() -> bool:
        browser.get(f"{citizen}/requests/{filed.request_id}/receipt")
        return bool(browser.find_elements(By.ID, "receipt"))

    eventually(receipt)
    pages |= {
        "receipt": browser.current_url,
        "request": f"{citizen}/requests/{filed.request_id}",
        "track": citizen + "/track",
        "ticket form": citizen + "/support/new",
        "account": citizen + "/account",
        "cartable": citizen + "/cartable?folder=progress",
    }
    for name, url in pages.items():
        browser.get(url)
        _fits(browser, name)

    def carded() -> list[str]:
        browser.get(citizen + "/cartable?folder=progress")
        cells = browser.find_elements(By.CSS_SELECTOR, "#requests.cards tr[data-request] td[data-label]")
        return [cell.get_attribute("data-label") or "" for cell in cells]

    labels = eventually(carded)
    assert labels[:2] == ["درخواست کننده", "کد رهگیری"], (
        "the cartable's rows are cards with their columns' labels"
    )
    assert browser.execute_script(
        "return getComputedStyle(document.querySelector('#requests thead')).position"
    ) == ("absolute"), "the column headings are left to screen readers"

    sign_in_as(browser, desk, CLERK)
    browser.set_window_size(PHONE, 800)

    def in_cartable() -> bool:
        browser.get(backoffice + "/secretariat/cartable?folder=awaiting")
        return bool(browser.find_elements(By.CSS_SELECTOR, f'tr[data-request-id="{filed.request_id}"]'))

    eventually(in_cartable)
    for name, url in {
        "back-office cartable": browser.current_url,
        "case page": f"{backoffice}/secretariat/cases/{filed.request_id}",
    }.items():
        browser.get(url)
        _fits(browser, name)
    label = browser.execute_script(
        "return getComputedStyle(document.querySelector('#history.cards td[data-label]'), '::before').content"
    )
    assert label not in (None, "none", "normal", '""'), "each history cell shows its column's label"


def test_the_error_summary_is_focused_and_its_links_move_focus_to_their_fields(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    sign_in_as(browser, desk, CITIZEN)
    browser.get(desk.url("citizen") + "/support/new")
    click_and_wait(browser, browser.find_element(By.ID, "send-ticket"))
    summary = browser.find_element(By.ID, "error-summary")
    assert summary.get_attribute("role") == "alert"
    assert "خطاهایی در فرم وجود دارد" in summary.text
    assert browser.switch_to.active_element.get_attribute("id") == "error-summary"
    links = summary.find_elements(By.TAG_NAME, "a")
    assert [link.get_attribute("data-field") for link in links] == ["subject", "text"]
    links[1].click()
    assert browser.switch_to.active_element.get_attribute("id") == "f-text"
    links[0].click()
    assert browser.switch_to.active_element.get_attribute("id") == "f-subject"


def test_the_skip_link_is_the_first_stop_and_moves_focus_to_the_main_content(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    for url in (desk.url("citizen") + "/", desk.url("backoffice") + "/login"):
        browser.get(url)
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        skip = browser.switch_to.active_element
        assert (skip.get_attribute("id"), skip.text) == ("skip-link", "پرش به محتوای اصلی")
        assert skip.is_displayed() and skip.location["y"] >= 0, "visible once focused"
        skip.send_keys(Keys.ENTER)
        assert browser.switch_to.active_element.get_attribute("id") == "main"


def test_a_printed_page_is_its_content_alone_black_on_white(desk: Desk, browser: webdriver.Chrome) -> None:
    filed = submit(desk, account_id=CITIZEN.account_id)
    sign_in_as(browser, desk, CITIZEN)

    def receipt() -> bool:
        browser.get(f"{desk.url('citizen')}/requests/{filed.request_id}/receipt")
        return bool(browser.find_elements(By.ID, "receipt"))

    eventually(receipt)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    hidden = browser.execute_script(
        "return [...document.querySelectorAll('header.top, footer, .skip-link, main button')]"
        ".map((e) => getComputedStyle(e).display)"
    )
    assert len(hidden) >= 3 and set(hidden) == {"none"}, hidden
    colours = browser.execute_script(
        "const css = (selector) => getComputedStyle(document.querySelector(selector));"
        "return [css('body').backgroundColor, css('main').color, css('#receipt').display]"
    )
    assert colours == ["rgb(255, 255, 255)", "rgb(0, 0, 0)", "table"], colours


ADMIN = Principal(
    account_id="admin-look",
    kind="staff",
    display_name="مدیر سامانه",
    roles=("admin", "desk_officer", "clerk"),
    province="tehran",
)
MORE_CITIZEN_PAGES = (
    "/login",
    "/register",
    "/dashboard",
    "/survey",
    "/account/edit",
    "/verification",
    "/support",
)
MORE_BACKOFFICE_PAGES = (
    "/identity/home",
    "/identity/cartable",
    "/identity/staff",
    "/secretariat/overview",
    "/secretariat/canned",
    "/catalogue",
    "/catalogue/services/new",
    "/content",
    "/content/new",
    "/notify/messages",
    "/notify/templates",
    "/survey/reports",
    "/support",
)


def test_the_other_pages_fit_a_phone_too(desk: Desk, browser: webdriver.Chrome) -> None:
    browser.get(desk.url("citizen") + MORE_CITIZEN_PAGES[0])
    browser.set_window_size(PHONE, 800)
    for path in MORE_CITIZEN_PAGES[:2]:  # signed out
        browser.get(desk.url("citizen") + path)
        _fits(browser, path)
    sign_in_as(browser, desk, CITIZEN)
    for path in MORE_CITIZEN_PAGES[2:]:
        browser.get(desk.url("citizen") + path)
        _fits(browser, path)
    sign_in_as(browser, desk, ADMIN)
    for path in MORE_BACKOFFICE_PAGES:
        browser.get(desk.url("backoffice") + path)
        assert browser.find_elements(By.TAG_NAME, "h1"), (
            path,
            browser.find_element(By.TAG_NAME, "main").text,
        )
        _fits(browser, path)
