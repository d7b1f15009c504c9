"""The browser reaches both gateways' pages: right-to-left Persian, clear errors."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from deploy.run import Desk
from gateway.web.auth import Principal
from tests.e2e.conftest import click_and_wait, sign_in_as

pytestmark = pytest.mark.e2e


def test_home_is_persian_right_to_left_and_unknown_pages_say_so(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    browser.get(desk.url("citizen") + "/")
    html = browser.find_element(By.TAG_NAME, "html")
    assert (html.get_attribute("dir"), html.get_attribute("lang")) == ("rtl", "fa")
    assert "پیشخوان خدمت" in browser.title
    browser.get(desk.url("citizen") + "/no-such-page")
    assert browser.find_element(By.ID, "error-page").text == "صفحه مورد نظر یافت نشد."


def test_a_signed_in_citizen_sees_their_name_and_can_sign_out(desk: Desk, browser: webdriver.Chrome) -> None:
    sign_in_as(browser, desk, Principal(account_id="a1", kind="citizen", display_name="مریم کاظمی"))
    browser.get(desk.url("citizen") + "/")
    assert browser.find_element(By.CLASS_NAME, "who").text == "مریم کاظمی"
    button = browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button")
    click_and_wait(browser, button)
    assert browser.find_elements(By.CLASS_NAME, "who") == []
