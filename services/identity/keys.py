"""The identity service's secret: the HMAC key of one-time codes and captchas."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def identity_secret() -> bytes:
    """`IDENTITY_SECRET`, else a random secret kept in `var/identity-secret` (made once)."""
    if os.environ.get("IDENTITY_SECRET"):
        return os.environ["IDENTITY_SECRET"].encode()
    path = Path(os.environ.get("PISHKHAN_VAR", "var")) / "identity-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError), open(path, "x") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()
