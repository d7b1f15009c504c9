"""Solving identity's captcha in tests, the only way outside the service can: with identity's
secret, trying every answer against the token's HMAC (no test hook runs in the service)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from contracts.persian import latin_digits

if TYPE_CHECKING:
    from deploy.run import Desk


def answer_of(token: str, secret: bytes, digits: int | None = None) -> str:
    """The digits whose HMAC the token carries (`digits` of them; else 5, then 6)."""
    challenge, expires, mac = token.split(".")
    base = hmac.new(secret, f"captcha:{challenge}:{expires}:".encode(), hashlib.sha256)
    for length in (digits,) if digits else (5, 6):
        for number in range(10**length):
            guess = f"{number:0{length}d}"
            attempt = base.copy()
            attempt.update(guess.encode())
            if attempt.hexdigest() == mac:
                return guess
    raise AssertionError("no answer matches the token")


def secret_of(desk: Desk | None = None) -> bytes:
    """Identity's secret: the desk's (from its environment or its var folder), else this process's."""
    env = desk.env if desk is not None else dict(os.environ)
    if env.get("IDENTITY_SECRET"):
        return env["IDENTITY_SECRET"].encode()
    return (Path(env.get("PISHKHAN_VAR", "var")) / "identity-secret").read_text().strip().encode()


def token_in(page: httpx.Response) -> str | None:
    """The captcha token of the form on `page`, if it shows a captcha."""
    match = re.search(r'name="captcha_token" value="([^"]+)"', page.text)
    return match.group(1) if match else None


def solved_fields(desk: Desk, page: httpx.Response) -> dict[str, str]:
    """The captcha fields of `page`'s form, answered (none when the page shows no captcha)."""
    token = token_in(page)
    if token is None:
        return {}
    said = re.search(r"عدد ([۰-۹]+) رقمی", page.text)  # the hint says how many digits
    digits = int(latin_digits(said.group(1))) if said else None
    return {"captcha_token": token, "captcha": answer_of(token, secret_of(desk), digits)}
