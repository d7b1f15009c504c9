"""What the walks of the five guides' citizens share (tests/e2e/test_guides_walk.py): a citizen who
moves only by clicking what the pages offer, a screenshot and a reading of every page they meet
(Latin letters and Latin digits are what a Persian citizen should not meet), and the staff who
answer them from the back office.

A walk collects the problems it reads on its pages and fails at its end with all of them, so one
run names every page that still speaks English, not only the first."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from contracts.persian import latin_digits
from deploy.run import Desk
from gateway.web.auth import Principal
from services.notify.providers import OutboxProvider
from tests.captchas import answer_of, secret_of
from tests.desk import CSRF_FOR_TESTS, signed_in_client
from tests.integration.test_identity_flow import code_for
from tests.steps import BIDI_MARKS, eventually

FILE_TYPES = frozenset({"pdf", "png", "jpg", "jpeg", "tif", "tiff", "zip", "doc", "docx"})
"""File types, named as the guides name them («فرمت‌های مجاز: png, .doc, .pdf»): a citizen picks a
file by its extension, which is Latin on their own computer too."""

ALWAYS_ALLOWED = ("PDF",)
"""Words the guides themselves print in Latin letters."""

FOREIGN = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._\-/:]*")
ZWNJ = "\u200c"


DRAWN_IN_ENGLISH = """
const found = [];
for (const input of document.querySelectorAll('input[type=file]')) {
  const style = getComputedStyle(input), box = input.getBoundingClientRect();
  if (style.display !== 'none' && style.visibility !== 'hidden' && parseFloat(style.opacity) > 0
      && box.width > 1 && box.height > 1) found.push('«Choose File» of ' + (input.name || input.id));
}
for (const list of document.querySelectorAll('main ol')) {
  const style = getComputedStyle(list);
  if (list.offsetParent !== null && style.listStyleType === 'decimal') found.push('ol numbered 1. 2. 3.');
}
return found;
"""
"""What the browser draws in English outside the page's text: the native file input's «Choose
File» button (innerText does not hold it) and an ordered list numbered in Latin digits."""

FILLED_IN_LATIN = """
const found = [];
const boxes = 'input:not([type]), input[type=text], input[type=tel], textarea';
for (const box of document.querySelectorAll(boxes)) {
  if (box.offsetParent !== null && /[0-9]/.test(box.value)) found.push(`${box.name} = ${box.value}`);
}
return found;
"""
"""Fields holding Latin digits (innerText does not hold a field's value): the desk fills in and
gives back numbers, codes and dates in Persian digits (issue 23), and the walks type theirs so."""


def foreign_words(text: str, allowed: Iterable[str] = ()) -> list[str]:
    """The runs of Latin letters or Latin digits in `text`, once the `allowed` strings (what the
    citizen typed in Latin, e.g. their e-mail address) and file types are taken out. Tracking
    codes, registration numbers and dates must be in Persian digits, so any Latin digit counts."""
    for word in sorted({*allowed, *ALWAYS_ALLOWED}, key=len, reverse=True):
        text = text.replace(word, " ")
    return [w for w in FOREIGN.findall(text) if w.lower().strip("._-/:") not in FILE_TYPES]


def _same_label(a: str, b: str) -> bool:
    """«ثبت‌نام» and «ثبت نام» are one label to a reader."""
    return " ".join(a.replace(ZWNJ, " ").split()) == " ".join(b.replace(ZWNJ, " ").split())


@dataclass
class Walk:
    """One citizen in one browser: every page they reach is photographed and read."""

    browser: webdriver.Chrome
    desk: Desk
    name: str
    folder: Path
    allowed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Printed by the test when not empty (fields in Latin digits are `problems` now)."""
    pages: int = 0
    codes_seen: set[str] = field(default_factory=set)

    # What the citizen sees ------------------------------------------------------------------

    def look(self, what: str) -> str:
        """Photograph the page (the test's folder, and E2E_SCREENSHOTS when set) and read its text;
        remember every Latin word or digit found on it. The page's text."""
        self.pages += 1
        shot = f"{self.name}-{self.pages:02d}-{what}.png"
        self.browser.save_screenshot(str(self.folder / shot))
        if os.environ.get("E2E_SCREENSHOTS"):
            keep = Path(os.environ["E2E_SCREENSHOTS"])
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.folder / shot, keep / shot)
        text = self._text()
        found = foreign_words(text, self.allowed)
        drawn = self.browser.execute_script(DRAWN_IN_ENGLISH)
        path = self.browser.current_url.split("?")[0].split("/", 3)[-1]
        if found or drawn:
            self.problems.append(f"{shot} (/{path}): {found + list(drawn)}")
        filled = self.browser.execute_script(FILLED_IN_LATIN)
        if filled:
            self.problems.append(f"{shot} (/{path}): fields in Latin digits {list(filled)}")
        return text

    def sms_to(self, mobile: str) -> list[str]:
        """The text of every SMS the desk sent to `mobile`, oldest first."""
        outbox = OutboxProvider(self.desk.env["SMS_OUTBOX_URL"])
        try:
            return [str(m["text"]) for m in outbox.messages() if m["to"] == mobile]
        finally:
            outbox.db.dispose()

    def finish(self, mobile: str) -> None:
        """Read every SMS the citizen got (a registration number or tracking code in Latin
        letters or digits is as foreign there as on a page), then fail with every page and
        message that showed Latin letters or digits."""
        # One-time codes stay ASCII: the phone's one-time-code autofill reads them so.
        allowed = [*self.allowed, *self.codes_seen]
        for text in self.sms_to(mobile):
            found = foreign_words(BIDI_MARKS.sub("", text), allowed)
            if found:
                self.problems.append(f"SMS «{text}»: {found}")
        assert not self.problems, "Latin text on the citizen's pages and SMS:\n" + "\n".join(self.problems)

    # What the citizen does ------------------------------------------------------------------

    def open_home(self) -> None:
        """The only address typed: the desk's home page."""
        self.browser.get(self.desk.url("citizen") + "/")
        eventually(lambda: self.link("فهرست خدمات") or self._reload())
        self.look("home")

    def _reload(self) -> bool:
        self.browser.refresh()
        return False

    def link(self, label: str) -> WebElement | None:
        """The link labelled `label`, the header's first."""
        self.browser.implicitly_wait(0)
        try:
            links = self.browser.find_elements(By.CSS_SELECTOR, "header a") + self.browser.find_elements(
                By.CSS_SELECTOR, "main a"
            )
            for link in links:
                try:
                    if link.is_displayed() and _same_label(link.text, label):
                        return link
                except WebDriverException:
                    continue
            return None
        finally:
            self.browser.implicitly_wait(5)

    def follow(self, label: str, what: str) -> str:
        """Click the link labelled `label` and read the page it leads to."""
        link = self.link(label)
        assert link is not None, f"no link «{label}» on {self.browser.current_url}"
        self.click(link)
        return self.look(what)

    def press(self, css: str, what: str) -> str:
        """Click the button `css` (a form's submit) and read the answer."""
        self.click(self.browser.find_element(By.CSS_SELECTOR, css))
        return self.look(what)

    def click(self, element: WebElement) -> None:
        """Click a link or button that leaves the page, and wait until the old page is gone."""

        def gone(_: webdriver.Chrome) -> bool:
            try:
                element.is_enabled()
            except WebDriverException:
                return True
            return False

        element.click()
        WebDriverWait(self.browser, 30).until(gone)

    def type(self, values: dict[str, str]) -> None:
        """Type into the fields named so (what a field held before is cleared)."""
        for name, value in values.items():
            box = self.browser.find_element(By.NAME, name)
            box.clear()
            box.send_keys(value)

    def value_of(self, name: str) -> str:
        """What the field named so holds ("" when the page has no such field)."""
        self.browser.implicitly_wait(0)
        try:
            boxes = self.browser.find_elements(By.NAME, name)
        finally:
            self.browser.implicitly_wait(5)
        return str(boxes[0].get_attribute("value") or "") if boxes else ""

    def choose(self, name: str, label: str) -> None:
        Select(self.browser.find_element(By.NAME, name)).select_by_visible_text(label)

    def choose_value(self, name: str, value: str) -> None:
        Select(self.browser.find_element(By.NAME, name)).select_by_value(value)

    def tick(self, css: str) -> None:
        box = self.browser.find_element(By.CSS_SELECTOR, css)
        if not box.is_selected():
            box.click()

    def attach(self, css: str, path: Path) -> None:
        self.browser.find_element(By.CSS_SELECTOR, css).send_keys(str(path))

    def captcha(self) -> None:
        """Answer the security code when the form shows one (read as a person reads the image,
        here from its token with identity's secret: tests/captchas.py)."""
        self.browser.implicitly_wait(0)
        try:
            tokens = self.browser.find_elements(By.NAME, "captcha_token")
            if not tokens:
                return
            hint = self.browser.find_element(By.ID, "captcha-hint").text
        finally:
            self.browser.implicitly_wait(5)
        said = re.search(r"عدد ([۰-۹0-9]+) رقمی", hint)
        digits = int(latin_digits(said.group(1))) if said else None
        token = str(tokens[0].get_attribute("value"))
        self.type({"captcha": answer_of(token, secret_of(self.desk), digits)})

    def code_sent_to(self, mobile: str) -> str:
        """The newest one-time code the SMS outbox holds for `mobile` (the citizen's phone)."""
        return code_for(self.desk, mobile, self.codes_seen)

    def sign_out(self) -> None:
        self.click(self.browser.find_element(By.CSS_SELECTOR, "header form[action='/logout'] button"))
        self.look("signed-out")

    def current_request_id(self) -> str:
        """The request whose page (or receipt) is open."""
        found = re.search(r"/requests/([0-9a-f]{32})", self.browser.current_url)
        assert found, self.browser.current_url
        return found.group(1)

    def open_own_request(self, request_id: str, what: str) -> str:
        """From the header's «کارتابل من», through its folders, to the request's page (the
        cartable is a read model: the folders are clicked again until the request shows)."""
        self.follow("کارتابل من", f"{what}-cartable")

        def listed() -> WebElement | None:
            for folder in ("awaiting", "progress", "done"):
                self.click(self.browser.find_element(By.ID, f"folder-{folder}"))
                self.browser.implicitly_wait(0)
                try:
                    rows = self.browser.find_elements(By.CSS_SELECTOR, f'tr[data-request="{request_id}"] a')
                finally:
                    self.browser.implicitly_wait(5)
                if rows:
                    return rows[0]
            return None

        row = eventually(listed)
        self.look(f"{what}-folder")
        self.click(row)
        return self.look(what)

    def until_shown(self, ready: str, what: str) -> str:
        """Reload the page (as a citizen presses F5) until `ready` is on it: the desk's read
        models follow its events a moment later. The page's text, read once it is there."""
        eventually(lambda: ready in self._text() or self._reload())
        return self.look(what)

    def _text(self) -> str:
        return str(self.browser.execute_script("return document.body.innerText"))


# The back office ---------------------------------------------------------------------------

CLERK = Principal(
    account_id="clerk-guides", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)
DESK_OFFICER = Principal(
    account_id="desk-officer-guides",
    kind="staff",
    display_name="محمدرضا دهقانی",
    roles=("desk_officer",),
    scopes={"desk_officer": {"province": "tehran", "unit": None}},
)


class Staff:
    """The secretariat's clerk and the desk officer, acting through the back office's own forms."""

    def __init__(self, desk: Desk, principal: Principal) -> None:
        self.client = signed_in_client(desk, principal, timeout=30)

    def close(self) -> None:
        self.client.close()

    def act(self, request_id: str, action: str, **fields: str) -> None:
        """Submit the case page's form of `action`, again until it is taken: the secretariat
        learns of the citizen's steps (the request, its resubmission) a moment after them."""
        refusals: list[object] = []

        def taken() -> bool:
            answer = self.client.post(
                f"/secretariat/cases/{request_id}/{action}",
                data={"csrf_token": CSRF_FOR_TESTS, **fields},
                follow_redirects=False,
            )
            refusals.append((answer.status_code, _error(answer)))
            return answer.status_code == 303

        try:
            eventually(taken, timeout=45)
        except AssertionError:
            raise AssertionError(f"the clerk's «{action}» was refused: {refusals[-1]}") from None

    def answer_ticket(self, ticket_id: str, text: str) -> None:
        """Support answers the citizen's ticket from the «پشتیبانی» folder (the citizen is told by SMS)."""
        eventually(lambda: self.client.get(f"/support/{ticket_id}").status_code == 200)
        answer = self.client.post(
            f"/support/{ticket_id}/answer",
            data={"csrf_token": CSRF_FOR_TESTS, "text": text},
            follow_redirects=False,
        )
        assert answer.status_code == 303, (answer.status_code, _error(answer))

    def approve_identity(self, national_code: str) -> None:
        """The desk officer opens the citizen's verification case from the cartable and approves it."""

        def case_id() -> str | None:
            page = self.client.get("/identity/cartable").text
            found = re.search(r'data-case="([^"]+)" data-status="submitted"', page)
            return found.group(1) if found else None

        case = eventually(case_id)
        shown = self.client.get(f"/identity/cases/{case}").text
        assert national_code in latin_digits(shown), "another citizen's case"
        answer = self.client.post(
            f"/identity/cases/{case}",
            data={"csrf_token": CSRF_FOR_TESTS, "decision": "approve"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, (answer.status_code, _error(answer))


def _error(answer: httpx.Response) -> Any:
    return re.findall(r'id="error">([^<]+)<', answer.text)
