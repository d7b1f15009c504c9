"""End-to-end: a real headless Chromium against a whole running desk (PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import running_desk, session_cookie
from tests.steps import eventually

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """One desk per test module (starting one takes seconds)."""
    with running_desk(tmp_path_factory.mktemp("desk"), "postgresql") as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Debian Chromium, Persian locale, a fresh profile per test."""
    if shutil.which(CHROMIUM) is None or shutil.which(CHROMEDRIVER) is None:
        pytest.fail(
            "end-to-end tests need Debian's chromium and chromium-driver (tests/run.sh installs them)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--lang=fa-IR",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in_as(browser: webdriver.Chrome, desk: Desk, principal: Principal) -> None:
    """Put a signed session for `principal` into the browser (tests of areas other than identity)."""
    gateway = "backoffice" if principal.kind == "staff" else "citizen"
    browser.get(desk.url(gateway) + "/static/style.css")  # a page of the right origin first
    browser.add_cookie({**session_cookie(desk, principal), "path": "/"})


def gone(element: WebElement) -> Callable[[webdriver.Chrome], bool]:
    """A wait's condition: the page holding `element` has been left.

    While Chromium swaps documents, asking about the old node can fail with "stale element" or with
    "node does not belong to the document"; both mean the page has moved on (Selenium's own
    `staleness_of` takes only the first for an answer and raises the second)."""

    def left(_: webdriver.Chrome) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:
            return True
        return False

    return left


def click_and_wait(browser: webdriver.Chrome, button: WebElement) -> None:
    """Click a button that leaves the page and wait until the old page is gone."""
    button.click()
    WebDriverWait(browser, 10).until(gone(button))


def open_case(browser: webdriver.Chrome, desk: Desk, request_id: str) -> None:
    """From the cartable's awaiting folder to the request's page."""

    def listed() -> bool:
        browser.get(desk.url("backoffice") + "/secretariat/cartable?folder=awaiting")
        return bool(browser.find_elements(By.CSS_SELECTOR, f'tr[data-request-id="{request_id}"]'))

    eventually(listed)
    browser.find_element(By.CSS_SELECTOR, f'tr[data-request-id="{request_id}"] a').click()
    assert browser.find_element(By.ID, "tracking-code").text


def act(browser: webdriver.Chrome, action: str, button: str = "button") -> None:
    """Submit the case page's form of `action` and wait for the page that answers it."""
    browser.find_element(By.CSS_SELECTOR, f"#form-{action} {button}").click()
    eventually(
        lambda: f"done={action}" in browser.current_url or browser.find_elements(By.CSS_SELECTOR, "#error")
    )
