"""Steps that the tests of a running desk share: waiting for its read models to follow, recording a
citizen's submission as the requests service does, and reading a printed PDF as a person copies it."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from contracts.events import new_event
from contracts.requests import Applicant, RequestSubmitted
from deploy.run import Desk
from infra.eventstore import open_store
from tests.desk import store_url_of

T = TypeVar("T")

BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def eventually(check: Callable[[], T | None], timeout: float = 60) -> T:
    """Poll `check` until it answers something truthy, and answer that; fail after `timeout`
    seconds. The desk's read models follow its events a moment later, longer on a loaded machine."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s")
        time.sleep(0.2)


@dataclass(frozen=True)
class Submitted:
    """A request recorded by `submit`."""

    request_id: str
    tracking_code: str


def submit(
    desk: Desk,
    province: str = "tehran",
    *,
    unit: str | None = None,
    at: str = "",
    account_id: str | None = None,
) -> Submitted:
    """A citizen's submission to `province`'s secretariat (for `unit` when given, at `at` or
    now), appended to the desk's store as the requests service records it; `account_id` is the
    citizen's account when they filed it signed in (they then read it on their pages)."""
    request_id = uuid.uuid4().hex
    tracking_code = str(uuid.uuid4().int)[:12]
    event = RequestSubmitted(
        request_id=request_id,
        tracking_code=tracking_code,
        applicant=Applicant(
            national_code="0084575948", full_name="مریم کاظمی", mobile="09123456789", account_id=account_id
        ),
        province=province,
        unit=unit,
        subject=f"درخواست مجوز {request_id[:6]}",
        text="با سلام، درخواست صدور مجوز دارم.",
        submitted_at=at or datetime.now(UTC).isoformat(),
    )
    store = open_store(store_url_of(desk))
    try:
        store.append(f"request-{request_id}", [new_event(event, actor="citizen:0084575948")])
    finally:
        store.close()
    return Submitted(request_id, tracking_code)


def pdf_text(pdf: bytes, folder: Path) -> str:
    """What a reader copies out of the PDF (poppler's pdftotext, as Evince and Okular do), with
    the bidi marks it wraps runs in taken out and no spaces: only the words and digits count."""
    if shutil.which("pdftotext") is None:
        pytest.fail("reading the PDF needs pdftotext: install Debian's poppler-utils (tests/run.sh does)")
    path = folder / "reply.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return re.sub(r"\s+", "", BIDI_MARKS.sub("", text))
