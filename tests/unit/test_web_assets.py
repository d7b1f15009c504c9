"""The npm packages the gateways serve (gateway/web/assets.py): Vazirmatn's woff2 files under
/static/fonts with a year's cache, nothing (and one log line) when the package is missing, and the
same font first for the PDFs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from gateway.web import fonts
from gateway.web.assets import FONT_URL, LONG_CACHE, font_routes

WOFF2 = b"wOF2" + b"\0" * 60


def _packages(root: Path) -> Path:
    webfonts = root / "vazirmatn" / "fonts" / "webfonts"
    webfonts.mkdir(parents=True)
    (webfonts / "Vazirmatn-Regular.woff2").write_bytes(WOFF2)
    return root


def test_the_font_files_are_served_with_a_year_s_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_PACKAGES_DIR", str(_packages(tmp_path)))
    app = Starlette(routes=font_routes())

    async def get(path: str) -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://desk"
        ) as client:
            return await client.get(path)

    answer = asyncio.run(get(f"{FONT_URL}/Vazirmatn-Regular.woff2"))
    assert (answer.status_code, answer.content) == (200, WOFF2)
    assert answer.headers["cache-control"] == LONG_CACHE
    assert asyncio.run(get(f"{FONT_URL}/Vazirmatn-Thin.woff2")).status_code == 404


def test_without_the_package_nothing_is_mounted_and_the_log_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WEB_PACKAGES_DIR", str(tmp_path / "nowhere"))
    with caplog.at_level(logging.WARNING, logger="gateway.web.assets"):
        assert font_routes() == []
    assert "Vazirmatn" in caplog.text and "deploy/bootstrap.sh" in caplog.text


def test_the_pdfs_take_the_packaged_vazirmatn_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ttf = tmp_path / "vazirmatn" / "fonts" / "ttf" / "Vazirmatn-Regular.ttf"
    ttf.parent.mkdir(parents=True)
    ttf.write_bytes(b"\0\1\0\0")
    monkeypatch.setenv("WEB_PACKAGES_DIR", str(tmp_path))
    assert fonts.persian_font() == str(ttf)
    assert fonts.persian_font(str(ttf.parent / "missing.ttf")) == str(ttf)
    assert fonts.FONT_CANDIDATES[0].endswith("var/npm/node_modules/vazirmatn/fonts/ttf/Vazirmatn-Regular.ttf")
    assert fonts.FONT_CANDIDATES[-1].endswith("DejaVuSans.ttf")
