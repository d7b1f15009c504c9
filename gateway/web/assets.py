"""Files the gateways serve from npm packages: the Vazirmatn font (and, for the pages that use them,
the Jalali date picker; axe-core is read by the browser tests).

The packages are not committed: `deploy/bootstrap.sh` installs `deploy/npm/package.json` into
`var/npm/node_modules` (`WEB_PACKAGES_DIR`), so `package_dir("vazirmatn")`,
`package_dir("axe-core")` and `package_dir("@majidh1/jalalidatepicker")` all live there. A machine
without them still serves every page: the stylesheet's `@font-face` then finds no file, the
browser falls back to DejaVu Sans, and the gateway says so once in its log.

The fonts are served under `/static/fonts/` with a year's cache: a file's name changes with its
package's version only through a new release, and a page loads it once per citizen, not per page.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from infra.settings import GatewaySettings

log = logging.getLogger(__name__)

FONT_URL = "/static/fonts"
"""Where the pages find the woff2 files (style.css's `@font-face` names them here)."""

LONG_CACHE = "public, max-age=31536000, immutable"


def package_dir(name: str) -> Path:
    """The folder of the installed npm package `name` (it may not exist)."""
    return GatewaySettings.load().WEB_PACKAGES_DIR / name


def webfonts_dir() -> Path:
    """The Vazirmatn package's woff2 files."""
    return package_dir("vazirmatn") / "fonts" / "webfonts"


class CachedFiles(StaticFiles):
    """Static files that a browser keeps for a year."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = LONG_CACHE
        return response


def package_mount(url: str, folder: Path, what: str) -> list[BaseRoute]:
    """A mount serving `folder` at `url` with long cache headers, or nothing (and one log line) when
    the package is not installed, so the app starts and its pages fall back."""
    if not folder.is_dir():
        log.warning("%s not found in %s: run deploy/bootstrap.sh (pages fall back without it)", what, folder)
        return []
    return [Mount(url, app=CachedFiles(directory=folder), name=url.strip("/").replace("/", "-"))]


def font_routes() -> list[BaseRoute]:
    """The Vazirmatn woff2 files under `FONT_URL` (before the `/static` mount, which they sit in)."""
    return package_mount(FONT_URL, webfonts_dir(), "the Vazirmatn font (npm package vazirmatn)")
