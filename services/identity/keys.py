"""The identity service's secret: the HMAC key of one-time codes and captchas."""

from __future__ import annotations

import contextlib
import secrets

from infra.settings import IdentitySettings


def identity_secret() -> bytes:
    """`IDENTITY_SECRET`, else a random secret kept in `var/identity-secret` (made once)."""
    settings = IdentitySettings.load()
    if settings.IDENTITY_SECRET.get_secret_value():
        return settings.IDENTITY_SECRET.get_secret_value().encode()
    path = settings.PISHKHAN_VAR / "identity-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError), open(path, "x") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()
