"""Stored XSS: script written into every free-text field that staff or citizens later read, then
every page that shows them opened in a real headless Chromium: no script runs, the HTML comes
out escaped. The CSV exports neutralise formulas."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver

from deploy.run import Desk
from gateway.backoffice.csv_cells import spreadsheet_cell
from gateway.web.auth import Principal
from services.identity.accounts import staff_id
from tests.attacks.conftest import (
    TOKEN,
    append_request,
    citizen_principal,
    client,
    file_letter,
    staff_principal,
)
from tests.e2e.conftest import browser, sign_in_as
from tests.integration.test_identity_flow import identity_env
from tests.integration.test_walking_skeleton import eventually
from tests.units import define_units_on

pytestmark = [pytest.mark.integration, pytest.mark.attacks, pytest.mark.e2e]
__all__ = ["browser"]  # the fixture, imported for this module's tests


def payload(tag: str) -> str:
    """Text that runs script (setting window.__xss) wherever it is not escaped."""
    return (
        f"{tag}<script>window.__xss='{tag}'</script>"
        f"\"'><img src=x onerror=\"window.__xss='{tag}'\">"
        f"<svg onload=\"window.__xss='{tag}'\"></svg>"
    )


RAW = re.compile(r"<script>window\.__xss|<img src=x onerror|<svg onload")
ADMIN = Principal(  # the desk's first administrator (identity checks who creates staff)
    account_id=staff_id(identity_env(Path("."))["ADMIN_NATIONAL_CODE"]),
    kind="staff",
    display_name="مدیر سامانه",
    roles=("admin",),
)
TEHRAN = staff_principal("clerk", province="tehran")
PERMITS = staff_principal("representative", unit="permits")
SERVICE_ID = "10012134077"


@pytest.fixture(scope="module")
def pages(desk: Desk) -> Iterator[dict[str, Any]]:
    """Every free-text field filled with script; the pages of each gateway that show them."""
    citizen = citizen_principal("مریم کاظمی")
    with (
        client(desk, citizen) as mine,
        client(desk, ADMIN) as admin,
        client(desk, TEHRAN) as clerk,
        client(desk, PERMITS) as representative,
    ):
        unit = admin.post("/catalogue/units", data={**TOKEN, "unit_id": "xss", "name": payload("unit")})
        assert unit.status_code == 303, unit.text[-300:]
        service = {
            **TOKEN,
            "service_id": SERVICE_ID,
            "unit_id": "xss",
            "service_type": payload("type"),
            "name": payload("service"),
            "description": payload("description"),
            "rules": payload("rules"),
            "expected_duration_days": "5",
            "form": "letter",
            "province": "tehran",
            "max_size_kb": "300",
            "max_count": "1",
            "type_pdf": "on",
        }
        assert admin.post("/catalogue/services", data=service).status_code == 303
        template = {**TOKEN, "template": "request_received", "text": payload("sms")}
        assert admin.post("/notify/templates", data=template).status_code in (303, 422)
        staff = {
            **TOKEN,
            "national_code": "0045678911",
            "full_name": payload("staff"),
            "mobile": "09351112244",
        }
        made = admin.post("/identity/staff", data={**staff, "password": "Staff-Secret-2025"})
        assert made.status_code == 303, re.findall(r'id="error">([^<]+)<', made.text)

        request_id, _ = file_letter(mine, subject=payload("subject"), full_name=payload("letter-name")[:190])
        other = append_request(
            desk, full_name=payload("applicant"), subject=payload("subject2"), text=payload("text")
        )
        for rid in (request_id, other):
            eventually(lambda rid=rid: clerk.get(f"/api/requests/{rid}").status_code == 200)
        assert clerk.post(f"/api/requests/{request_id}/number").status_code == 201
        eventually(lambda: clerk.get(f"/api/requests/{request_id}").json()["case"]["registration_number"])

        def act(who: httpx.Client, action: str, **fields: str) -> None:
            form = {**TOKEN, "command_id": uuid.uuid4().hex, **fields}
            done = who.post(f"/secretariat/cases/{request_id}/{action}", data=form)
            assert done.status_code == 303, (action, done.text[-400:])

        act(clerk, "note", text=payload("note"))
        act(
            clerk, "refer", unit="permits", unit_name=payload("unit-name"), instruction=payload("instruction")
        )
        eventually(lambda: representative.get(f"/api/requests/{request_id}").status_code == 200)
        act(representative, "reply", kind="interim", body=payload("reply"), legal_basis=payload("basis"))
        act(representative, "return", reason=payload("return"))
        canned = {
            **TOKEN,
            "service_id": "17011230002",
            "title": payload("canned"),
            "body": payload("canned-body"),
        }
        assert clerk.post("/secretariat/canned", data=canned).status_code == 303
        replies = eventually(lambda: clerk.get(f"/api/requests/{request_id}").json()["replies"])
        reply_id = replies[0]["reply_id"]
        eventually(lambda: "return" in mine.get(f"/requests/{request_id}").text)
        yield {
            "citizen": [
                "/",
                f"/services/{SERVICE_ID}",
                "/cartable?folder=awaiting",
                f"/requests/{request_id}",
                f"/requests/{request_id}/receipt",
                f"/requests/{request_id}/replies/{reply_id}",
            ],
            "backoffice": [
                "/secretariat/cartable?folder=all",
                f"/secretariat/cases/{request_id}",
                f"/secretariat/cases/{other}",
                f"/secretariat/cases/{request_id}/replies/{reply_id}/print",
                "/secretariat/canned",
                "/secretariat/overview",
                "/catalogue",
                f"/catalogue/services/{SERVICE_ID}/edit",
                "/notify/templates",
                "/identity/staff",
            ],
            "owner": citizen,
        }


def test_no_script_runs_on_any_page_that_shows_stored_text(
    desk: Desk, pages: dict[str, Any], browser: webdriver.Chrome
) -> None:
    visits = [("citizen", pages["owner"], p) for p in pages["citizen"]]
    ran = []
    for gateway, principal, path in visits + [("backoffice", ADMIN, p) for p in pages["backoffice"]]:
        sign_in_as(browser, desk, principal)
        browser.get(desk.url(gateway) + path)
        ran.append((path, browser.execute_script("return window.__xss === undefined ? null : window.__xss")))
    assert [r for r in ran if r[1] is not None] == []


def test_the_owner_and_staff_pages_escape_the_stored_html(desk: Desk, pages: dict[str, Any]) -> None:
    with client(desk, ADMIN) as admin, client(desk, TEHRAN) as clerk, client(desk, pages["owner"]) as owner:
        for who, paths in (
            (admin, pages["backoffice"]),
            (clerk, pages["backoffice"]),
            (owner, pages["citizen"]),
        ):
            for path in paths:
                answer = who.get(path)
                assert answer.status_code in (200, 403) and not RAW.search(answer.text), path
        case = admin.get(pages["backoffice"][1]).text
        for tag in ("subject", "note", "instruction", "reply", "return", "letter-name"):
            assert f"{tag}&lt;script&gt;window.__xss" in case, tag
        mine = owner.get(pages["citizen"][3]).text
        for tag in ("subject", "reply", "return"):
            assert f"{tag}&lt;script&gt;window.__xss" in mine, tag
        for path, tag in (
            ("/catalogue", "service"),
            ("/secretariat/canned", "canned"),
            ("/identity/staff", "staff"),
        ):
            assert f"{tag}&lt;script&gt;window.__xss" in admin.get(path).text, path


def test_csv_exports_neutralise_formulas(desk: Desk) -> None:
    names = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]
    with client(desk, TEHRAN) as clerk:
        for unit_name in [*names, "\r=1"]:
            request_id = append_request(desk)
            eventually(lambda rid=request_id: clerk.get(f"/api/requests/{rid}").status_code == 200)
            assert clerk.post(f"/api/requests/{request_id}/number").status_code == 201
            eventually(
                lambda rid=request_id: clerk.get(f"/api/requests/{rid}").json()["case"]["registration_number"]
            )
            unit = f"u{uuid.uuid4().hex[:6]}"  # one unit per name: the overview has a row per unit
            define_units_on(desk, {unit: "واحد آزمایشی"})
            form = {
                **TOKEN,
                "unit": unit,
                "unit_name": unit_name,
                "instruction": "بررسی",
            }
            referred = clerk.post(
                f"/secretariat/cases/{request_id}/refer", data={**form, "command_id": uuid.uuid4().hex}
            )
            if unit_name.startswith("\r"):  # a lone carriage return is a control character: refused
                assert referred.status_code == 422, referred.status_code
                continue
            assert referred.status_code == 303, re.findall(r"id=\"error\">([^<]+)<", referred.text)
        exported = eventually(
            lambda: (text := clerk.get("/secretariat/overview.csv").text).count("SUM(A1)") and text
        )
    names_found = [row[1] for row in csv.reader(io.StringIO(exported.lstrip("\ufeff"))) if len(row) > 1]
    assert "'@SUM(A1)" in names_found and '\'=HYPERLINK("http://x")' in names_found
    assert all(not name.startswith(("=", "+", "-", "@", "\t", "\r")) for name in names_found)


def test_spreadsheet_cell_neutralises_every_formula_start() -> None:
    for text in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert spreadsheet_cell(text).startswith("'")
    assert spreadsheet_cell("دبیرخانه") == "دبیرخانه"
    assert spreadsheet_cell(-3) == "-3"  # numbers are numbers
