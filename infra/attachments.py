"""Attachments: files kept by content hash on disk, shared by every service that stores files.

A file is written to a temporary name, flushed to disk and renamed, so a crash never leaves
half a file under a real name. Its id is its SHA-256, so the same bytes are stored once and an
event's hash can be checked against the file at any time.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from infra.settings import CommonSettings

MAX_NAME = 200


def clean_file_name(name: str) -> str:
    """A file name as a browser sent it, made safe to keep and show: its last path part only,
    without control or bidirectional-override characters (which make «exe.pdf» out of
    «fdp.exe»), at most `MAX_NAME` characters with its extension kept; "file" when nothing is left."""
    last = re.split(r"[/\\]", name)[-1]
    kept = "".join(ch for ch in last if unicodedata.category(ch) not in ("Cc", "Cf") or ch == "\u200c")
    kept = kept.strip().strip(".").strip()
    if not kept:
        return "file"
    stem, dot, extension = kept.rpartition(".")
    if len(kept) > MAX_NAME and dot and len(extension) < 16:
        return stem[: MAX_NAME - len(extension) - 1] + "." + extension
    return kept[:MAX_NAME]


@dataclass(frozen=True)
class StoredFile:
    """Where a file went: its id (the SHA-256 of its bytes) and its size."""

    attachment_id: str
    sha256: str
    size: int


class AttachmentStore:
    """Files under one folder (`ATTACHMENTS_DIR`, default `var/attachments`)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or CommonSettings.load().ATTACHMENTS_DIR
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, attachment_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", attachment_id):
            raise ValueError("an attachment id is a SHA-256 in hex")
        return self.folder / attachment_id[:2] / attachment_id

    def put(self, data: bytes) -> StoredFile:
        """Store `data` durably (once per distinct content) and return its id."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as temporary:
                temporary.write(data)
                temporary.flush()
                os.fsync(temporary.fileno())
            os.replace(temporary.name, path)
        return StoredFile(attachment_id=digest, sha256=digest, size=len(data))

    def get(self, attachment_id: str) -> bytes:
        """The file's bytes; raises `FileNotFoundError` when it is not stored."""
        return self._path(attachment_id).read_bytes()

    def verify(self, attachment_id: str) -> bool:
        """True when the stored bytes still hash to their id."""
        return hashlib.sha256(self.get(attachment_id)).hexdigest() == attachment_id
