"""Attachment rules: the real type of a file comes from its bytes, never from its name.

A `.pdf` that is really an executable, or a `.png` that is really a PDF, is refused as
disguised; a type the service does not allow, an oversized file or one file too many is
refused with the seed's kind of Persian message.
"""

from __future__ import annotations

import base64
import binascii
import io
import zipfile

import filetype

from contracts.catalogue import AttachmentRules
from contracts.errors import DomainError
from contracts.persian import persian_digits
from contracts.requests import AttachmentRef
from infra.attachments import AttachmentStore

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
SAME_TYPE = {"jpeg": "jpg", "tif": "tiff"}
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "tiff": "image/tiff",
    "zip": "application/zip",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def canonical(extension: str) -> str:
    """One name per type: jpeg is jpg, tif is tiff."""
    extension = extension.lower().lstrip(".")
    return SAME_TYPE.get(extension, extension)


def real_type(data: bytes) -> str | None:
    """The type the bytes really are (pdf, png, jpg, tiff, zip, doc, docx), or None."""
    if data.startswith(OLE2_MAGIC):
        return "doc"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return None
        return "docx" if any(name.startswith("word/") for name in names) else "zip"
    kind = filetype.guess(data)
    if kind is None:
        return None
    found = canonical(kind.extension)
    return found if found in MEDIA_TYPES else None


def extension_of(name: str) -> str:
    """The file name's extension, canonical, or "" when it has none."""
    return canonical(name.rsplit(".", 1)[1]) if "." in name else ""


def check_file(name: str, data: bytes, rules: AttachmentRules, already: int) -> str:
    """The file's real type when `rules` accept it next to `already` attached files; else a
    `DomainError` whose detail is the Persian sentence shown beside the file input."""
    allowed = {canonical(t) for t in rules.types}
    shown_types = "، ".join(rules.types)
    if already >= rules.max_count:
        raise DomainError(
            "attachment_too_many", f"حداکثر تعداد فایل : {persian_digits(str(rules.max_count))} عدد"
        )
    if not data:
        raise DomainError("attachment_empty", f"فایل «{name}» خالی است.")
    if len(data) > rules.max_size_kb * 1024:
        raise DomainError(
            "attachment_too_large",
            f"حجم فایل «{name}» نباید بیشتر از {persian_digits(str(rules.max_size_kb))} کیلوبایت باشد.",
        )
    found = real_type(data)
    claimed = extension_of(name)
    if claimed not in allowed:
        raise DomainError(
            "attachment_bad_type", f"فرمت فایل «{name}» معتبر نمی باشد! فرمت‌های مجاز: {shown_types}"
        )
    if found != claimed:
        raise DomainError(
            "attachment_disguised",
            f"محتوای فایل «{name}» با پسوند آن یکی نیست و فایل معتبر نمی باشد! فرمت‌های مجاز: {shown_types}",
        )
    return found


def media_type(kind: str) -> str:
    """The MIME type of a checked file type."""
    return MEDIA_TYPES[kind]


def decoded(text: str, field: str) -> bytes:
    """The bytes a base64 `field` carries, or `invalid_input`."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("invalid_input", f"{field} is not base64") from None


def store_checked(
    files: AttachmentStore, name: str, data: bytes, rules: AttachmentRules, already: int
) -> AttachmentRef:
    """Check a file as `check_file` does, then store it: what a draft or a correction carries."""
    kind = check_file(name, data, rules, already)
    stored = files.put(data)
    return AttachmentRef(
        attachment_id=stored.attachment_id,
        name=name,
        media_type=media_type(kind),
        size=stored.size,
        sha256=stored.sha256,
    )
