"""In a real browser, the charts of the overview and of the survey report show every label whole:
each text lies inside its chart (a province like «یزد» is not cut to «د»), and no bar, swatch or
legend box covers a text."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from contracts.events import Event, new_event
from contracts.survey import QUESTIONS, Respondent, SurveyAnswered
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from tests.desk import CSRF_FOR_TESTS, signed_in_client, store_url_of
from tests.e2e.conftest import sign_in_as
from tests.steps import eventually, submit
from tests.units import define_units_on

pytestmark = pytest.mark.e2e

ADMIN = Principal(account_id="admin-charts", kind="staff", display_name="مدیر سامانه", roles=("admin",))
LONG_UNIT = ("planning", "معاونت برنامه‌ریزی و توسعه منابع انسانی و پشتیبانی استان")
PROVINCES = ("yazd", "yazd", "yazd", "chaharmahal", "kohgiluyeh", "sistan", "tehran")
TOLERANCE = 0.5  # px: anti-aliasing and rounding of boxes

BOXES = """
const svg = arguments[0];
const box = (el) => { const r = el.getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
return {
  svg: box(svg),
  texts: [...svg.querySelectorAll('text')].map((t) => ({
    text: t.textContent, length: t.getComputedTextLength(), scale: svg.getScreenCTM().a, ...box(t)})),
  rects: [...svg.querySelectorAll('rect')].map(box).filter(
    (r) => r.right - r.left > 0.5 && r.bottom - r.top > 0.5),
};
"""


def _append(desk: Desk, stream: str, event: Event) -> None:
    store = open_store(store_url_of(desk))
    try:
        store.append(stream, [new_event(event, actor="test:charts")])
    finally:
        store.close()


def _answer(desk: Desk, answered_at: datetime, value: int) -> None:
    request_id = uuid.uuid4().hex
    event = SurveyAnswered(
        request_id=request_id,
        respondent=Respondent(
            first_name="مریم", last_name="کاظمی", national_code="0084575948", mobile="09123456789"
        ),
        answers={q.id: value for q in QUESTIONS},
        unit=LONG_UNIT[0],
        service_id="permit",
        service_name="صدور مجوز",
        province="yazd",
        answered_at=answered_at.isoformat(),
    )
    _append(desk, f"survey-{request_id}", event)


@pytest.fixture(scope="module")
def admin(desk: Desk) -> Iterator[httpx.Client]:
    with signed_in_client(desk, ADMIN) as client:
        yield client


def _refer(admin: httpx.Client, request_id: str) -> None:
    """Number the request, then refer it to the unit with the long name."""
    eventually(lambda: admin.post(f"/api/requests/{request_id}/number").status_code in (201, 409))
    form = {
        "csrf_token": CSRF_FOR_TESTS,
        "unit": LONG_UNIT[0],
        "unit_name": LONG_UNIT[1],
        "instruction": "لطفاً بررسی شود.",
    }

    def referred() -> bool:
        admin.post(f"/secretariat/cases/{request_id}/refer", data=form)
        case = admin.get(f"/api/requests/{request_id}").json()["case"]
        return bool(case.get("unit") == LONG_UNIT[0])

    eventually(referred)


def _boxes(browser: webdriver.Chrome, svg: WebElement) -> dict[str, Any]:
    result: dict[str, Any] = browser.execute_script(BOXES, svg)
    return result


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        min(a["right"], b["right"]) - max(a["left"], b["left"]) > TOLERANCE
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > TOLERANCE
    )


def _assert_laid_out(browser: webdriver.Chrome, svg: WebElement) -> list[dict[str, Any]]:
    """Every text inside the chart, no rectangle over a text; the chart's texts."""
    found = _boxes(browser, svg)
    outer = found["svg"]
    for text in found["texts"]:
        assert text["left"] >= outer["left"] - TOLERANCE, f"«{text['text']}» sticks out on the left"
        assert text["right"] <= outer["right"] + TOLERANCE, f"«{text['text']}» sticks out on the right"
        assert text["top"] >= outer["top"] - TOLERANCE, f"«{text['text']}» sticks out at the top"
        assert text["bottom"] <= outer["bottom"] + TOLERANCE, f"«{text['text']}» sticks out at the bottom"
        for rect in found["rects"]:
            assert not _overlap(rect, text), f"a box covers «{text['text']}»"
    return list(found["texts"])


def test_overview_and_survey_charts_show_every_label_whole(
    desk: Desk, browser: webdriver.Chrome, admin: httpx.Client
) -> None:
    define_units_on(desk, dict([LONG_UNIT]))
    requests = [submit(desk, province).request_id for province in PROVINCES]
    _refer(admin, requests[0])
    now = datetime.now(UTC)
    for index in range(20):  # two months of ten responses each: two points on the trend
        _answer(desk, now - timedelta(days=0 if index < 10 else 40), 3 + index % 3)

    sign_in_as(browser, desk, ADMIN)

    def overview_complete() -> bool:
        browser.get(desk.url("backoffice") + "/secretariat/overview")
        names = [
            td.text for td in browser.find_elements(By.CSS_SELECTOR, "#overview-secretariat td:first-child")
        ]
        units = browser.find_element(By.ID, "overview-unit").text
        return "یزد" in names and "سیستان و بلوچستان" in names and LONG_UNIT[1] in units

    eventually(overview_complete)
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.overview-chart")
    assert len(charts) == 2
    texts = [t for chart in charts for t in _assert_laid_out(browser, chart)]
    labels = {t["text"]: t for t in texts}
    for whole in ("یزد", "چهارمحال و بختیاری", "کهگیلویه و بویراحمد", LONG_UNIT[1], "باز", "دیرکرد"):
        assert whole in labels, f"«{whole}» is not a label of the charts"
    yazd = labels["یزد"]
    shown = yazd["right"] - yazd["left"]
    assert shown == pytest.approx(yazd["length"] * yazd["scale"], rel=0.05)  # whole, not «د»

    def survey_counted() -> bool:
        browser.get(desk.url("backoffice") + "/survey/reports")
        return "۲۰" in browser.find_element(By.ID, "response-count").text

    eventually(survey_counted)
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) >= 3  # the axes, the trend and each question's distribution
    texts = [t for chart in charts for t in _assert_laid_out(browser, chart)]
    assert "پاسخگویی و مسئولیت‌پذیری" in {t["text"] for t in texts}
