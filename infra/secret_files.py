"""Secrets a desk makes for itself on first start when its configuration gives none."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path


def made_once(folder: Path, name: str) -> str:
    """A random secret kept in `folder/name`: made by whichever process needs it first (the
    exclusive create lets one of several starting at once win), read by every later one."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError), open(path, "x") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
