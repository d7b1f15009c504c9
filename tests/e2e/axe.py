"""axe-core in the browser tests: what WCAG 2.1 AA's automatic checks find on the page Chromium shows.

axe-core comes from the npm registry with the install step (deploy/bootstrap.sh), not from the
repository; `AXE_SCRIPT` names the file when it lives elsewhere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver

ROOT = Path(__file__).resolve().parents[2]
PLACES = (ROOT / "var/npm/node_modules/axe-core/axe.min.js", ROOT / "node_modules/axe-core/axe.min.js")
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING = frozenset({"serious", "critical"})
"""Impacts that fail a page; minor and moderate ones are printed for the next pass."""

RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then((r) => done(r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({target: n.target.join(' '), summary: n.failureSummary}))}))))
  .catch((e) => done({error: String(e)}));
"""


@dataclass(frozen=True)
class Violation:
    """One rule broken on one page, with (up to five of) the elements that break it."""

    page: str
    rule: str
    impact: str
    help: str
    nodes: tuple[str, ...]

    @property
    def blocking(self) -> bool:
        return self.impact in BLOCKING

    def __str__(self) -> str:
        where = "; ".join(self.nodes)
        return f"{self.page}: [{self.impact}] {self.rule} — {self.help} — {where}"


@cache
def axe_source() -> str:
    """The text of axe.min.js (fails the test, saying how to install it, when it is missing)."""
    named = os.environ.get("AXE_SCRIPT")
    for place in (Path(named),) if named else PLACES:
        if place.is_file():
            return place.read_text(encoding="utf-8")
    pytest.fail(
        "the accessibility tests need axe-core: `npm install --no-save --prefix var/npm axe-core@4` "
        "(deploy/bootstrap.sh's install step does it)"
    )


def audit(browser: webdriver.Chrome, page: str) -> list[Violation]:
    """Run axe-core's WCAG 2.0/2.1 A and AA rules on the page the browser shows now."""
    browser.set_script_timeout(60)
    if not browser.execute_script("return typeof window.axe !== 'undefined'"):
        browser.execute_script(axe_source())
    found: Any = browser.execute_async_script(RUN, list(TAGS))
    if isinstance(found, dict):
        raise AssertionError(f"axe-core failed on {page}: {found['error']}")
    return [
        Violation(
            page=page,
            rule=v["id"],
            impact=v["impact"] or "",
            help=v["help"],
            nodes=tuple(f"{n['target']} ({n['summary'].splitlines()[-1].strip()})" for n in v["nodes"]),
        )
        for v in found
    ]
