"""Passwords: Argon2 hashes, and the rules a new password must pass."""

from __future__ import annotations

import itertools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contracts.errors import DomainError
from contracts.persian import latin_digits

MIN_LENGTH = 8
_hasher = PasswordHasher()

# The most used passwords of public breach lists, and their Persian-keyboard look-alikes.
COMMON = frozenset(
    [
        "12345678",
        "123456789",
        "1234567890",
        "0123456789",
        "987654321",
        "11111111",
        "00000000",
        "88888888",
        "12341234",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "qwerty123",
        "qwertyuiop",
        "1q2w3e4r",
        "1qaz2wsx",
        "zaq12wsx",
        "iloveyou",
        "abc12345",
        "abcd1234",
        "aa123456",
        "asdfghjk",
        "asdf1234",
        "admin123",
        "administrator",
        "welcome1",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "superman",
        "123qweasd",
        "1q2w3e4r5t",
        "qazwsxedc",
        "147258369",
        "123123123",
        "112233445566",
        "789456123",
        "741852963",
        "iran1234",
        "tehran123",
        "esteghlal",
        "persepolis",
        "salam123",
        "mohammad",
        "ali12345",
        "reza1234",
        "zahra123",
        "fatemeh1",
        "hossein1",
        "mehdi123",
        "amir1234",
    ]
)


def hash_password(password: str) -> str:
    """The Argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; hashes anyway when there is none, so timing tells nothing."""
    if password_hash is None:
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_new_password(password: str, *personal: str | None) -> None:
    """Refuse short, common, monotonous or personal passwords (`weak_password`)."""
    plain = latin_digits(password)
    lowered = plain.lower()
    if len(plain) < MIN_LENGTH or len(set(plain)) < 4:
        raise DomainError("weak_password")
    if lowered in COMMON or (re.fullmatch(r"\d+", plain) and _sequential(plain)):
        raise DomainError("weak_password")
    if any(item and len(item) >= 4 and item.lower() in lowered for item in personal):
        raise DomainError("weak_password")


def _sequential(digits: str) -> bool:
    steps = {int(b) - int(a) for a, b in itertools.pairwise(digits)}
    return len(steps) == 1 and steps <= {1, -1, 0}
