"""In a real browser: the secretariat's search looks in every folder of the cartable and names the
folder of each hit, whichever folder tab it was typed on; «دارای دیرکرد» lists the overdue requests
of every folder. Scope still holds: a clerk finds only their province's, a representative only
their unit's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from deploy.run import Desk
from gateway.web.auth import Principal
from tests.desk import CSRF_FOR_TESTS, signed_in_client
from tests.e2e.conftest import sign_in_as
from tests.steps import Submitted, eventually, submit

pytestmark = pytest.mark.e2e

CLERK = Principal(
    account_id="search-clerk", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)
OTHER_CLERK = Principal(
    account_id="search-clerk-isfahan",
    kind="staff",
    display_name="علی منشی",
    roles=("clerk",),
    province="isfahan",
)
REPRESENTATIVE = Principal(
    account_id="search-rep", kind="staff", display_name="رضا پیگیر", roles=("representative",), unit="permits"
)
FOLDER_NAMES = {"awaiting": "در انتظار اقدام", "in_progress": "در حال گردش", "done": "تمام شده (آرشیو)"}
LONG_AGO = "2020-01-05T08:00:00+00:00"  # long past any due date


def case_of(staff: httpx.Client, request_id: str) -> dict[str, object] | None:
    answer = staff.get(f"/api/requests/{request_id}")
    return answer.json()["case"] if answer.status_code == 200 else None


def register(staff: httpx.Client, request_id: str) -> None:
    eventually(lambda: case_of(staff, request_id))
    answer = staff.post(f"/api/requests/{request_id}/number")
    assert answer.status_code == 201, answer.text
    eventually(lambda: (case_of(staff, request_id) or {}).get("registration_number"))


def refer(staff: httpx.Client, request_id: str) -> None:
    form = {
        "unit": "permits",
        "unit_name": "صدور مجوز",
        "instruction": "بررسی شود",
        "csrf_token": CSRF_FOR_TESTS,
    }
    answer = staff.post(f"/secretariat/cases/{request_id}/refer", data=form)
    assert answer.status_code == 303 and "done=refer" in answer.headers["location"], answer.text
    eventually(lambda: (case_of(staff, request_id) or {}).get("stage") == "unit")


def finish(staff: httpx.Client, request_id: str) -> None:
    reply = {"kind": "final", "body": "مجوز صادر شد.", "legal_basis": "ماده ۵", "appeal_authority": "هیئت"}
    answer = staff.post(f"/api/requests/{request_id}/replies", json=reply)
    assert answer.status_code == 201, answer.text
    eventually(lambda: (case_of(staff, request_id) or {}).get("stage") == "done")


@dataclass(frozen=True)
class Desktop:
    """The requests of the test, one in each place of the cartable."""

    awaiting: Submitted
    referred: Submitted
    finished: Submitted
    overdue: Submitted  # waiting for the secretariat since 2020
    overdue_referred: Submitted  # with a unit since 2020

    def folders(self) -> dict[Submitted, str]:
        return {
            self.awaiting: "awaiting",
            self.referred: "in_progress",
            self.finished: "done",
            self.overdue: "awaiting",
            self.overdue_referred: "in_progress",
        }


@pytest.fixture(scope="module")
def desktop(desk: Desk) -> Iterator[Desktop]:
    made = Desktop(
        awaiting=submit(desk),
        referred=submit(desk),
        finished=submit(desk),
        overdue=submit(desk, at=LONG_AGO),
        overdue_referred=submit(desk, at=LONG_AGO),
    )
    with signed_in_client(desk, CLERK) as clerk:
        for request in (made.referred, made.finished, made.overdue_referred):
            register(clerk, request.request_id)
        refer(clerk, made.referred.request_id)
        refer(clerk, made.overdue_referred.request_id)
        finish(clerk, made.finished.request_id)
        eventually(
            lambda: case_of(clerk, made.awaiting.request_id) and case_of(clerk, made.overdue.request_id)
        )
    yield made


def listed(browser: webdriver.Chrome) -> dict[str, str]:
    """The cartable's rows on the page: request id → the folder its «پوشه» cell names."""
    rows = browser.find_elements(By.CSS_SELECTOR, "#cartable tr[data-request-id]")
    return {
        str(row.get_attribute("data-request-id")): row.find_element(By.CSS_SELECTOR, "td.folder").text.strip()
        for row in rows
    }


def search_from_tab(browser: webdriver.Chrome, desk: Desk, folder: str, tracking_code: str) -> None:
    """Open a folder tab, type the tracking code in the search form and send it."""
    browser.get(desk.url("backoffice") + "/secretariat/cartable")
    browser.find_element(By.ID, f"folder-{folder}").click()
    box = browser.find_element(By.ID, "f-tracking")
    box.clear()
    box.send_keys(tracking_code)
    browser.find_element(By.ID, "search").click()
    eventually(lambda: "tracking_code=" in browser.current_url)


def test_a_tracking_code_typed_on_any_folder_tab_finds_the_request_and_names_its_folder(
    desk: Desk, desktop: Desktop, browser: webdriver.Chrome
) -> None:
    sign_in_as(browser, desk, CLERK)
    for request, where in desktop.folders().items():
        for tab in FOLDER_NAMES:
            search_from_tab(browser, desk, tab, request.tracking_code)
            assert listed(browser) == {request.request_id: FOLDER_NAMES[where]}, (tab, where)
            assert browser.find_element(By.ID, "f-tracking").get_attribute("value") == request.tracking_code
            # each tab says how many hits it holds: one, in the request's own folder
            for other in FOLDER_NAMES:
                tab_text = browser.find_element(By.ID, f"folder-{other}").text
                hits = re.search(r"\(([۰-۹]+)\)", tab_text)
                assert hits is not None and hits.group(1) == ("۱" if other == where else "۰"), tab_text

    # a tab clicked during a search shows that folder's hits: the finished request is in the archive
    search_from_tab(browser, desk, "awaiting", desktop.finished.tracking_code)
    browser.find_element(By.ID, "folder-awaiting").click()
    eventually(lambda: "in_folder=1" in browser.current_url)
    assert browser.find_elements(By.CSS_SELECTOR, "#cartable tr[data-request-id]") == []
    browser.find_element(By.ID, "folder-done").click()
    eventually(lambda: "folder=done" in browser.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "#cartable tr[data-request-id]")
    assert [row.get_attribute("data-request-id") for row in rows] == [desktop.finished.request_id]


def test_the_overdue_tab_lists_the_overdue_requests_of_every_folder(
    desk: Desk, desktop: Desktop, browser: webdriver.Chrome
) -> None:
    sign_in_as(browser, desk, CLERK)
    browser.get(desk.url("backoffice") + "/secretariat/cartable")
    browser.find_element(By.ID, "folder-overdue").click()
    eventually(lambda: "overdue=1" in browser.current_url)
    assert "active" in str(browser.find_element(By.ID, "folder-overdue").get_attribute("class"))
    assert listed(browser) == {
        desktop.overdue.request_id: FOLDER_NAMES["awaiting"],
        desktop.overdue_referred.request_id: FOLDER_NAMES["in_progress"],
    }
    for row in browser.find_elements(By.CSS_SELECTOR, "#cartable tr[data-request-id]"):
        assert "دیرکرد" in row.text


def test_search_keeps_to_the_scope_of_the_one_searching(desk: Desk, desktop: Desktop) -> None:
    def ids(staff: httpx.Client, tracking_code: str, folder: str = "awaiting") -> set[str]:
        page = staff.get("/secretariat/cartable", params={"folder": folder, "tracking_code": tracking_code})
        assert page.status_code == 200
        return set(re.findall(r'data-request-id="([0-9a-f]+)"', page.text))

    with (
        signed_in_client(desk, OTHER_CLERK) as other,
        signed_in_client(desk, REPRESENTATIVE) as representative,
    ):
        for request in desktop.folders():
            assert ids(other, request.tracking_code) == set()  # another province's secretariat
        assert ids(representative, desktop.referred.tracking_code, "done") == {desktop.referred.request_id}
        assert ids(representative, desktop.finished.tracking_code) == set()  # never referred to the unit
        assert ids(representative, desktop.overdue.tracking_code) == set()
