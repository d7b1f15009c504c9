"""Hostile files on every upload: letters and wizard drafts, resubmission, identity-verification
scans and secretariat reply attachments. Disguised types, oversize, zip bombs (nothing may
inflate them), and file names made to traverse paths or mislead the reader."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from contracts.envelope import StreamState
from contracts.events import new_event
from contracts.secretariat import ReturnedForCorrection
from deploy.run import Desk
from infra.attachments import clean_file_name
from infra.eventstore import open_store
from tests.attacks.conftest import (
    TOKEN,
    append_request,
    citizen_principal,
    client,
    file_letter,
    new_draft,
    register,
    staff_principal,
)
from tests.integration.test_identity_flow import csrf_of
from tests.integration.test_walking_skeleton import eventually
from tests.unit.test_requests_files import EXE, PDF, PNG

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

HTML = b"<!doctype html><html><body><script>window.__xss=1</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
DISGUISED = [("نامه.pdf", EXE), ("page.pdf", HTML), ("scan.jpg", PDF), ("logo.png", SVG), ("doc.pdf", PNG)]
HOSTILE_NAMES = [
    "../../etc/passwd.pdf",
    "/etc/passwd.pdf",
    "..\\..\\windows\\win.ini.pdf",
    "nul\x00byte.pdf",
    "x" * 1000 + ".pdf",
    "invoice\u202efdp.exe.pdf",
    'quote"; filename="evil.html.pdf',
    "line\r\nSet-Cookie: a=b.pdf",
]
TEHRAN = staff_principal("clerk", province="tehran")
BIRTH = {"birth_certificate": ("birth.pdf", PDF + b"birth", "application/pdf")}


def bomb(inner: str = "data.bin", size: int = 200 * 1024 * 1024) -> bytes:
    """A small zip whose one member inflates to `size` bytes of zeros."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(inner, "w", force_zip64=True) as member,
    ):
        chunk = bytes(1024 * 1024)
        for _ in range(size // len(chunk)):
            member.write(chunk)
    return out.getvalue()


def upload(citizen: httpx.Client, name: str, data: bytes, draft: str | None = None) -> httpx.Response:
    target = draft or new_draft(citizen)
    return citizen.post(
        f"/drafts/{target}",
        data={**TOKEN, "step": "1", "action": "upload"},
        files={"file": (name, data, "application/pdf")},
    )


@pytest.fixture(scope="module")
def citizen(desk: Desk) -> Iterator[httpx.Client]:
    with client(desk, citizen_principal("بارگذار")) as made:
        yield made


def test_disguised_and_oversized_letter_attachments_are_refused(desk: Desk, citizen: httpx.Client) -> None:
    for name, data in DISGUISED:
        answer = upload(citizen, name, data)
        assert answer.status_code == 422, (name, answer.status_code)
        assert "معتبر نمی باشد" in answer.text, name
    for size in (1024 * 1024 + 1, 3 * 1024 * 1024):
        answer = upload(citizen, "big.pdf", PDF + b"0" * size)
        assert answer.status_code in (413, 422), answer.status_code
    huge = upload(citizen, "huge.pdf", PDF + b"0" * (12 * 1024 * 1024))
    assert huge.status_code in (413, 422)


def test_zip_bombs_are_never_inflated(desk: Desk, citizen: httpx.Client) -> None:
    for name, data in (("archive.zip", bomb()), ("letter.docx", bomb("word/document.xml"))):
        assert len(data) < 1024 * 1024  # two hundred megabytes inside
        answer = upload(citizen, name, data)
        assert answer.status_code in (200, 422), (name, answer.status_code)
        if answer.status_code == 200:
            assert name in answer.text
    assert httpx.get(desk.url("citizen") + "/healthz", timeout=30).status_code == 200


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_file_names_are_cleaned(desk: Desk, citizen: httpx.Client, name: str) -> None:
    draft = new_draft(citizen)
    answer = upload(citizen, name, PDF + uuid.uuid4().bytes, draft)
    assert answer.status_code in (200, 422), answer.status_code
    page = citizen.get(f"/drafts/{draft}").text
    shown = re.findall(r'<li data-sha256="[0-9a-f]+">([^<]*) \(', page)
    for text in shown:
        assert "/" not in text and "\\" not in text and "\u202e" not in text and "\x00" not in text
        assert len(text) <= 200 and text.endswith(".pdf")


def test_clean_file_name_keeps_the_last_part_and_its_extension() -> None:
    assert clean_file_name("../../etc/passwd.pdf") == "passwd.pdf"
    assert clean_file_name("C:\\temp\\..\\win.ini.pdf") == "win.ini.pdf"
    assert clean_file_name("invoice\u202efdp.exe.pdf") == "invoicefdp.exe.pdf"
    assert clean_file_name("a\x00b\r\n.pdf") == "ab.pdf"
    assert clean_file_name("x" * 1000 + ".pdf") == "x" * 196 + ".pdf"
    assert clean_file_name("../..") == "file"
    assert clean_file_name("نامه اداری.pdf") == "نامه اداری.pdf"


def test_downloads_carry_safe_headers(desk: Desk, citizen: httpx.Client) -> None:
    request_id, _ = file_letter(citizen)
    detail = eventually(lambda: (page := citizen.get(f"/requests/{request_id}")).status_code == 200 and page)
    link = re.search(r'href="(/requests/[0-9a-f]+/attachments/[0-9a-f]{64})"', detail.text)
    assert link is not None
    got = citizen.get(link.group(1))
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")


def test_resubmission_attachments_are_checked_too(desk: Desk, citizen: httpx.Client) -> None:
    request_id, _ = file_letter(citizen)
    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        returned = ReturnedForCorrection(
            request_id=request_id, reason="نامه خوانا نیست", clerk="c1", holder="c1"
        )
        store.append(f"case-{request_id}", [new_event(returned, actor="clerk:c1")], StreamState.ANY)
    finally:
        store.close()
    detail = eventually(
        lambda: "خوانا نیست" in (page := citizen.get(f"/requests/{request_id}")).text and page
    )
    removal = dict.fromkeys(re.findall(r'name="(remove_[0-9a-f]{64})"', detail.text), "1")
    form = {**TOKEN, "subject": "اصلاح", "text": "اصلاح شد", **removal}
    assert removal  # the letter's one file makes room for the new one
    for name, data in DISGUISED:
        answer = citizen.post(
            f"/requests/{request_id}/resubmit", data=form, files={"file": (name, data, "a/b")}
        )
        assert answer.status_code == 422 and "معتبر نمی باشد" in answer.text, (name, answer.status_code)
    big = citizen.post(
        f"/requests/{request_id}/resubmit",
        data=form,
        files={"file": ("big.pdf", PDF + bytes(2 << 20), "a/b")},
    )
    assert big.status_code == 422 and "حجم فایل" in big.text
    named = citizen.post(
        f"/requests/{request_id}/resubmit",
        data=form,
        files={"file": ("../../\u202eevil.pdf", PDF + b"resubmitted", "application/pdf")},
    )
    assert named.status_code == 303
    page = eventually(lambda: "اصلاح شد" in (shown := citizen.get(f"/requests/{request_id}")).text and shown)
    assert "evil.pdf" in page.text and "../" not in page.text and "\u202e" not in page.text


def test_secretariat_reply_attachments_are_checked_by_content(desk: Desk) -> None:
    request_id = append_request(desk)
    with client(desk, TEHRAN) as tehran:
        eventually(lambda: tehran.get(f"/api/requests/{request_id}").status_code == 200)
        assert tehran.post(f"/api/requests/{request_id}/number").status_code == 201
        eventually(lambda: tehran.get(f"/api/requests/{request_id}").json()["case"]["registration_number"])
        form = {**TOKEN, "kind": "interim", "body": "پاسخ میانی"}
        for name, data in [*DISGUISED, ("big.pdf", PDF + b"0" * (3 * 1024 * 1024))]:
            answer = tehran.post(
                f"/secretariat/cases/{request_id}/reply",
                data={**form, "command_id": uuid.uuid4().hex},
                files={"attachments": (name, data, "application/pdf")},
            )
            assert answer.status_code == 422, (name, answer.status_code)
        assert tehran.get(f"/api/requests/{request_id}").json()["replies"] == []
        sent = tehran.post(
            f"/secretariat/cases/{request_id}/reply",
            data={**form, "command_id": uuid.uuid4().hex},
            files={"attachments": ("../../\u202eپاسخ.pdf", PDF + b"reply", "application/octet-stream")},
        )
        assert sent.status_code == 303, sent.text[-300:]
        replies = eventually(lambda: tehran.get(f"/api/requests/{request_id}").json()["replies"])
        (ref,) = replies[0]["attachments"]
        assert (ref["name"], ref["media_type"]) == ("پاسخ.pdf", "application/pdf")
        got = tehran.get(f"/secretariat/cases/{request_id}/files/{ref['attachment_id']}")
        assert got.content.startswith(b"%PDF") and got.headers["x-content-type-options"] == "nosniff"


def test_identity_verification_scans_are_checked(desk: Desk) -> None:
    citizen = register(desk, "0045678911", "09351112233")
    try:
        for name, data in [("card.pdf", EXE), ("card.pdf", HTML), ("card.png", SVG), ("card.jpg", PDF)]:
            page = citizen.get("/verification")
            form = {"csrf_token": csrf_of(page), "father_name": "علی", "province": "tehran"}
            answer = citizen.post(
                "/verification", data=form, files={"national_card": (name, data, "image/png"), **BIRTH}
            )
            errors = re.findall(r'id="error">([^<]+)<', answer.text)
            assert answer.status_code == 422 and "فرمت فایل مجاز نیست" in answer.text, (name, errors)
        page = citizen.get("/verification")
        unplaced = citizen.post(
            "/verification",
            data={"csrf_token": csrf_of(page), "father_name": "علی", "note": "بدون استان"},
            files={"national_card": ("card.pdf", PDF, "application/pdf"), **BIRTH},
        )
        assert unplaced.status_code == 422 and "استان مورد درخواست را از فهرست انتخاب کنید" in unplaced.text
        assert "بدون استان" in unplaced.text  # what was typed comes back
        page = citizen.get("/verification")
        big = citizen.post(
            "/verification",
            data={"csrf_token": csrf_of(page), "father_name": "علی", "province": "tehran"},
            files={"national_card": ("card.pdf", PDF + bytes(7_000_000), "application/pdf"), **BIRTH},
        )
        assert big.status_code == 422 and "حجم فایل" in big.text
        page = citizen.get("/verification")
        sent = citizen.post(
            "/verification",
            data={"csrf_token": csrf_of(page), "father_name": "علی", "province": "tehran"},
            files={"national_card": ("../../\u202ecard.pdf", PDF + b"scan", "application/pdf"), **BIRTH},
        )
        assert sent.url.path == "/verification" and sent.status_code == 200, sent.text[-300:]
        store = open_store(desk.env["EVENTSTORE_URL"])
        try:
            (submitted,) = [e.data for e in store.read_all(0, types=["VerificationSubmitted"])]
        finally:
            store.close()
        names = sorted(scan["file"]["name"] for scan in submitted["scans"])
        assert names == ["birth.pdf", "card.pdf"]
    finally:
        citizen.close()
