"""axe-core in the browser tests: what WCAG 2.1 AA's automatic checks find on the page Chromium shows.

axe-core comes from the npm registry with the install step (deploy/bootstrap.sh, from
deploy/npm/package.json into var/npm), not from the repository; `AXE_SCRIPT` names the file when
it lives elsewhere."""

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
ADVICE = ("best-practice",)
"""axe's advice beyond WCAG: run, and printed when not held."""
HELD_ADVICE = frozenset(
    {
        "heading-order",
        "page-has-heading-one",
        "landmark-one-main",
        "region",
        "landmark-unique",
        "empty-table-header",
    }
)
"""The advice every page keeps: headings in order under one h1, everything inside a landmark, one
main, table headers that say what their column holds (a screen reader moves by these)."""
BLOCKING = frozenset({"serious", "critical"})
"""Impacts that fail a page; minor and moderate ones are printed for the next pass."""

RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then((r) => done(r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, tags: v.tags,
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
    wcag: bool = True
    """False for axe's best-practice advice (not a WCAG success criterion)."""

    @property
    def blocking(self) -> bool:
        return (self.wcag and self.impact in BLOCKING) or self.rule in HELD_ADVICE

    def __str__(self) -> str:
        where = "; ".join(self.nodes)
        kind = "" if self.wcag else " best practice"
        return f"{self.page}: [{self.impact}{kind}] {self.rule} — {self.help} — {where}"


@cache
def axe_source() -> str:
    """The text of axe.min.js (fails the test, saying how to install it, when it is missing)."""
    named = os.environ.get("AXE_SCRIPT")
    for place in (Path(named),) if named else PLACES:
        if place.is_file():
            return place.read_text(encoding="utf-8")
    pytest.fail(
        "the accessibility tests need axe-core: deploy/bootstrap.sh installs it with the other web "
        "packages of deploy/npm/package.json into var/npm"
    )


def audit(browser: webdriver.Chrome, page: str) -> list[Violation]:
    """Run axe-core's WCAG 2.0/2.1 A and AA rules (and its best-practice advice) on the page the
    browser shows now."""
    browser.set_script_timeout(60)
    if not browser.execute_script("return typeof window.axe !== 'undefined'"):
        browser.execute_script(axe_source())
    found: Any = browser.execute_async_script(RUN, [*TAGS, *ADVICE])
    if isinstance(found, dict):
        raise AssertionError(f"axe-core failed on {page}: {found['error']}")
    return [
        Violation(
            page=page,
            rule=v["id"],
            impact=v["impact"] or "",
            help=v["help"],
            nodes=tuple(f"{n['target']} ({n['summary'].splitlines()[-1].strip()})" for n in v["nodes"]),
            wcag=any(tag in TAGS for tag in v["tags"]),
        )
        for v in found
    ]
