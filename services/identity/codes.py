"""One-time codes and attempt counters: short-lived operational state, not facts.

A code lives `CODE_SECONDS` (5 minutes), is kept only as an HMAC of the code, is spent by its
first correct use and burnt after `MAX_CODE_TRIES` wrong ones. Attempts (code requests, wrong
passwords, wrong codes) are counted per account identifier, per mobile and per client address:
an account or a mobile past its limit is locked out (or refused more codes) for the window, an
address past its limit is asked for a captcha. Losing these tables loses nothing but pending
codes, so they are not projections and a replay leaves them alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from contracts.errors import DomainError
from infra import attempts
from infra.db import Database
from infra.settings import IdentitySettings
from services.identity.keys import identity_secret

metadata = sa.MetaData()

codes_table = sa.Table(
    "identity_codes",
    metadata,
    sa.Column("ticket", sa.String(32), primary_key=True),
    sa.Column("purpose", sa.String(30), nullable=False),
    sa.Column("mobile", sa.String(11)),
    sa.Column("account_id", sa.String(64)),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("tries", sa.Integer, nullable=False, default=0),
    sa.Column("used", sa.Boolean, nullable=False, default=False),
    sa.Column("data", sa.Text, nullable=False, default="{}"),
)

attempts_table = attempts.attempts_table("identity_attempts", metadata)

captchas_spent_table = sa.Table(
    "identity_captchas_spent",
    metadata,
    sa.Column("challenge", sa.String(32), primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False),
)
"""Captcha challenges already tried (see `services.identity.captcha`), until they expire."""


def _setting(name: str) -> int:
    """A limit of identity's settings (`IdentitySettings`, where its default is)."""
    value: int = getattr(IdentitySettings.load(), name)
    return value


@dataclass(frozen=True)
class Limits:
    """Rate limits (from the environment, so each organisation can tune them)."""

    code_seconds: int = _setting("IDENTITY_CODE_SECONDS")
    max_code_tries: int = _setting("IDENTITY_MAX_CODE_TRIES")
    window: int = _setting("IDENTITY_LOCK_SECONDS")
    codes_per_mobile: int = _setting("IDENTITY_CODES_PER_MOBILE")
    codes_per_client: int = _setting("IDENTITY_CODES_PER_CLIENT")
    failures_per_account: int = _setting("IDENTITY_FAILURES_PER_ACCOUNT")
    failures_per_client: int = _setting("IDENTITY_FAILURES_PER_CLIENT")
    """Past this many failures from one address its captcha gets one more digit (an address is
    never locked out: many citizens may share it)."""
    captcha_after: int = _setting("IDENTITY_CAPTCHA_AFTER")


LIMITS = Limits()


def setup(db: Database) -> None:
    """Create the tables if they are missing."""
    db.create_tables(metadata)


def code_hash(ticket: str, code: str) -> str:
    """HMAC of the code, bound to its ticket (the same code on two tickets hashes differently)."""
    return hmac.new(identity_secret(), f"{ticket}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Issued:
    """A code just made: its ticket (given to the browser) and the code (sent by SMS only)."""

    ticket: str
    code: str


def issue(
    db: Database,
    now: float,
    purpose: str,
    mobile: str | None,
    account_id: str | None,
    data: dict[str, Any] | None = None,
    limits: Limits = LIMITS,
) -> Issued:
    """A new 6-digit code. A ticket without mobile is a decoy: nothing is sent and no code will
    ever match, so the answer looks the same whether or not an account exists."""
    ticket = uuid.uuid4().hex
    code = f"{secrets.randbelow(10**6):06d}"
    with db.write.begin() as conn:
        conn.execute(
            codes_table.insert().values(
                ticket=ticket,
                purpose=purpose,
                mobile=mobile,
                account_id=account_id,
                code_hash=code_hash(ticket, code) if mobile else "-",
                created_at=now,
                expires_at=now + limits.code_seconds,
                tries=0,
                used=False,
                data=json.dumps(data or {}, ensure_ascii=False),
            )
        )
        conn.execute(codes_table.delete().where(codes_table.c.expires_at < now - 86400))
    return Issued(ticket, code)


def ticket_info(db: Database, ticket: str) -> dict[str, Any] | None:
    """The ticket's row (without its hash), for resending a code."""
    with db.read.connect() as conn:
        row = conn.execute(sa.select(codes_table).where(codes_table.c.ticket == ticket)).first()
    return None if row is None else {**row._mapping, "data": json.loads(row.data)}


def redeem(
    db: Database, now: float, ticket: str, code: str, purpose: str, limits: Limits = LIMITS
) -> dict[str, Any]:
    """Spend the code: the ticket's row when `code` is right, unexpired and unused; else
    `bad_code` (counting the try; the ticket burns after `max_code_tries`)."""
    with db.write.begin() as conn:
        row = conn.execute(
            sa.select(codes_table).where(codes_table.c.ticket == ticket, codes_table.c.purpose == purpose)
        ).first()
        if row is None or row.used or row.expires_at < now or row.tries >= limits.max_code_tries:
            raise DomainError("bad_code")
        if not hmac.compare_digest(row.code_hash, code_hash(ticket, code)):
            conn.execute(
                codes_table.update()
                .where(codes_table.c.ticket == ticket)
                .values(tries=codes_table.c.tries + 1)
            )
            failed = True
        else:
            spent = conn.execute(
                codes_table.update()
                .where(codes_table.c.ticket == ticket, codes_table.c.used.is_(False))
                .values(used=True)
            )
            failed = spent.rowcount != 1
    if failed:
        raise DomainError("bad_code")
    return {**row._mapping, "data": json.loads(row.data)}


def record(db: Database, now: float, *keys: str) -> None:
    """Count one attempt under each key."""
    attempts.record(db, attempts_table, now, *keys)


def count(db: Database, now: float, key: str, limits: Limits = LIMITS) -> int:
    """Attempts under `key` within the lock-out window."""
    return attempts.count(db, attempts_table, now, key, limits.window)


def clear(db: Database, *keys: str) -> None:
    """Forget the attempts under `keys` (after a successful login)."""
    attempts.clear(db, attempts_table, *keys)


def spend(db: Database, ticket: str) -> None:
    """Mark a ticket used (a resend replaces it)."""
    with db.write.begin() as conn:
        conn.execute(codes_table.update().where(codes_table.c.ticket == ticket).values(used=True))
