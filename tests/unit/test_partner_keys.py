"""Partners' keys and webhook secrets: what is kept, and what is derived."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from infra import partner_keys
from infra.partner_keys import api_key_hash, key_prefix, new_api_key, partners_secret, webhook_secret

MASTER = b"a master secret of the tests"


def test_a_new_key_is_pk_and_32_url_safe_characters_and_never_twice_the_same() -> None:
    keys = {new_api_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(re.fullmatch(r"pk_[A-Za-z0-9_\-]{32}", key) for key in keys)


def test_the_hash_is_the_sha256_hex_of_the_key() -> None:
    key = new_api_key()
    assert api_key_hash(key) == hashlib.sha256(key.encode()).hexdigest()
    assert api_key_hash(key) != api_key_hash(new_api_key())
    assert key_prefix(key) == key[:9] and key_prefix(key).startswith("pk_")


def test_the_webhook_secret_is_stable_per_generation_and_changes_with_it() -> None:
    first = webhook_secret("p1", 1, MASTER)
    assert first.startswith("whsec_")
    assert webhook_secret("p1", 1, MASTER) == first
    assert webhook_secret("p1", 2, MASTER) != first
    assert webhook_secret("p2", 1, MASTER) != first
    assert webhook_secret("p1", 1, b"another master") != first


def test_the_master_secret_comes_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNERS_SECRET", "from-the-setting")
    assert partners_secret() == b"from-the-setting"
    assert webhook_secret("p1", 1) == webhook_secret("p1", 1, b"from-the-setting")


def test_without_the_setting_the_master_secret_is_made_once_under_var(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PARTNERS_SECRET", raising=False)
    monkeypatch.setenv("PISHKHAN_VAR", str(tmp_path))
    made = partner_keys.partners_secret()
    assert (tmp_path / "partners-secret").read_text().strip().encode() == made
    assert len(made) >= 32
    assert partner_keys.partners_secret() == made


def test_the_printed_secret_verifies_in_a_partners_standard_webhooks_library() -> None:
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    from services.relay.webhooks import signer

    now = datetime.now(UTC)
    body = '{"n":1}'
    for n in range(50):  # URL-safe base64 without padding was read wrongly for about three in four
        secret = webhook_secret(f"partner-{n}", 1, MASTER)
        headers = {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signer(secret).sign("msg_1", now, body),
        }
        Webhook(secret).verify(body, headers)  # raises WebhookVerificationError when it does not
