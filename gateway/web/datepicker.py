"""The Jalali date picker's files, served by both gateways from its npm package.

`@majidh1/jalalidatepicker` (installed into `var/npm` by `deploy/bootstrap.sh`, see
`gateway.web.assets`) draws a Jalali month under any `<input data-jdp>` when it gets the focus.
It only fills the text field: every date field stays a text input with its example
(«مثال: ۱۴۰۵/۰۹/۱۶») that the server checks, so a form works without JavaScript, and without
the package (then nothing is mounted, the pages' script finds no picker and one log line says so).

The files are served with the ordinary revalidating headers rather than `assets`' year-long cache:
their names do not change with the package's version.
"""

from __future__ import annotations

import logging

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from gateway.web.assets import package_dir

log = logging.getLogger(__name__)

PACKAGE = "@majidh1/jalalidatepicker"
DATEPICKER_URL = "/static/jdp"
"""Where `_dates.html` finds `jalalidatepicker.min.js` and `.min.css` (inside `/static`, so mounted first)."""


def datepicker_routes() -> list[BaseRoute]:
    """The package's `dist` folder under `DATEPICKER_URL`, or nothing when it is not installed."""
    folder = package_dir(PACKAGE) / "dist"
    if not folder.is_dir():
        log.warning(
            "the Jalali date picker (npm package %s) not found in %s: run deploy/bootstrap.sh",
            PACKAGE,
            folder,
        )
        return []
    return [Mount(DATEPICKER_URL, app=StaticFiles(directory=folder), name="datepicker")]
