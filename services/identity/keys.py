"""The identity service's secret: the HMAC key of one-time codes and captchas."""

from __future__ import annotations

from infra.secret_files import made_once
from infra.settings import IdentitySettings


def identity_secret() -> bytes:
    """`IDENTITY_SECRET`, else a random secret kept in `var/identity-secret` (made once)."""
    settings = IdentitySettings.load()
    if settings.IDENTITY_SECRET.get_secret_value():
        return settings.IDENTITY_SECRET.get_secret_value().encode()
    return made_once(settings.PISHKHAN_VAR, "identity-secret").encode()
