"""Partners' API keys and webhook secrets (issue 25).

An API key is shown once, when it is made or rotated; only its SHA-256 and its first characters
(to tell keys apart on a page) are kept in events. A key carries 190 bits of entropy, so a slow
password hash would buy nothing: a plain digest cannot be reversed or guessed.

A webhook secret is never stored anywhere: it is derived from the partners' master secret and the
partner's key generation, so the relay that signs deliveries and the page that shows it after a
rotation compute the same value, and rotating the key changes the secret too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from infra.secret_files import made_once
from infra.settings import CommonSettings

KEY_PREFIX = "pk_"
SECRET_PREFIX = "whsec_"
SHOWN_PREFIX_LENGTH = len(KEY_PREFIX) + 6
"""How much of a key is kept in the clear (`pk_` and six characters) to recognise it on a page."""


def new_api_key() -> str:
    """A fresh key: `pk_` and 32 random URL-safe characters (190 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def api_key_hash(key: str) -> str:
    """The SHA-256 of a key, in hex: what events and the read model keep."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    """The start of a key shown on pages (never enough to use it)."""
    return key[:SHOWN_PREFIX_LENGTH]


def partners_secret() -> bytes:
    """`PARTNERS_SECRET`, else a random secret kept in `var/partners-secret` (made once)."""
    settings = CommonSettings.load()
    if settings.PARTNERS_SECRET.get_secret_value():
        return settings.PARTNERS_SECRET.get_secret_value().encode()
    return made_once(settings.PISHKHAN_VAR, "partners-secret").encode()


def webhook_secret(partner_id: str, generation: int, master: bytes | None = None) -> str:
    """The secret a partner's webhooks of key generation `generation` are signed with."""
    key = partners_secret() if master is None else master
    digest = hmac.new(key, f"{partner_id}:{generation}".encode(), hashlib.sha256).digest()
    # Standard Webhooks' own form: `whsec_` and the key's standard, padded base64 (its libraries
    # decode the URL-safe alphabet wrongly for most keys).
    return SECRET_PREFIX + base64.b64encode(digest).decode()
