"""Date fields: a reply's date typed by a clerk is a real Jalali day (checked by the rule, in
any digits, kept as yyyy/mm/dd), and the date picker's files are mounted only when installed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from gateway.web import datepicker
from tests.case_history import NUMBERED, SUBMITTED
from tests.unit.test_secretariat_decide import answer, case


@pytest.mark.parametrize("typed", ["۱۴۰۵/۹/۱۶", "1405-09-16", "۱۴۰۵/۰۹/۱۶"])
def test_a_reply_date_in_any_digits_is_kept_as_yyyy_mm_dd(typed: str) -> None:
    assert case(SUBMITTED, NUMBERED).when(answer(reply_date=typed)).event().reply_date == "1405/09/16"


@pytest.mark.parametrize("typed", ["1405/13/01", "1405/12/31", "۱۴۰۵/۰۷/۳۱", "دیروز", "1405/09"])
def test_a_reply_date_that_is_no_jalali_day_is_refused(typed: str) -> None:
    case(SUBMITTED, NUMBERED).when(answer(reply_date=typed)).refused("invalid_jalali_date")


def test_the_picker_is_served_from_its_package_and_missing_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datepicker, "package_dir", lambda name: tmp_path / name)
    assert datepicker.datepicker_routes() == []
    dist = tmp_path / datepicker.PACKAGE / "dist"
    dist.mkdir(parents=True)
    (dist / "jalalidatepicker.min.js").write_text("window.jalaliDatepicker = {};")
    app = Starlette(routes=datepicker.datepicker_routes())

    async def get(path: str) -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://desk"
        ) as client:
            return await client.get(path)

    served = asyncio.run(get("/static/jdp/jalalidatepicker.min.js"))
    assert served.status_code == 200 and "jalaliDatepicker" in served.text
