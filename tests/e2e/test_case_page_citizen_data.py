"""In a real browser: the secretariat's case page shows everything the citizen gave in the six-step
wizard (contact details and the «مراجعه به سازمان» step), each label beside its value on a wide
screen, and after a correction the new file as current with the old one under earlier versions."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from contracts.persian import persian_digits
from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import CSRF_FOR_TESTS, session_cookie
from tests.e2e.conftest import act, sign_in_as
from tests.steps import eventually
from tests.unit.test_requests_files import PDF

pytestmark = pytest.mark.e2e

SERVICE = "10012134001"  # the sample catalogue's wizard service, answered by Tehran's secretariat
CLERK = Principal(
    account_id="clerk-data", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)
CITIZEN = Principal(
    account_id="citizen-data",
    kind="citizen",
    display_name="زهرا احمدی",
    national_code="0084575948",
    mobile="09121234567",
    assurance_level=1,
)
TYPED = {
    "landline": "02166001122",
    "email": "zahra@example.ir",
    "address": "تهران، خیابان آزادی، کوچه نسترن، پلاک ۱۲",
    "visit_officer": "ابوالفضل یاری",
    "visit_date": "1402/05/01",
    "previous_result": "پاسخ ناقص دریافت کردم",
    "visit_description": "برای پیگیری پرونده به دفتر دهیاری‌ها مراجعه کردم.",
}
FIRST_FILE = ("صورتجلسه شورا.pdf", PDF)  # 45 bytes: a size that rounded down to «۰ کیلوبایت»
CORRECTED_FILE = ("صورتجلسه اصلاح‌شده.pdf", PDF + b"%" + b" " * 1600 + b"\n")
WIDE = 1600
NEAR = 200
"""At most this many pixels between a label and its value on a screen `WIDE` pixels wide."""

PAIRS_JS = """
const found = [];
for (const dt of document.querySelectorAll('main dl dt')) {
  const dd = dt.nextElementSibling;
  if (!dd || dd.tagName !== 'DD' || !dd.textContent.trim()) continue;
  const label = document.createRange(); label.selectNodeContents(dt);
  const value = document.createRange(); value.selectNodeContents(dd);
  const a = label.getBoundingClientRect(), b = value.getBoundingClientRect();
  found.push({label: dt.textContent.trim(), value: dd.textContent.trim(),
              gap: Math.max(a.left - b.right, b.left - a.right, 0), rise: Math.abs(a.top - b.top)});
}
return found;
"""


def _citizen(desk: Desk) -> httpx.Client:
    cookie = session_cookie(desk, CITIZEN)
    return httpx.Client(base_url=desk.url("citizen"), cookies={cookie["name"]: cookie["value"]}, timeout=30)


def _post(client: httpx.Client, path: str, files: Any = None, **fields: str) -> httpx.Response:
    answer = client.post(path, data={"csrf_token": CSRF_FOR_TESTS, **fields}, files=files)
    assert answer.status_code == 303, (
        path,
        answer.status_code,
        re.findall(r'id="error">([^<]+)<', answer.text),
    )
    return answer


def file_through_the_wizard(desk: Desk) -> str:
    """The citizen walks the six steps through the citizen gateway; the request's id."""
    with _citizen(desk) as citizen:
        eventually(lambda: citizen.get(f"/services/{SERVICE}").status_code == 200)
        draft = _post(citizen, f"/services/{SERVICE}/start", consent="yes").headers["location"]
        _post(citizen, draft, step="1", action="next")
        _post(citizen, draft, step="2", action="next", text="درخواست صدور مجوز تاسیس دهیاری روستای ده‌نو")
        name, data = FIRST_FILE
        uploaded = citizen.post(
            draft,
            data={"csrf_token": CSRF_FOR_TESTS, "step": "3", "action": "upload"},
            files={"file": (name, data, "application/pdf")},
        )
        assert name in uploaded.text, re.findall(r'id="error">([^<]+)<', uploaded.text)
        _post(citizen, draft, step="3", action="next")
        person = {"national_code": "0084575948", "first_name": "زهرا", "last_name": "احمدی"}
        person |= {"mobile": "09121234567", "landline": TYPED["landline"], "email": TYPED["email"]}
        _post(citizen, draft, step="4", action="next", address=TYPED["address"], **person)
        visit = {k: TYPED[k] for k in ("visit_officer", "visit_date", "previous_result", "visit_description")}
        _post(citizen, draft, step="5", action="next", **visit)
        receipt = _post(citizen, draft, step="6", action="submit").headers["location"]
    found = re.fullmatch(r"/requests/([0-9a-f]{32})/receipt", receipt)
    assert found, receipt
    return found.group(1)


def resubmit_with_a_new_file(desk: Desk, request_id: str, old_file: str) -> None:
    """The citizen replaces the returned request's file with a corrected one."""
    with _citizen(desk) as citizen:
        name, data = CORRECTED_FILE
        _post(
            citizen,
            f"/requests/{request_id}/resubmit",
            files={"file": (name, data, "application/pdf")},
            subject="درخواست تاسیس دهیاری",
            text="درخواست صدور مجوز تاسیس دهیاری روستای ده‌نو، با صورتجلسه اصلاح‌شده",
            **{f"remove_{old_file}": "1"},
        )


def open_page(browser: webdriver.Chrome, desk: Desk, request_id: str, ready: str = "") -> None:
    def shown() -> bool:
        browser.get(desk.url("backoffice") + f"/secretariat/cases/{request_id}")
        return bool(browser.find_elements(By.ID, "tracking-code")) and ready in browser.page_source

    eventually(shown)


def test_the_case_page_shows_what_the_citizen_gave_beside_its_labels_and_the_corrected_file(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    request_id = file_through_the_wizard(desk)
    browser.set_window_size(WIDE, 1000)
    sign_in_as(browser, desk, CLERK)
    open_page(browser, desk, request_id)
    act(browser, "register")
    tracking = browser.find_element(By.ID, "tracking-code").text

    pairs = {p["label"]: p for p in browser.execute_script(PAIRS_JS)}
    expected = {
        "کد ملی": persian_digits("0084575948"),
        "تلفن همراه": persian_digits("09121234567"),
        "کد رهگیری": tracking,
        "شماره ثبت دبیرخانه": "۱۴",
        "نام و نام خانوادگی": "زهرا احمدی",
        "تلفن ثابت": persian_digits(TYPED["landline"]),
        "ایمیل": TYPED["email"],
        "آدرس": TYPED["address"],
        "متصدی": TYPED["visit_officer"],
        "تاریخ مراجعه": persian_digits(TYPED["visit_date"]),
        "نتیجه مراجعه قبلی": TYPED["previous_result"],
        "شرح مراجعه": TYPED["visit_description"],
    }
    missing = [label for label in expected if label not in pairs]
    assert not missing, f"labels not on the case page: {missing} (found {list(pairs)})"
    for label, value in expected.items():
        assert value in pairs[label]["value"], (label, pairs[label]["value"])
    far = {p["label"]: round(p["gap"]) for p in pairs.values() if p["gap"] > NEAR or p["rise"] > 20}
    assert not far, f"values far from their labels at {WIDE} px: {far}"

    files = browser.find_element(By.ID, "attachments-current")
    assert FIRST_FILE[0] in files.text and "۰ کیلوبایت" not in files.text, files.text
    old_link = files.find_element(By.PARTIAL_LINK_TEXT, FIRST_FILE[0]).get_attribute("href") or ""
    old_file = old_link.rsplit("/", 1)[-1]

    browser.find_element(By.ID, "return-reason").send_keys("صورتجلسه امضا ندارد؛ نسخه امضاشده را بفرستید.")
    act(browser, "return")
    resubmit_with_a_new_file(desk, request_id, old_file)

    open_page(browser, desk, request_id, ready=CORRECTED_FILE[0])
    current = browser.find_element(By.ID, "attachments-current").text
    assert CORRECTED_FILE[0] in current and FIRST_FILE[0] not in current, current
    assert "۱٫۶ کیلوبایت" in current, current
    earlier = browser.find_element(By.ID, "attachments-earlier").text
    assert FIRST_FILE[0] in earlier and re.search("۱۴[۰-۹]{2}/[۰-۹]{2}/[۰-۹]{2}", earlier), earlier
    assert "۴۵ بایت" in earlier, earlier

    cookie = session_cookie(desk, CLERK)
    with httpx.Client(base_url=desk.url("backoffice"), cookies={cookie["name"]: cookie["value"]}) as clerk:
        kept = clerk.get(f"/secretariat/cases/{request_id}/files/{old_file}")
    assert kept.status_code == 200 and kept.content == FIRST_FILE[1]
