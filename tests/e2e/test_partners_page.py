"""The administrator's «شرکای سامانه» page in Chromium (issue 25): a partner is added with its unit
chosen from the defined units (a wrong webhook URL is refused in Persian, with what was typed
kept); its key and webhook secret are shown once; the key authenticates at identity until the
partner is revoked; a rotation shows a new key and the old one stops working; a webhook the relay
paused is resumed; each partner has its «گزارش تحویل»; a clerk cannot open the page."""

from __future__ import annotations

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from contracts.envelope import StreamState
from contracts.events import new_event
from contracts.partners import PartnerWebhookPaused, partner_stream
from deploy.run import Desk
from gateway.rpc import RpcPool
from gateway.web.auth import Principal
from infra.eventstore import open_store
from infra.partner_keys import key_prefix
from tests.desk import session_cookie, store_url_of
from tests.e2e.conftest import click_and_wait, sign_in_as
from tests.steps import eventually
from tests.units import TEST_UNITS, define_units_on

pytestmark = pytest.mark.e2e

ADMIN = Principal(account_id="partners-admin", kind="staff", display_name="مدیر شرکا", roles=("admin",))
CLERK = Principal(
    account_id="partners-clerk", kind="staff", display_name="کارشناس", roles=("clerk",), province="tehran"
)


def _authenticates(desk: Desk, api_key: str) -> bool:
    pool = RpcPool({"AMQP_URI": desk.env["AMQP_URI"], "rpc_exchange": "nameko-rpc"}, size=1, timeout=30)
    pool.start()
    try:
        answer = pool.call("identity", "partner_authenticate", {"api_key": api_key})
    finally:
        pool.stop()
    if not answer["ok"]:
        assert answer["error"]["code"] == "invalid_api_key", answer
    return bool(answer["ok"])


def _row(browser: webdriver.Chrome, partner_id: str) -> webdriver.remote.webelement.WebElement:
    return browser.find_element(By.CSS_SELECTOR, f'tr[data-partner="{partner_id}"]')


def test_partners_from_adding_to_revoking(desk: Desk, browser: webdriver.Chrome) -> None:
    define_units_on(desk, TEST_UNITS)
    backoffice = desk.url("backoffice")
    sign_in_as(browser, desk, ADMIN)
    browser.get(backoffice + "/identity/home")
    click_and_wait(browser, browser.find_element(By.ID, "nav-partners"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "شرکای سامانه (دسترسی برنامه‌ها)"

    # A webhook URL that is not http(s) is refused with a Persian message; the form keeps it all.
    browser.find_element(By.ID, "name").send_keys("شهرداری منطقه ۳")
    Select(browser.find_element(By.ID, "unit")).select_by_visible_text(TEST_UNITS["permits"])
    browser.find_element(By.ID, "webhook_url").send_keys("ftp://partner.example/hook")
    click_and_wait(browser, browser.find_element(By.ID, "add-partner"))
    assert "نشانی وب‌هوک باید با https://" in browser.find_element(By.ID, "e-webhook_url").text
    assert browser.find_element(By.ID, "name").get_attribute("value") == "شهرداری منطقه ۳"
    assert Select(browser.find_element(By.ID, "unit")).first_selected_option.text == TEST_UNITS["permits"]
    assert browser.find_element(By.ID, "webhook_url").get_attribute("value") == "ftp://partner.example/hook"
    assert not browser.find_elements(By.ID, "new-key")

    hook = browser.find_element(By.ID, "webhook_url")
    hook.clear()
    hook.send_keys("https://partner.example/hook")
    click_and_wait(browser, browser.find_element(By.ID, "add-partner"))
    api_key = browser.find_element(By.ID, "shown-api-key").text
    secret = browser.find_element(By.ID, "shown-webhook-secret").text
    assert api_key.startswith("pk_") and len(api_key) == 35, api_key
    assert secret.startswith("whsec_")
    assert "فقط همین یک بار" in browser.find_element(By.ID, "new-key").text
    row = browser.find_element(By.CSS_SELECTOR, "#partners tr[data-partner]")
    partner_id = str(row.get_attribute("data-partner"))
    assert row.find_element(By.CSS_SELECTOR, ".name").text == "شهرداری منطقه ۳"
    assert row.find_element(By.CSS_SELECTOR, ".unit").text == TEST_UNITS["permits"]
    assert row.find_element(By.CSS_SELECTOR, ".status").text == "فعال"
    assert row.find_element(By.CSS_SELECTOR, ".prefix").text.startswith(key_prefix(api_key))
    assert row.find_element(By.CSS_SELECTOR, ".created").text  # a Jalali date
    assert "partner.example/hook" in row.find_element(By.CSS_SELECTOR, ".webhook").text
    log = browser.find_element(By.ID, f"deliveries-{partner_id}")
    assert "گزارش تحویل «شهرداری منطقه ۳»" in log.text
    assert "هنوز تحویلی ثبت نشده" in log.text or log.find_elements(
        By.CSS_SELECTOR, "tr[data-delivery-status]"
    )
    assert _authenticates(desk, api_key)

    # Shown once: the page read again holds neither the key nor the secret.
    browser.get(backoffice + "/partners")
    assert not browser.find_elements(By.ID, "new-key")
    assert api_key not in browser.page_source and secret not in browser.page_source

    # A new key: shown once, the old one refused, the secret changed with it.
    click_and_wait(browser, _row(browser, partner_id).find_element(By.CSS_SELECTOR, "form.rotate button"))
    new_key = browser.find_element(By.ID, "shown-api-key").text
    assert new_key.startswith("pk_") and new_key != api_key
    assert browser.find_element(By.ID, "shown-webhook-secret").text not in ("", secret)
    assert "نسل ۲" in _row(browser, partner_id).find_element(By.CSS_SELECTOR, ".prefix").text
    assert not _authenticates(desk, api_key)
    assert _authenticates(desk, new_key)

    # The relay paused the webhook; the administrator resumes it.
    store = open_store(store_url_of(desk))
    try:
        paused = PartnerWebhookPaused(partner_id=partner_id, reason="پنج بار پیاپی پاسخ ۵۰۰")
        store.append(
            partner_stream(partner_id), [new_event(paused, actor="relay")], StreamState.STREAM_EXISTS
        )
    finally:
        store.close()

    def shows_paused() -> bool:
        browser.get(backoffice + "/partners")
        return _row(browser, partner_id).get_attribute("data-webhook") == "paused"

    eventually(shows_paused)
    assert (
        "پنج بار پیاپی پاسخ ۵۰۰" in _row(browser, partner_id).find_element(By.CSS_SELECTOR, ".webhook").text
    )
    click_and_wait(browser, _row(browser, partner_id).find_element(By.CSS_SELECTOR, "form.resume button"))
    assert "از سر گرفته شد" in browser.find_element(By.ID, "notice").text
    assert _row(browser, partner_id).get_attribute("data-webhook") == "active"

    # Revoked with a reason: the row says so, offers nothing more, and the key is refused.
    row = _row(browser, partner_id)
    row.find_element(By.CSS_SELECTOR, "details.revoke summary").click()
    row.find_element(By.CSS_SELECTOR, "details.revoke input[name=reason]").send_keys("پایان قرارداد")
    click_and_wait(browser, row.find_element(By.CSS_SELECTOR, "details.revoke button"))
    assert "دسترسی شریک لغو شد" in browser.find_element(By.ID, "notice").text
    row = _row(browser, partner_id)
    assert row.get_attribute("data-status") == "revoked"
    assert row.find_element(By.CSS_SELECTOR, ".status").text.startswith("لغو شده")
    assert not row.find_elements(By.CSS_SELECTOR, "form")
    assert not _authenticates(desk, new_key)


def test_only_an_administrator_opens_the_page(desk: Desk) -> None:
    cookie = session_cookie(desk, CLERK)
    with httpx.Client(base_url=desk.url("backoffice"), cookies={cookie["name"]: cookie["value"]}) as clerk:
        answer = clerk.get("/partners")
    assert answer.status_code == 403, answer.status_code
    assert "شرکای سامانه" not in answer.text
    with httpx.Client(base_url=desk.url("backoffice")) as nobody:
        refused = nobody.post("/partners", data={"name": "سمن محله"})
    assert refused.status_code in (303, 401, 403), refused.status_code
