"""Attachment rules: the real type from the bytes, sizes, counts, disguised files."""

from __future__ import annotations

import io
import zipfile

import pytest

from contracts.catalogue import AttachmentRules
from contracts.errors import DomainError
from services.requests.files import check_file, real_type

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
TIFF = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60
DOC = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 100


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


ALL = AttachmentRules(
    max_size_kb=80, max_count=2, types=("pdf", "png", "jpg", "jpeg", "tiff", "zip", "doc", "docx")
)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PDF, "pdf"),
        (PNG, "png"),
        (JPG, "jpg"),
        (TIFF, "tiff"),
        (DOC, "doc"),
        (_zip("word/document.xml", "[Content_Types].xml"), "docx"),
        (_zip("a.txt"), "zip"),
        (EXE, None),
        (b"plain text", None),
        (b"PK\x03\x04 not really a zip", None),
    ],
)
def test_the_real_type_comes_from_the_bytes(data: bytes, kind: str | None) -> None:
    assert real_type(data) == kind


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [("نامه.pdf", PDF, "pdf"), ("scan.JPEG", JPG, "jpg"), ("photo.jpg", JPG, "jpg"), ("x.tif", TIFF, "tiff")],
)
def test_an_allowed_file_passes_with_its_real_type(name: str, data: bytes, kind: str) -> None:
    assert check_file(name, data, ALL, already=0) == kind


@pytest.mark.parametrize(
    ("name", "data"),
    [("letter.pdf", EXE), ("letter.pdf", PNG), ("report.docx", _zip("a.txt")), ("old.doc", PDF)],
)
def test_a_disguised_file_is_refused(name: str, data: bytes) -> None:
    with pytest.raises(DomainError) as refused:
        check_file(name, data, ALL, already=0)
    assert refused.value.code == "attachment_disguised"
    assert name in (refused.value.detail or "") and "معتبر نمی باشد" in (refused.value.detail or "")


def test_a_type_the_service_does_not_allow_is_refused_even_when_genuine() -> None:
    rules = AttachmentRules(max_size_kb=300, max_count=1, types=("pdf", "png"))
    with pytest.raises(DomainError) as refused:
        check_file("scan.jpg", JPG, rules, already=0)
    assert refused.value.code == "attachment_bad_type"
    with pytest.raises(DomainError) as no_extension:
        check_file("scan", PDF, rules, already=0)
    assert no_extension.value.code == "attachment_bad_type"


@pytest.mark.parametrize(
    ("limit_kb", "size", "ok"), [(80, 80 * 1024, True), (80, 80 * 1024 + 1, False), (300, 301 * 1024, False)]
)
def test_the_size_limit_is_the_services(limit_kb: int, size: int, ok: bool) -> None:
    rules = AttachmentRules(max_size_kb=limit_kb, max_count=2, types=("pdf",))
    data = PDF + b"0" * (size - len(PDF))
    if ok:
        assert check_file("a.pdf", data, rules, already=0) == "pdf"
        return
    with pytest.raises(DomainError) as refused:
        check_file("a.pdf", data, rules, already=0)
    assert refused.value.code == "attachment_too_large"
    assert "کیلوبایت" in (refused.value.detail or "")


def test_the_count_limit_and_empty_files() -> None:
    rules = AttachmentRules(max_size_kb=80, max_count=2, types=("pdf",))
    assert check_file("b.pdf", PDF, rules, already=1) == "pdf"
    with pytest.raises(DomainError) as too_many:
        check_file("c.pdf", PDF, rules, already=2)
    assert too_many.value.code == "attachment_too_many"
    with pytest.raises(DomainError) as empty:
        check_file("d.pdf", b"", rules, already=0)
    assert empty.value.code == "attachment_empty"
