"""WCAG 2.1 AA on every page of both gateways, read by axe-core in Chromium at desktop and phone
width: signed out, signed in as a citizen, a company, a desk officer, a clerk and the
administrator. Each page of `PAGES` is opened with real ids (a request filed through the wizard,
numbered and answered, another returned for correction; a ticket and its answer; an identity case;
a dashboard item), and no page may have a serious or critical violation; the others are printed.
Refused forms are read too: the refusal is an alert, and each field's message is tied to its field
(aria-describedby), as a screen reader needs it. Tab shows where the focus is, and the skip link is
the first stop and moves the focus to the content.

The list is fixed, and kept complete by `test_every_html_page_of_both_gateways_is_audited`: a GET
route of either app that is neither listed nor excluded (by `is_not_a_page` or `EXCLUDED`) fails
it by name, so a new page cannot go unchecked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from starlette.routing import Route

from contracts.events import new_event
from contracts.identity import CitizenRegistered, Company, ShahkarChecked
from contracts.persian import latin_digits as persian_to_latin
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from services.identity.accounts import account_stream, case_id
from tests.captchas import answer_of, secret_of
from tests.desk import CSRF_FOR_TESTS, running_desk, signed_in_client, store_url_of
from tests.e2e.axe import Violation, audit
from tests.e2e.conftest import click_and_wait, gone, sign_in_as
from tests.integration.test_identity_flow import ADMIN as BOOTSTRAP
from tests.steps import eventually, submit

pytestmark = pytest.mark.e2e

WIZARD = "10012134001"  # the sample catalogue's wizard service (Tehran's secretariat answers it)
LETTER = "17011230002"  # the sample catalogue's letter to a unit (any assurance level)
NATIONAL_CODE = "0084575948"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

CITIZEN = Principal(
    account_id="a11y-citizen",
    kind="citizen",
    display_name="زهرا احمدی",
    national_code=NATIONAL_CODE,
    mobile="09121239876",
    assurance_level=1,
)
VERIFYING = Principal(  # sends the identity verification form the desk officer reads
    account_id="a11y-verifying",
    kind="citizen",
    display_name="علی رضایی",
    national_code="0012345679",
    mobile="09124445577",
    assurance_level=2,
)
COMPANY = Principal(  # a company's attorney: its account, letter and verification pages differ
    account_id="a11y-company",
    kind="citizen",
    display_name="رضا کریمی",
    national_code="0067890148",
    mobile="09127778811",
    assurance_level=2,
)
ADMIN = Principal(account_id="a11y-admin", kind="staff", display_name="مدیر سامانه", roles=("admin",))
CLERK = Principal(
    account_id="a11y-clerk", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)
OFFICER = Principal(
    account_id="a11y-officer",
    kind="staff",
    display_name="محمدرضا دهقانی",
    roles=("desk_officer",),
    scopes={"desk_officer": {"province": "tehran"}},
)


@dataclass(frozen=True)
class Page:
    """A page to audit: the route it belongs to, the address opened (with `{ids}` of `World`),
    and who opens it (None: a visitor)."""

    gateway: str
    route: str
    who: Principal | None = None
    url: str = ""

    @property
    def address(self) -> str:
        return self.url or self.route


PAGES: tuple[Page, ...] = (
    # The citizen gateway, signed out.
    Page("citizen", "/"),
    Page("citizen", "/dashboard"),
    Page("citizen", "/login"),
    Page("citizen", "/login/code"),
    Page("citizen", "/login/mobile"),
    Page("citizen", "/register"),
    Page("citizen", "/register/registry"),
    Page("citizen", "/register/mobile"),
    Page("citizen", "/password/forgot"),
    Page("citizen", "/activate", url="/activate?account=nobody&token=stale"),
    Page("citizen", "/services/{service_id:str}", url=f"/services/{WIZARD}"),
    Page("citizen", "/forms/dehyari-tasis"),
    Page("citizen", "/track"),
    Page("citizen", "/survey"),
    # The citizen gateway, signed in.
    Page("citizen", "/", CITIZEN),
    Page("citizen", "/dashboard", CITIZEN),
    Page("citizen", "/account", CITIZEN),
    Page("citizen", "/account/edit", CITIZEN),
    Page("citizen", "/account/password", CITIZEN),
    Page("citizen", "/account/mobile", CITIZEN),
    Page("citizen", "/verification", CITIZEN),
    Page("citizen", "/services/{service_id:str}", CITIZEN, f"/services/{LETTER}"),
    *(
        Page("citizen", "/drafts/{draft_id:str}", CITIZEN, f"/drafts/{{wizard_draft}}?step={step}")
        for step in range(1, 7)
    ),
    Page("citizen", "/drafts/{draft_id:str}", CITIZEN, "/drafts/{letter_draft}"),
    Page("citizen", "/cartable", CITIZEN),
    Page("citizen", "/requests/{request_id:str}", CITIZEN, "/requests/{request_id}"),
    Page("citizen", "/requests/{request_id:str}", CITIZEN, "/requests/{returned_id}"),  # to correct
    Page("citizen", "/requests/{request_id:str}/receipt", CITIZEN, "/requests/{request_id}/receipt"),
    Page(
        "citizen",
        "/requests/{request_id:str}/replies/{reply_id:str}",
        CITIZEN,
        "/requests/{request_id}/replies/{reply_id}",
    ),
    Page("citizen", "/support", CITIZEN),
    Page("citizen", "/support/new", CITIZEN),
    Page("citizen", "/support/{ticket_id:str}", CITIZEN, "/support/{ticket_id}"),
    # A company's pages, where they differ from a person's.
    Page("citizen", "/account", COMPANY),
    Page("citizen", "/account/edit", COMPANY),
    Page("citizen", "/verification", COMPANY),
    Page("citizen", "/drafts/{draft_id:str}", COMPANY, "/drafts/{company_letter_draft}"),
    # The back office, signed out.
    Page("backoffice", "/login"),
    # The back office: the administrator sees every page; the desk officer and the clerk their cases.
    Page("backoffice", "/identity/home", ADMIN),
    Page("backoffice", "/identity/staff", ADMIN),
    Page("backoffice", "/catalogue", ADMIN),
    Page("backoffice", "/catalogue/services/new", ADMIN),
    Page(
        "backoffice", "/catalogue/services/{service_id:str}/edit", ADMIN, f"/catalogue/services/{WIZARD}/edit"
    ),
    Page("backoffice", "/content", ADMIN),
    Page("backoffice", "/content/new", ADMIN),
    Page("backoffice", "/content/{item_id:str}/edit", ADMIN, "/content/{item_id}/edit"),
    Page("backoffice", "/secretariat/cartable", ADMIN),
    Page("backoffice", "/secretariat/overview", ADMIN),
    Page("backoffice", "/secretariat/canned", ADMIN),
    Page("backoffice", "/notify/messages", ADMIN),
    Page("backoffice", "/notify/requests/{request_id}", ADMIN, "/notify/requests/{request_id}"),
    Page("backoffice", "/notify/templates", ADMIN),
    Page("backoffice", "/survey/reports", ADMIN),
    Page("backoffice", "/partners", ADMIN),
    Page("backoffice", "/identity/home", OFFICER),
    Page("backoffice", "/identity/cartable", OFFICER),
    Page("backoffice", "/identity/cases/{case_id}", OFFICER, "/identity/cases/{case_id}"),
    Page("backoffice", "/support", OFFICER),
    Page("backoffice", "/support/{ticket_id:str}", OFFICER, "/support/{ticket_id}"),
    Page("backoffice", "/secretariat/cartable", CLERK),
    Page("backoffice", "/secretariat/cases/{request_id}", CLERK, "/secretariat/cases/{request_id}"),
    Page("backoffice", "/secretariat/cases/{request_id}", CLERK, "/secretariat/cases/{new_id}"),
    Page("backoffice", "/secretariat/cases/{request_id}", CLERK, "/secretariat/cases/{returned_id}"),
    Page(
        "backoffice",
        "/secretariat/cases/{request_id}/replies/{reply_id}/print",
        CLERK,
        "/secretariat/cases/{request_id}/replies/{reply_id}/print",
    ),
)

FLOWS = {
    ("citizen", "/code"): "the code of a pending sign-in: test_the_sign_in_codes_and_their_refusals",
    ("backoffice", "/login/code"): "the code of a pending sign-in: test_the_sign_in_codes_and_their_refusals",
    ("citizen", "/survey/details"): "the survey's second step: test_the_survey_steps",
    ("citizen", "/survey/questions"): "the survey's third step: test_the_survey_steps",
}
"""Pages only a step before them opens (state kept in the session): audited by walking to them."""

EXCLUDED = {
    ("backoffice", "/"): "only redirects to /identity/home (audited)",
    ("backoffice", "/secretariat"): "only redirects to /secretariat/cartable (audited)",
}
"""GET routes that answer HTML but are no page of their own."""


def is_not_a_page(path: str) -> bool:
    """JSON and XML for machines (the API, Open311 GeoReport for partners' systems, the OpenAPI
    document, the health check) and file downloads (attachments, dashboard files, PDFs, CSV
    exports): nothing a screen reader reads as a page."""
    return (
        path.startswith(("/api/", "/open311/"))
        or path in ("/openapi.json", "/healthz")
        or "/files/" in path
        or "/attachments/" in path
        or path.endswith(("/pdf", ".csv"))
    )


def html_routes() -> set[tuple[str, str]]:
    """Every GET route of both apps that may answer a page."""
    from gateway.backoffice.app import app as backoffice
    from gateway.citizen.app import app as citizen

    found = set()
    for name, app in (("citizen", citizen), ("backoffice", backoffice)):
        for route in app.routes:
            if isinstance(route, Route) and "GET" in (route.methods or ()) and not is_not_a_page(route.path):
                found.add((name, route.path))
    return found


def test_every_html_page_of_both_gateways_is_audited() -> None:
    listed = {(p.gateway, p.route) for p in PAGES} | set(FLOWS) | set(EXCLUDED)
    routes = html_routes()
    missing = sorted(routes - listed)
    assert not missing, (
        f"pages no accessibility test opens (add them to PAGES, or justify in EXCLUDED): {missing}"
    )
    stale = sorted(listed - routes)
    assert not stale, f"listed pages that no route answers any more: {stale}"


# The desk and its data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """One desk for the module, with the administrator the install creates (ADMIN_* settings), so
    the back office's own sign-in pages are reached with a password and a code."""
    with running_desk(tmp_path_factory.mktemp("a11y"), "postgresql", **BOOTSTRAP) as running:
        yield running


def _post(client: httpx.Client, path: str, files: Any = None, **fields: str) -> httpx.Response:
    answer = client.post(path, data={"csrf_token": CSRF_FOR_TESTS, **fields}, files=files)
    assert answer.status_code == 303, (
        path,
        answer.status_code,
        re.findall(r'id="error">([^<]+)<', answer.text),
    )
    return answer


def _wizard_to_step_six(citizen: httpx.Client) -> str:
    """A wizard draft with every step filled in; its address."""
    draft = _post(citizen, f"/services/{WIZARD}/start", consent="yes").headers["location"]
    _post(citizen, draft, step="1", action="next")
    _post(citizen, draft, step="2", action="next", text="درخواست صدور مجوز تاسیس دهیاری روستای ده‌نو")
    uploaded = citizen.post(
        draft,
        data={"csrf_token": CSRF_FOR_TESTS, "step": "3", "action": "upload"},
        files={"file": ("صورتجلسه شورا.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code in (200, 303), uploaded.text
    _post(citizen, draft, step="3", action="next")
    person = {"national_code": NATIONAL_CODE, "first_name": "زهرا", "last_name": "احمدی"}
    person |= {"mobile": "09121239876", "landline": "02166001122", "email": "zahra@example.ir"}
    _post(citizen, draft, step="4", action="next", address="تهران، خیابان آزادی، پلاک ۱۲", **person)
    visit = {"visit_officer": "ابوالفضل یاری", "visit_date": "1402/05/01"}
    visit |= {"previous_result": "پاسخ ناقص دریافت کردم", "visit_description": "برای پیگیری مراجعه کردم."}
    _post(citizen, draft, step="5", action="next", **visit)
    return draft


def _returned(citizen: httpx.Client, clerk: httpx.Client) -> str:
    """A request filed through the wizard, numbered and returned to the citizen for correction."""
    receipt = _post(citizen, _wizard_to_step_six(citizen), step="6", action="submit").headers["location"]
    request_id = receipt.split("/")[2]
    eventually(lambda: clerk.post(f"/api/requests/{request_id}/number").status_code in (201, 409))
    reason = {"csrf_token": CSRF_FOR_TESTS, "reason": "صورتجلسه شورا امضا ندارد."}

    def returned() -> bool:
        clerk.post(f"/secretariat/cases/{request_id}/return", data=reason)
        return "/resubmit" in citizen.get(f"/requests/{request_id}").text

    eventually(returned)
    return request_id


@dataclass(frozen=True)
class World:
    """The ids the pages with path parameters are opened with."""

    ids: dict[str, str]
    tracking_code: str


def _register_company(desk: Desk) -> None:
    """A company registered by its attorney, Shahkar-checked, as identity records one."""
    at = "2026-01-01T08:00:00+00:00"
    company = Company(company_name="شرکت آب‌رسان کویر", national_id="10101234567", capacity="attorney")
    events = [
        CitizenRegistered(
            account_id=COMPANY.account_id,
            national_code=str(COMPANY.national_code),
            mobile=str(COMPANY.mobile),
            kind="legal",
            full_name=COMPANY.display_name,
            first_name="رضا",
            last_name="کریمی",
            birth_date="1360/01/01",
            method="mobile",
            company=company,
            registered_at=at,
        ),
        ShahkarChecked(account_id=COMPANY.account_id, mobile=str(COMPANY.mobile), matched=True, at=at),
    ]
    store = open_store(store_url_of(desk))
    try:
        store.append(account_stream(COMPANY.account_id), [new_event(e, actor="test:a11y") for e in events])
    finally:
        store.close()


@pytest.fixture(scope="module")
def world(desk: Desk) -> World:
    _register_company(desk)
    with signed_in_client(desk, COMPANY, timeout=30) as company:
        company_letter = _post(company, f"/services/{LETTER}/start", consent="yes").headers["location"]
    with (
        signed_in_client(desk, CITIZEN, timeout=30) as citizen,
        signed_in_client(desk, CLERK, timeout=30) as clerk,
        signed_in_client(desk, ADMIN, timeout=30) as admin,
    ):
        eventually(lambda: citizen.get(f"/services/{WIZARD}").status_code == 200)
        filed = _wizard_to_step_six(citizen)
        receipt = _post(citizen, filed, step="6", action="submit").headers["location"]
        found = re.fullmatch(r"/requests/([0-9a-f]{32})/receipt", receipt)
        assert found, receipt
        request_id = found.group(1)
        wizard_draft = _wizard_to_step_six(citizen).rsplit("/", 1)[1]
        letter_draft = _post(citizen, f"/services/{LETTER}/start", consent="yes").headers["location"]

        eventually(lambda: clerk.post(f"/api/requests/{request_id}/number").status_code in (201, 409))
        final = {"kind": "final", "body": "مجوز تاسیس دهیاری صادر شد."}

        def replied() -> str | None:
            answer = clerk.post(f"/api/requests/{request_id}/replies", json=final)
            return str(answer.json()["reply_id"]) if answer.status_code == 201 else None

        reply_id = eventually(replied)
        ticket = citizen.post(
            "/api/support/tickets", json={"subject": "پرسش درباره پرونده", "text": "پاسخ کی می‌رسد؟"}
        )
        assert ticket.status_code == 201, ticket.text
        saved = {"kind": "announcement", "title": "تعطیلی روز جمعه", "text": "دفتر روز جمعه بسته است."}
        _post(admin, "/content", **saved)
        item_id = eventually(lambda: re.findall(r'data-item="([^"]+)"', admin.get("/content").text))[0]
        tracking_code = str(clerk.get(f"/api/requests/{request_id}").json()["case"]["tracking_code"])
        returned_id = _returned(citizen, clerk)
        new_id = submit(desk, "tehran").request_id
        eventually(lambda: clerk.get(f"/secretariat/cases/{new_id}").status_code == 200)
    with signed_in_client(desk, VERIFYING, timeout=30) as verifying:
        sent = verifying.post(
            "/verification",
            data={"csrf_token": CSRF_FOR_TESTS, "province": "tehran", "note": "لطفاً بررسی شود"},
            files={
                "national_card": ("card.pdf", PDF, "application/pdf"),
                "birth_certificate": ("birth.pdf", PDF, "application/pdf"),
            },
        )
        assert sent.status_code == 303, sent.text
    with signed_in_client(desk, OFFICER, timeout=30) as officer:
        eventually(lambda: case_id(VERIFYING.account_id) in officer.get("/identity/cartable").text)
        eventually(lambda: ticket.json()["ticket_id"] in officer.get("/support").text)
        answer = {"csrf_token": CSRF_FOR_TESTS, "text": "پاسخ تا پایان هفته می‌رسد."}
        answered = officer.post(f"/support/{ticket.json()['ticket_id']}/answer", data=answer)
        assert answered.status_code == 303, answered.text
    ids = {
        "request_id": request_id,
        "reply_id": reply_id,
        "wizard_draft": wizard_draft,
        "letter_draft": letter_draft.rsplit("/", 1)[1],
        "company_letter_draft": company_letter.rsplit("/", 1)[1],
        "ticket_id": ticket.json()["ticket_id"],
        "item_id": item_id,
        "case_id": case_id(VERIFYING.account_id),
        "returned_id": returned_id,
        "new_id": new_id,
    }
    return World(ids, tracking_code)


# Auditing ----------------------------------------------------------------------------------------


def _open(browser: webdriver.Chrome, desk: Desk, page: Page, world: World) -> str:
    """Open `page` as its reader; the address opened. Fails when the page is an error page or a
    redirect elsewhere (then it is not the page the list names)."""
    address = page.address.format(**world.ids)
    browser.get(desk.url(page.gateway) + address)
    browser.implicitly_wait(0)
    try:
        assert not browser.find_elements(By.ID, "error-page"), (
            address,
            browser.find_element(By.ID, "error-page").text,
        )
    finally:
        browser.implicitly_wait(5)
    assert urlsplit(browser.current_url).path == urlsplit(address).path, (address, browser.current_url)
    return address


def _judge(found: list[Violation]) -> None:
    for violation in found:
        if not violation.blocking:
            print("accessibility (not blocking):", violation)
    blocking = [str(v) for v in found if v.blocking]
    assert not blocking, "serious or critical WCAG 2.1 AA violations:\n" + "\n".join(blocking)


READERS = {
    "visitor": None,
    "citizen": CITIZEN,
    "company": COMPANY,
    "admin": ADMIN,
    "officer": OFFICER,
    "clerk": CLERK,
}


@pytest.mark.parametrize("reader", list(READERS))
def test_every_page_has_no_serious_violation(
    desk: Desk, world: World, browser: webdriver.Chrome, reader: str
) -> None:
    who = READERS[reader]
    pages = [p for p in PAGES if p.who == who]
    assert pages
    if who is not None:
        sign_in_as(browser, desk, who)
    found: list[Violation] = []
    unread: list[str] = []
    for page in pages:
        address = _open(browser, desk, page, world)
        found += audit(browser, f"{page.gateway}{address}")
        unread += [
            f"{page.gateway}{address}: {problem}" for problem in browser.execute_script(READ_AS_PERSIAN)
        ]
    browser.set_window_size(*PHONE)  # the same pages as a phone shows them (tables as cards)
    for page in pages:
        address = _open(browser, desk, page, world)
        found += audit(browser, f"{page.gateway}{address} ({PHONE[0]} px)")
    assert not unread, "\n".join(unread)
    _judge(found)


PHONE = (375, 812)


READ_AS_PERSIAN = """
const found = [], html = document.documentElement;
if (html.lang !== 'fa' || html.dir !== 'rtl') found.push(`<html lang=${html.lang} dir=${html.dir}>`);
for (const th of document.querySelectorAll('th:not([scope])'))
  found.push('a table heading without scope: «' + th.textContent.trim().slice(0, 30) + '»');
return found;
"""
"""What axe leaves to us: a screen reader reads the page as Persian right to left only with
lang=fa dir=rtl on <html>, and a heading cell says whether it heads a column or a row (scope)."""


BROKEN = (
    "data:text/html;charset=utf-8,<html><head><title>x</title></head><body><main>"
    "<input name=q><img src=x.png><p style='color:%23bbb;background:%23fff'>کم‌رنگ</p></main></body></html>"
)


def test_the_audit_finds_a_field_without_label_an_image_without_alt_and_faint_text(
    browser: webdriver.Chrome,
) -> None:
    browser.get(BROKEN)
    found = {v.rule: v.impact for v in audit(browser, "broken")}
    assert found["label"] == "critical" and found["image-alt"] == "critical", found
    assert found["color-contrast"] == "serious" and "html-has-lang" in found, found


# Pages a step before them opens ------------------------------------------------------------------


def _solve_captcha(browser: webdriver.Chrome, desk: Desk) -> None:
    """Answer the security code when the form shows one (from its token, with identity's secret:
    tests/captchas.py)."""
    browser.implicitly_wait(0)
    try:
        tokens = browser.find_elements(By.NAME, "captcha_token")
    finally:
        browser.implicitly_wait(5)
    if tokens:
        answer = answer_of(str(tokens[0].get_attribute("value")), secret_of(desk))
        browser.find_element(By.ID, "captcha").send_keys(answer)


def _announced(browser: webdriver.Chrome) -> str:
    """The text of the page's alert (a refusal must be one)."""
    alerts = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "[role=alert]") if a.text.strip()]
    assert alerts, "the refusal is not announced (no role=alert)"
    return alerts[0]


def test_the_sign_in_codes_and_their_refusals(desk: Desk, world: World, browser: webdriver.Chrome) -> None:
    found: list[Violation] = []
    browser.get(desk.url("citizen") + "/login/mobile")
    browser.find_element(By.NAME, "mobile").send_keys(str(CITIZEN.mobile))
    _solve_captcha(browser, desk)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#mobile-login-form button[type=submit]"))
    assert urlsplit(browser.current_url).path == "/code", browser.find_element(By.TAG_NAME, "main").text
    found += audit(browser, "citizen/code")
    browser.find_element(By.NAME, "code").send_keys("000000")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#code-form button[type=submit]"))
    assert _announced(browser)
    found += audit(browser, "citizen/code (refused)")

    browser.get(desk.url("backoffice") + "/login")
    browser.find_element(By.NAME, "national_code").send_keys(BOOTSTRAP["ADMIN_NATIONAL_CODE"])
    browser.find_element(By.NAME, "password").send_keys(BOOTSTRAP["ADMIN_PASSWORD"])
    _solve_captcha(browser, desk)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#staff-login-form button[type=submit]"))
    assert urlsplit(browser.current_url).path == "/login/code", browser.find_element(By.TAG_NAME, "main").text
    found += audit(browser, "backoffice/login/code")
    browser.find_element(By.NAME, "code").send_keys("000000")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#staff-code-form button[value=verify]"))
    assert _announced(browser)
    found += audit(browser, "backoffice/login/code (refused)")
    _judge(found)


def test_the_survey_steps(desk: Desk, world: World, browser: webdriver.Chrome) -> None:
    with httpx.Client(base_url=desk.url("citizen"), timeout=20) as api:
        body = {"tracking_code": world.tracking_code, "national_code": NATIONAL_CODE}
        eventually(lambda: api.post("/api/survey/open", json=body).status_code == 200)
    found: list[Violation] = []
    browser.get(desk.url("citizen") + "/survey")
    browser.find_element(By.ID, "f-tracking_code").send_keys(world.tracking_code)
    browser.find_element(By.ID, "f-national_code").send_keys(NATIONAL_CODE)
    click_and_wait(browser, browser.find_element(By.ID, "search"))
    browser.find_element(By.ID, "survey-details")
    found += audit(browser, "citizen/survey/details")
    click_and_wait(browser, browser.find_element(By.ID, "save-details"))
    browser.find_element(By.ID, "survey-questions")
    found += audit(browser, "citizen/survey/questions")
    click_and_wait(browser, browser.find_element(By.ID, "save-questions"))  # nothing chosen
    assert "همه پرسش‌ها" in _announced(browser)
    assert not browser.execute_script(UNANNOUNCED)
    found += audit(browser, "citizen/survey/questions (refused)")
    _judge(found)


def test_a_tracked_request_and_the_error_pages(desk: Desk, world: World, browser: webdriver.Chrome) -> None:
    found: list[Violation] = []
    browser.get(desk.url("citizen") + "/track")
    browser.find_element(By.ID, "f-tracking_code").send_keys(world.tracking_code)
    browser.find_element(By.ID, "f-second_factor").send_keys(NATIONAL_CODE)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#track-form button[type=submit]"))
    assert world.tracking_code[-4:] in persian_to_latin(browser.find_element(By.TAG_NAME, "main").text)
    found += audit(browser, "citizen/track (found)")
    for gateway in ("citizen", "backoffice"):
        browser.get(desk.url(gateway) + "/no-such-page")
        assert browser.find_element(By.ID, "error-page").text
        found += audit(browser, f"{gateway}/no-such-page")
    _judge(found)


# Keyboard ----------------------------------------------------------------------------------------

FOCUS_RING = """
const e = document.activeElement, style = getComputedStyle(e);
const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
return {tag: e.tagName, id: e.id, text: (e.textContent || e.value || '').trim().slice(0, 40),
        ring: outline || (style.boxShadow && style.boxShadow !== 'none')};
"""


@pytest.mark.parametrize(
    ("gateway", "url", "reader"),
    [
        ("citizen", "/", "visitor"),
        ("citizen", "/login", "visitor"),
        ("citizen", "/support/new", "citizen"),
        ("backoffice", "/secretariat/cases/{request_id}", "clerk"),
    ],
)
def test_focus_is_visible_on_everything_tab_reaches(
    desk: Desk, world: World, browser: webdriver.Chrome, gateway: str, url: str, reader: str
) -> None:
    who = READERS[reader]
    if who is not None:
        sign_in_as(browser, desk, who)
    browser.get(desk.url(gateway) + url.format(**world.ids))
    reached, unseen = [], []
    for _ in range(25):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        focused = browser.execute_script(FOCUS_RING)
        if focused["tag"] == "BODY":
            break
        reached.append(focused)
        if not focused["ring"]:
            unseen.append(focused)
    assert len(reached) >= 3, reached
    assert not unseen, f"focused without a visible outline: {unseen}"


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    for gateway in ("citizen", "backoffice"):
        browser.get(desk.url(gateway) + "/login")
        ActionChains(browser).send_keys(Keys.TAB).perform()
        link = browser.switch_to.active_element
        assert link.get_attribute("id") == "skip-link", link.get_attribute("outerHTML")
        assert link.is_displayed() and link.size["width"] > 1 and link.text.strip()
        ActionChains(browser).send_keys(Keys.ENTER).perform()
        eventually(lambda: browser.switch_to.active_element.get_attribute("id") == "main", timeout=5)
        assert browser.switch_to.active_element.tag_name == "main"


# Errors announced --------------------------------------------------------------------------------

UNANNOUNCED = """
const found = [];
const described = new Set();
for (const control of document.querySelectorAll('[aria-describedby], [aria-labelledby]')) {
  for (const attribute of ['aria-describedby', 'aria-labelledby'])
    for (const id of (control.getAttribute(attribute) || '').split(/\\s+/)) if (id) described.add(id);
}
for (const control of document.querySelectorAll('[aria-invalid=true]')) {
  const ids = (control.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
  const said = ids.map((id) => document.getElementById(id)).filter((e) => e && e.textContent.trim());
  if (!said.length)
    found.push('field ' + (control.id || control.name) + ' is invalid without a message describing it');
}
for (const message of document.querySelectorAll('.field-error')) {
  let node = message, tied = false;
  while (node && node !== document.body && !tied) {
    tied = !!node.id && described.has(node.id);
    node = node.parentElement;
  }
  if (!tied) found.push('message «' + message.textContent.trim() + '» is tied to no field');
}
const alerts = [...document.querySelectorAll('[role=alert]')].filter((e) => e.textContent.trim());
if (!alerts.length) found.push('no role=alert says what went wrong');
return found;
"""
"""What a screen reader would not hear of a refused form: a field marked invalid that is not
described by its message, a field's message no field refers to, no alert at all."""

SUBMIT_UNCHECKED = """
const form = document.querySelector(arguments[0]);
form.noValidate = true;  // the server's refusal is what is read here, not the browser's bubble
const button = arguments[1] ? form.querySelector(arguments[1])
  : form.querySelector('button[type=submit], button:not([type]), input[type=submit]');
button.click();
"""


@dataclass(frozen=True)
class Refused:
    """A form sent as typed (`values`; the rest left empty) that the server refuses."""

    gateway: str
    url: str
    form: str
    who: Principal | None = None
    values: tuple[tuple[str, str], ...] = ()
    button: str = ""
    message: str = ""
    """The id of a field's own message the refusal must show (e-{field})."""


REFUSED = (
    Refused("citizen", "/login", "#login-form"),
    Refused("citizen", "/register/mobile", "#mobile-register-form", values=(("national_code", "123"),)),
    Refused("citizen", "/track", "#track-form", values=(("tracking_code", "12"),)),
    Refused("citizen", "/survey", "#survey-start", values=(("tracking_code", "12"),)),
    Refused("citizen", "/support/new", "#ticket-form", CITIZEN),
    Refused("citizen", "/account/password", "#password-form", CITIZEN, (("new_password", "کوتاه"),)),
    Refused(
        "citizen",
        "/verification",
        "#verification-form",
        CITIZEN,
        (("province", "تهران"),),
        message="e-national_card",
    ),
    Refused(
        "citizen",
        "/drafts/{letter_draft}",
        "#letter",
        CITIZEN,
        button="button[value=submit]",
        message="e-attachments",
    ),
    Refused("backoffice", "/login", "#staff-login-form", values=(("national_code", "12"),)),
    Refused("backoffice", "/content/new", "#content-form", ADMIN),
    Refused("backoffice", "/catalogue/services/new", "#service-form", ADMIN),
    Refused("backoffice", "/identity/cases/{case_id}", "#decision-form", OFFICER, button="#reject"),
    Refused("backoffice", "/secretariat/cases/{returned_id}", "#form-note", CLERK),
)


def _refuse(browser: webdriver.Chrome, desk: Desk, world: World, case: Refused) -> str:
    url = desk.url(case.gateway) + case.url.format(**world.ids)
    browser.get(url)
    form = browser.find_element(By.CSS_SELECTOR, case.form)
    for name, value in case.values:
        form.find_element(By.NAME, name).send_keys(value)
    browser.execute_script(SUBMIT_UNCHECKED, case.form, case.button)
    WebDriverWait(browser, 20).until(gone(form))  # the server's answer, not the form sent
    assert _announced(browser), case
    if case.message:
        assert browser.find_element(By.ID, case.message).text, case
    return f"{case.gateway}{case.url} (refused)"


@pytest.mark.parametrize("reader", ["visitor", "citizen", "admin", "officer", "clerk"])
def test_every_refused_form_is_announced_and_tied_to_its_fields(
    desk: Desk, world: World, browser: webdriver.Chrome, reader: str
) -> None:
    who = READERS[reader]
    cases = [c for c in REFUSED if c.who == who]
    assert cases
    if who is not None:
        sign_in_as(browser, desk, who)
    found: list[Violation] = []
    unheard: list[str] = []
    for case in cases:
        page = _refuse(browser, desk, world, case)
        unheard += [f"{page}: {problem}" for problem in browser.execute_script(UNANNOUNCED)]
        found += audit(browser, page)
    assert not unheard, "\n".join(unheard)
    _judge(found)
