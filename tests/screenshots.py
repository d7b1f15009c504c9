"""Screenshots of the main pages at desktop (1280 px) and phone (375 px) width, for the README.

    python -m tests.screenshots [--out docs/screenshots]

Starts a scratch desk (the test suite's `running_desk`: every service and gateway, RabbitMQ in a
scratch vhost, SQLite under a temporary folder), signs a citizen and a clerk in with session
cookies, files one request through the wizard in headless Chromium, registers it in the back
office, and photographs each page named in `PAGES` at both widths. The files are reduced to a
small palette so the whole set stays a few hundred kilobytes.

Needs what the browser tests need: RabbitMQ on 127.0.0.1, Debian's chromium and chromedriver.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from gateway.web.auth import Principal

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = {"desktop": (1280, 900), "phone": (375, 760)}
COLOURS = 48
"""Palette size of a saved screenshot: text pages need few colours, and the set stays small."""
SERVICE = "10012134001"
"""Seed 003's dehyari licence (services/requests/sample_catalogue): the wizard with a visit."""

CITIZEN = Principal(
    account_id="screens-citizen",
    kind="citizen",
    display_name="زهرا احمدی",
    national_code="0084575948",
    mobile="09121234567",
    assurance_level=2,
)
CLERK = Principal(account_id="screens-clerk", kind="staff", display_name="سارا دبیری", roles=("admin",))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def chromium(width: int, height: int) -> webdriver.Chrome:
    """Headless Debian Chromium in Persian at `width` × `height` CSS pixels."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--lang=fa-IR",
    ):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(5)
    # the window size includes no browser frame in headless mode, but make the viewport exact
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
    )
    return driver


def save(browser: webdriver.Chrome, path: Path) -> int:
    """The viewport as a small-palette PNG at `path`; its size in bytes."""
    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    small = shot.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)
    return path.stat().st_size


def sign_in(browser: webdriver.Chrome, url: str, cookie: dict[str, str]) -> None:
    browser.get(url + "/static/style.css")  # a page of the right origin first
    browser.add_cookie({**cookie, "path": "/"})


def until(check: Callable[[], object], seconds: float = 60) -> None:
    """Poll `check` (the desk's read models follow its events a moment later)."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except WebDriverException:  # the page was being replaced: look again
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the desk did not answer in time")
        time.sleep(0.5)


def file_a_request(browser: webdriver.Chrome, citizen: str, folder: Path, shot: Callable[[str], None]) -> str:
    """Walk the wizard once as the citizen, photographing the home page, the service's card, a
    step of the wizard and the receipt; the tracking code."""

    def click(element_id: str) -> None:
        browser.find_element(By.ID, element_id).click()

    def type_in(name: str, text: str) -> None:
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(text)

    def catalogue_ready() -> bool:
        browser.get(citizen + "/")
        return bool(browser.find_elements(By.CSS_SELECTOR, f"a[data-service='{SERVICE}']"))

    until(catalogue_ready)
    shot("home")
    browser.get(citizen + f"/services/{SERVICE}")
    if not browser.find_elements(By.ID, "consent"):  # not its address: follow the home page's link
        browser.get(citizen + "/")
        browser.find_element(By.CSS_SELECTOR, f"a[data-service='{SERVICE}']").click()
    shot("service")
    click("consent")
    click("start")
    click("next")
    type_in("text", "درخواست صدور مجوز تاسیس دهیاری برای روستای ده‌نو")
    click("next")
    plan = folder / "نقشه روستا.pdf"
    plan.write_bytes(PDF)
    browser.find_element(By.ID, "f-file").send_keys(str(plan))
    click("upload")
    until(lambda: "نقشه روستا.pdf" in browser.find_element(By.ID, "attachments").text)
    click("next")
    type_in("first_name", "زهرا")
    type_in("last_name", "احمدی")
    type_in("email", "zahra@example.ir")
    click("next")
    Select(browser.find_element(By.NAME, "visit_officer")).select_by_value("ابوالفضل یاری")
    type_in("visit_date", "1402/05/01")
    shot("wizard")
    click("next")
    click("submit")
    shot("receipt")
    return browser.find_element(By.ID, "tracking-code").get_attribute("data-code") or ""


def shoot(out: Path) -> list[tuple[str, int]]:
    """Start a desk, fill a little data, photograph the main pages at each width into `out`."""
    from tests.desk import running_desk, session_cookie  # the test suite's scratch desk

    out.mkdir(parents=True, exist_ok=True)
    saved: list[tuple[str, int]] = []
    with tempfile.TemporaryDirectory() as scratch, running_desk(Path(scratch), "sqlite") as desk:
        citizen, backoffice = desk.url("citizen"), desk.url("backoffice")
        person, clerk = session_cookie(desk, CITIZEN), session_cookie(desk, CLERK)
        for width, size in WIDTHS.items():
            browser = chromium(*size)

            def shot(name: str, browser: webdriver.Chrome = browser, width: str = width) -> None:
                path = out / f"{name}-{width}.png"
                saved.append((path.name, save(browser, path)))

            try:
                sign_in(browser, citizen, person)
                code = file_a_request(browser, citizen, Path(scratch), shot)
                browser.get(citizen + "/cartable?folder=progress")
                shot("cartable")
                browser.get(citizen + "/track")
                browser.find_element(By.NAME, "tracking_code").send_keys(code)
                browser.find_element(By.NAME, "second_factor").send_keys(CITIZEN.mobile or "")
                browser.find_element(By.ID, "search").click()
                shot("track")
                sign_in(browser, backoffice, clerk)

                def listed(browser: webdriver.Chrome = browser) -> bool:
                    browser.get(backoffice + "/secretariat/cartable?folder=all")
                    return bool(browser.find_elements(By.CSS_SELECTOR, "#cartable tr[data-request-id]"))

                until(listed)
                shot("backoffice-cartable")
                row = browser.find_element(By.CSS_SELECTOR, "#cartable tr[data-request-id]")
                browser.get(backoffice + f"/secretariat/cases/{row.get_attribute('data-request-id')}")
                shot("case")
            finally:
                browser.quit()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder of the PNG files"
    )
    args = parser.parse_args(argv)
    saved = shoot(args.out)
    for name, size in saved:
        print(f"{name}\t{size // 1024} KB")
    print(f"{len(saved)} files, {sum(size for _, size in saved) // 1024} KB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
