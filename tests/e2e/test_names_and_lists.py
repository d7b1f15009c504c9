"""Names where people read, lists where they choose (issue 22, items 5 and 6), through the back
office: the administrator revokes a role on the staff page in Chromium and the holder's session
loses it at once; a grant or a new account naming a unit the catalogue does not define is refused
with a Persian message and records nothing; the survey report and its CSV name provinces and
units in Persian (and the CSV's headers); the workflow names the clerk; the SMS list and the
templates page name templates and organisations in Persian."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from contracts.events import new_event
from contracts.identity import VerificationSubmitted
from contracts.survey import QUESTIONS, Respondent, SurveyAnswered
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from services.identity.accounts import case_id, case_stream, load_account, staff_id
from tests.desk import CSRF_FOR_TESTS, running_desk, session_cookie, signed_in_client, store_url_of
from tests.e2e.conftest import click_and_wait, sign_in_as
from tests.integration.test_identity_flow import identity_env
from tests.steps import eventually, submit
from tests.units import TEST_UNITS

pytestmark = pytest.mark.e2e

TOKEN = {"csrf_token": CSRF_FOR_TESTS}
ADMIN = Principal(account_id="admin-names", kind="staff", display_name="مدیر سامانه", roles=("admin",))
CLERK = Principal(
    account_id=staff_id("0061234567"),  # an id as identity makes them, not a readable one
    kind="staff",
    display_name="سارا دبیری",
    national_code="0061234567",
    roles=("clerk",),
    province="yazd",
)
UNKNOWN_UNIT = "واحد سازمانی انتخاب‌شده در فهرست واحدها نیست"
STAFF_PASSWORD = "Staff-Desk-1403!"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("names")
    with running_desk(folder, "postgresql", **identity_env(folder)) as running:
        yield running


@pytest.fixture
def admin(desk: Desk) -> Iterator[httpx.Client]:
    with signed_in_client(desk, ADMIN, timeout=30) as signed_in:
        yield signed_in


def visible_text(html: str) -> str:
    """What a reader sees of a page: its text without tags and attribute values."""
    return re.sub(r"<[^>]*>", " ", html)


def _append(desk: Desk, stream: str, *events: object) -> None:
    store = open_store(store_url_of(desk))
    try:
        store.append(stream, [new_event(e) for e in events])  # type: ignore[arg-type]
    finally:
        store.close()


def _account(desk: Desk, account_id: str) -> object:
    store = open_store(store_url_of(desk))
    try:
        return load_account(store, account_id)
    finally:
        store.close()


def test_a_role_is_revoked_on_the_staff_page_and_its_session_loses_it_at_once(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    sign_in_as(browser, desk, ADMIN)

    def units_listed() -> bool:  # the gateway keeps the catalogue's list a few seconds
        browser.get(desk.url("backoffice") + "/identity/staff")
        return len(Select(browser.find_element(By.ID, "unit-new")).options) > len(TEST_UNITS)

    eventually(units_listed)
    form = browser.find_element(By.ID, "new-staff")
    for name, value in {
        "full_name": "زهرا یزدانی",
        "national_code": "0071234561",
        "mobile": "09171112233",
        "password": STAFF_PASSWORD,
    }.items():
        form.find_element(By.NAME, name).send_keys(value)
    Select(form.find_element(By.NAME, "role")).select_by_visible_text("کارشناس دبیرخانه")
    Select(form.find_element(By.NAME, "province")).select_by_visible_text("یزد")
    click_and_wait(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    account = staff_id("0071234561")
    row = browser.find_element(By.CSS_SELECTOR, f"tr[data-account='{account}']")
    assert "کارشناس دبیرخانه (یزد)" in row.text, row.text
    # Units are chosen from the catalogue's list, by name.
    units = Select(row.find_element(By.NAME, "unit"))
    assert {o.text for o in units.options} >= set(TEST_UNITS.values())

    clerk = Principal(
        account_id=account,
        kind="staff",
        display_name="زهرا یزدانی",
        roles=("clerk",),
        province="yazd",
        national_code="0071234561",
        mobile="09171112233",
    )
    with signed_in_client(desk, clerk, timeout=30) as session:
        assert session.get("/secretariat/cartable").status_code == 200

        revoke = row.find_element(By.CSS_SELECTOR, "[data-role='clerk'] details.revoke")
        revoke.find_element(By.TAG_NAME, "summary").click()
        assert "لغو شود؟" in revoke.text  # the page asks before it takes the role away
        click_and_wait(browser, revoke.find_element(By.CSS_SELECTOR, "button[value=revoke]"))
        assert "لغو" in browser.find_element(By.ID, "notice").text
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-account='{account}']")
        assert "کارشناس دبیرخانه" not in row.find_element(By.CSS_SELECTOR, "td.roles").text

        gone = session.get("/secretariat/cartable", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    held = _account(desk, account)
    assert held is not None and "clerk" not in held.roles  # type: ignore[attr-defined]


def test_a_unit_or_province_not_in_the_lists_is_refused_and_nothing_is_recorded(
    desk: Desk, admin: httpx.Client
) -> None:
    made = admin.post(
        "/identity/staff",
        data={
            **TOKEN,
            "full_name": "رضا پیگیر",
            "national_code": "0081234562",
            "mobile": "09171112244",
            "password": STAFF_PASSWORD,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, visible_text(made.text)[-400:]
    account = staff_id("0081234562")
    roles = f"/identity/staff/{account}/roles"

    refused = admin.post(
        roles, data={**TOKEN, "role": "representative", "unit": "no-such-unit", "action": "grant"}
    )
    assert refused.status_code == 422 and UNKNOWN_UNIT in refused.text
    refused = admin.post(roles, data={**TOKEN, "role": "clerk", "province": "atlantis", "action": "grant"})
    assert refused.status_code == 422 and "استان" in refused.text
    api = admin.post(
        f"/api/identity/staff/{account}/roles", json={"role": "representative", "unit": "no-such-unit"}
    )
    assert (api.status_code, api.json()["error"]["code"]) == (422, "unknown_unit")
    held = _account(desk, account)
    assert held is not None and dict(held.roles) == {}  # type: ignore[attr-defined]

    # A new account named with a unit nobody defined is not made at all.
    refused = admin.post(
        "/identity/staff",
        data={
            **TOKEN,
            "full_name": "علی نامعلوم",
            "national_code": "0091234565",
            "mobile": "09171112255",
            "password": STAFF_PASSWORD,
            "role": "representative",
            "unit": "no-such-unit",
        },
    )
    assert refused.status_code == 422 and UNKNOWN_UNIT in refused.text
    assert _account(desk, staff_id("0091234565")) is None

    granted = admin.post(
        roles, data={**TOKEN, "role": "representative", "unit": "permits", "action": "grant"}
    )
    assert granted.status_code == 303
    row = admin.get("/identity/staff").text.split(f'data-account="{account}"')[1].split("</tr>")[0]
    assert "صدور مجوز" in visible_text(row) and "permits" not in visible_text(row)


def _answered(desk: Desk, province: str, answer: int) -> None:
    request_id = uuid.uuid4().hex
    event = SurveyAnswered(
        request_id=request_id,
        respondent=Respondent(
            first_name="مریم", last_name="کاظمی", national_code="0084575948", mobile="09123456789"
        ),
        answers={q.id: answer for q in QUESTIONS},
        unit="permits",
        service_id="17011230001",
        service_name="صدور پروانه",
        province=province,
        answered_at=datetime.now(UTC).isoformat(),
    )
    _append(desk, f"survey-{request_id}", event)


def test_the_survey_report_and_its_csv_name_provinces_and_units(desk: Desk, admin: httpx.Client) -> None:
    for n in range(10):
        _answered(desk, "yazd", 4 + n % 2)

    def counted() -> str | None:
        page = admin.get("/survey/reports", params={"province": "yazd"})
        count = re.search(r'id="response-count">[^<]*<strong>([^<]*)</strong>', page.text)
        return page.text if count and count.group(1) == "۱۰" else None

    page = visible_text(eventually(counted))
    assert "یزد" in page and "صدور مجوز" in page
    assert "yazd" not in page and "permits" not in page
    html = admin.get("/survey/reports").text
    filters = html.split('id="report-filters"')[1].split("</form>")[0]
    assert re.search(r'<option value="yazd"[^>]*>یزد</option>', filters)
    assert re.search(r'<option value="permits"[^>]*>صدور مجوز</option>', filters)

    exported = admin.get("/survey/reports.csv", params={"province": "yazd"})
    lines = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert lines[0][:5] == ["استان", "واحد سازمانی", "خدمت", "ماه", "تعداد پاسخ"]
    assert not any(re.search(r"[A-Za-z]", header) for header in lines[0])
    assert lines[1][:3] == ["یزد", "صدور مجوز", "صدور پروانه"] and lines[1][4] == "10"


def test_the_workflow_names_the_clerk_and_the_referral_picks_from_lists(
    desk: Desk, browser: webdriver.Chrome
) -> None:
    request_id = submit(desk, "yazd", unit="permits").request_id
    representative = Principal(
        account_id=staff_id("0051234564"),
        kind="staff",
        display_name="رضا پیگیر مجوز",
        roles=("representative",),
        unit="permits",
    )
    session_cookie(desk, representative)  # the account, with its role
    with signed_in_client(desk, CLERK, timeout=30) as clerk:
        eventually(lambda: clerk.get(f"/api/requests/{request_id}").status_code == 200)
        assert clerk.post(f"/api/requests/{request_id}/number").status_code == 201
    sign_in_as(browser, desk, CLERK)

    def page_with_representative() -> bool:
        browser.get(desk.url("backoffice") + f"/secretariat/cases/{request_id}")
        return bool(
            browser.find_elements(By.CSS_SELECTOR, f"#refer-rep option[value='{representative.account_id}']")
        )

    eventually(page_with_representative)
    unit = Select(browser.find_element(By.ID, "refer-unit"))
    assert unit.first_selected_option.text == "صدور مجوز"
    group = browser.find_element(By.CSS_SELECTOR, "#refer-rep optgroup[label='صدور مجوز']")
    assert "رضا پیگیر مجوز" in group.text
    Select(browser.find_element(By.ID, "refer-rep")).select_by_value(representative.account_id)
    browser.find_element(By.ID, "refer-instruction").send_keys("لطفاً بررسی شود.")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "#form-refer button"))

    history = browser.find_element(By.ID, "history")
    actors = [
        row.find_elements(By.TAG_NAME, "td")[2].text
        for row in history.find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert actors[1:] == ["سارا دبیری", "سارا دبیری"], actors
    assert "staff:" not in browser.find_element(By.ID, "workflow").find_element(By.XPATH, "..").text
    assert (
        "staff:" not in history.text and CLERK.account_id not in browser.page_source.split('id="workflow"')[1]
    )


def test_the_messages_list_and_templates_name_templates_and_units_in_persian(
    desk: Desk, admin: httpx.Client
) -> None:
    request_id = submit(desk, "yazd", unit="permits").request_id

    def listed() -> str | None:
        page = admin.get("/notify/messages", params={"request_id": request_id})
        return page.text if "m-" in page.text.split("<tbody>")[1] else None

    table = visible_text(eventually(listed).split('class="messages"')[1])
    assert "ثبت درخواست" in table and "request_received" not in table
    templates = admin.get("/notify/templates", params={"organisation": "permits"}).text
    shown = re.sub(r"\{[a-z_]+\}", "", visible_text(templates.split("<main")[1]))  # a text's {values}
    assert not re.search(r"[a-z]+_[a-z_]+", shown) and "(کد رهگیری)" in shown
    organisation = templates.split('id="f-organisation"')[1].split("</select>")[0]
    assert re.search(r'<option value="permits" selected>صدور مجوز</option>', organisation)


def test_the_verification_case_names_the_applicant_and_the_desk_officer(desk: Desk) -> None:
    citizen = Principal(
        account_id="citizen-names",
        kind="citizen",
        display_name="مریم کاظمی",
        national_code="0084575948",
        mobile="09123456789",
        assurance_level=1,
    )
    session_cookie(desk, citizen)  # the citizen's account
    case = case_id(citizen.account_id)
    submitted = VerificationSubmitted(
        case_id=case,
        account_id=citizen.account_id,
        round=1,
        national_code="0084575948",
        full_name="مریم کاظمی",
        submitted_at=datetime.now(UTC).isoformat(),
    )
    _append(desk, case_stream(case), submitted)
    officer = Principal(
        account_id=staff_id("0041234561"),
        kind="staff",
        display_name="نرگس میزبان",
        roles=("desk_officer",),
    )
    with signed_in_client(desk, officer, timeout=30) as desk_officer:
        reason = {**TOKEN, "decision": "reject", "reason": "تصویر کارت ملی خوانا نیست"}
        decided = desk_officer.post(f"/identity/cases/{case}", data=reason, follow_redirects=False)
        assert decided.status_code == 303, visible_text(decided.text)[-300:]
        steps = visible_text(desk_officer.get(f"/identity/cases/{case}").text)
    assert "(مریم کاظمی)" in steps and "(نرگس میزبان)" in steps
    assert "staff:" not in steps and "citizen:" not in steps
