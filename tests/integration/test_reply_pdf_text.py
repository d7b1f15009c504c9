"""The printed reply reads as the clerk typed it: the digits typed in Latin print in Persian
(«ماده 17» → «ماده ۱۷»), text copied out of the PDF gives back the same words (no «استدالل»
for «استدلال»), and each attachment shows its real size («… بایت», never «۰ کیلوبایت»)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from deploy.run import Desk
from gateway.web.auth import Principal
from gateway.web.formats import file_size
from tests.desk import CSRF_FOR_TESTS, running_desk, signed_in_client
from tests.steps import eventually, pdf_text, submit

pytestmark = pytest.mark.integration

CLERK = Principal(
    account_id="clerk-print", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)
LEGAL = "ماده 17 آیین‌نامه صدور مجوز، استدلال و اعلام کارشناس"
BODY = "مجوز شما صادر شد. پرسش‌ها به info2@example.com"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("print"), "postgresql") as running:
        yield running


def _small_png() -> bytes:
    """A scan far below a kilobyte (which the case page printed as «۰ کیلوبایت»)."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_the_printed_reply_reads_as_typed_with_persian_digits_and_real_sizes(
    desk: Desk, tmp_path: Path
) -> None:
    request_id = submit(desk).request_id
    png = _small_png()
    with signed_in_client(desk, CLERK) as clerk:
        eventually(lambda: clerk.post(f"/api/requests/{request_id}/number").status_code in (201, 409))
        form = {"csrf_token": CSRF_FOR_TESTS, "kind": "final", "legal_basis": LEGAL, "body": BODY}

        def replied() -> str | None:
            answer = clerk.post(
                f"/secretariat/cases/{request_id}/reply",
                data=form,
                files={"attachments": ("scan.png", png, "image/png")},
            )
            assert answer.status_code in (303, 409), answer.text[:500]
            replies = clerk.get(f"/api/requests/{request_id}").json()["replies"]
            return replies[0]["reply_id"] if replies else None

        reply_id = eventually(replied)
        printed = clerk.get(f"/secretariat/cases/{request_id}/replies/{reply_id}/print")
        pdf = clerk.get(f"/secretariat/cases/{request_id}/replies/{reply_id}/pdf")

    assert printed.status_code == 200
    page = printed.text
    assert "ماده ۱۷ آیین‌نامه" in page and "ماده 17" not in page
    assert "info2@example.com" in page  # an address keeps its Latin digits
    assert "scan.png" in page and file_size(len(png)) in page and "بایت" in file_size(len(png))
    assert "۰ کیلوبایت" not in page

    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    copied = pdf_text(pdf.content, tmp_path)
    assert "ماده۱۷آیین‌نامه" in copied and "ماده17" not in copied
    assert "استدلالواعلام" in copied and "استدالل" not in copied and "اعالم" not in copied
    assert "info2@example.com" in copied
    # A line mixing a Latin name with Persian comes back in an order of the reader's choosing:
    # the name, the size and its unit are all on the attachments' line, and no «۰ کیلوبایت».
    files = copied.partition("پیوست‌ها:")[2]
    amount, unit = file_size(len(png)).split(" ")
    assert "scan.png" in files and amount in files and unit in files
    assert "۰کیلوبایت" not in copied
