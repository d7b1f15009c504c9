"""Signed heads of the store-wide chain: what a history was, signed, to be published elsewhere.

A head is (position, link of the store-wide chain at that position, when), signed with Ed25519.
Someone who can rewrite the database can recompute every hash and every link, but cannot sign:
a head published before the rewrite (kept by someone who cannot write the database, e.g. printed
by `pishkhan heads` into a ticket, a mail, another organisation's archive) then no longer
matches the history, and `pishkhan integrity --against FILE` says where. A history cut at its
end (the last events of every stream deleted together) ends before a head signed earlier.

The store records a head every `HEAD_EVERY_EVENTS` events or `HEAD_EVERY_SECONDS` seconds of
appends when `EVENTSTORE_SIGNING_KEY` is set (`HeadRecorder`, run by each process's store after
its commits), and `pishkhan heads --record` records one at once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from infra.eventstore.schema import events_table, heads_table
from infra.settings import CommonSettings

log = logging.getLogger(__name__)

MESSAGE_VERSION = 1


@dataclass(frozen=True)
class Head:
    """One signed head. `key_id` is the signer's public key (hex), which verifies `signature`."""

    position: int
    chain: str
    signed_at: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        """What is signed: the position, the link and the time, in one line of text."""
        return f"pishkhan-head:{MESSAGE_VERSION}:{self.position}:{self.chain}:{self.signed_at}".encode()

    def signed_by(self, public_key: str) -> bool:
        """Whether `signature` is this head's, made by the key whose public half is `public_key`."""
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
                bytes.fromhex(self.signature), self.message()
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def as_line(self) -> str:
        """One JSON line, as `pishkhan heads` prints it and `--against` reads it."""
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_line(cls, text: str) -> Head:
        """A head from one line printed by `pishkhan heads`; ValueError when it is not one."""
        try:
            value: Any = json.loads(text)
            return cls(
                position=int(value["position"]),
                chain=str(value["chain"]),
                signed_at=str(value["signed_at"]),
                key_id=str(value["key_id"]),
                signature=str(value["signature"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"not a head: {text[:80]!r}") from error


def read_heads(path: Path) -> list[Head]:
    """The heads of a file written from `pishkhan heads` (blank lines skipped)."""
    return [Head.from_line(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def private_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 key from its 32-byte seed in hex (`EVENTSTORE_SIGNING_KEY`)."""
    try:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text.strip()))
    except ValueError as error:
        raise ValueError("EVENTSTORE_SIGNING_KEY must be 64 hex digits (an Ed25519 seed)") from error


def public_key_of(key: Ed25519PrivateKey) -> str:
    """The public half of `key`, in hex: a head's `key_id`."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def new_key() -> str:
    """A new signing key's seed in hex (`pishkhan heads --new-key`)."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()


def sign(key: Ed25519PrivateKey, position: int, chain: str, signed_at: str | None = None) -> Head:
    """A head of the history at `position`, whose store-wide link there is `chain`."""
    unsigned = Head(
        position, chain, signed_at or datetime.now(UTC).isoformat(timespec="seconds"), public_key_of(key), ""
    )
    signature = key.sign(unsigned.message()).hex()
    return Head(unsigned.position, unsigned.chain, unsigned.signed_at, unsigned.key_id, signature)


def configured_key() -> Ed25519PrivateKey | None:
    """The signing key of this process's configuration, if any."""
    text = CommonSettings.load().EVENTSTORE_SIGNING_KEY.get_secret_value()
    return private_key(text) if text else None


def record(engine: sa.Engine, key: Ed25519PrivateKey) -> Head | None:
    """Sign the store's current end and keep the head in `es_heads` (None: an empty store, or
    an end whose events are not linked yet: run `pishkhan integrity --backfill`)."""
    with engine.begin() as conn:
        last = conn.execute(
            sa.select(events_table.c.position, events_table.c.chain)
            .order_by(events_table.c.position.desc())
            .limit(1)
        ).first()
        if last is None or last.chain is None:
            return None
        head = sign(key, int(last.position), last.chain)
        known = conn.execute(
            sa.select(heads_table.c.position).where(heads_table.c.position == head.position)
        ).first()
        if known is None:
            conn.execute(heads_table.insert().values(**asdict(head)))
    return head


def stored(engine: sa.Engine, since: int = 0) -> list[Head]:
    """The heads kept in the store, oldest first."""
    with engine.connect() as conn:
        return list(stored_in(conn, since))


def stored_in(conn: sa.Connection, since: int = 0) -> Iterator[Head]:
    """`stored`, on a connection the caller holds (inside its transaction)."""
    rows = conn.execute(
        sa.select(heads_table).where(heads_table.c.position > since).order_by(heads_table.c.position)
    )
    for row in rows:
        yield Head(int(row.position), row.chain, row.signed_at, row.key_id, row.signature)


class HeadRecorder:
    """Records a head after this process's appends every `every_events` events or
    `every_seconds` seconds (whichever comes first); a failure is logged, never raised into
    an append that has committed."""

    def __init__(self, key: Ed25519PrivateKey, every_events: int, every_seconds: float) -> None:
        self.key = key
        self.every_events = every_events
        self.every_seconds = every_seconds
        self._pending = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()

    @classmethod
    def configured(cls) -> HeadRecorder | None:
        """The recorder this process's configuration asks for (None without a signing key)."""
        settings = CommonSettings.load()
        key = settings.EVENTSTORE_SIGNING_KEY.get_secret_value()
        if not key:
            return None
        return cls(private_key(key), settings.HEAD_EVERY_EVENTS, settings.HEAD_EVERY_SECONDS)

    def appended(self, engine: sa.Engine, count: int) -> None:
        """Count `count` events just committed; record a head when one is due."""
        with self._lock:
            self._pending += count
            due = self._pending >= self.every_events or time.monotonic() - self._last >= self.every_seconds
            if not due:
                return
            self._pending, self._last = 0, time.monotonic()
        try:
            record(engine, self.key)
        except Exception:
            log.exception("could not record a signed head")


def check_heads(
    heads: Iterable[Head], links: dict[int, str | None], last_position: int, trusted: set[str] | None
) -> Iterator[tuple[int, str, str]]:
    """(position, kind, problem) for each head that the history does not extend: a signature that
    does not verify (or a signer not in `trusted`, when given), a link at its position that
    differs from the head's, or a history that ends before it. `links` holds the recomputed
    link at each head's position."""
    for head in heads:
        if trusted is not None and head.key_id not in trusted:
            yield (
                head.position,
                "signature",
                f"the head at position {head.position} is signed by an unknown key",
            )
        elif not head.signed_by(head.key_id):
            yield head.position, "signature", f"the head at position {head.position} has a bad signature"
        elif head.position > last_position:
            yield (
                head.position,
                "cut",
                f"the history ends at position {last_position}, before the head signed at "
                f"position {head.position} ({head.signed_at}): events were cut from its end",
            )
        elif links.get(head.position) != head.chain:
            yield (
                head.position,
                "ledger",
                f"the history at position {head.position} is not the one the head signed",
            )
