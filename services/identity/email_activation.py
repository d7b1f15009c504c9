"""Activating an account by an e-mailed link (seed 004), where the organisation asks for it
(`EMAIL_ACTIVATION=required`).

The mobile code opens the account as everywhere else; then a link goes to the e-mail given at
registration and the account cannot sign in until its holder opens it. Signing in before that is
refused with seed 004's red message and sends a new link. Only each token's SHA-256 is stored;
every link sent lives `LINK_HOURS` hours (an older e-mail still works when a newer one was
refused by the address's rate limit or is slow to arrive).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from contracts.errors import DomainError
from contracts.identity import EmailActivated, EmailLinkIssued
from services.identity.accounts import Account, load_account, now_iso, record
from services.identity.deps import Deps

LINK_HOURS = 24


def public_citizen_url() -> str:
    """Where citizens reach the citizen gateway (`PUBLIC_CITIZEN_URL`): links point there, never
    at whatever Host a request claimed."""
    return os.environ.get("PUBLIC_CITIZEN_URL", "http://127.0.0.1:8000").rstrip("/")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(deps: Deps, account: Account, email: str) -> bool:
    """Record a new link for `account` and e-mail it; True when the e-mail was accepted."""
    token = secrets.token_urlsafe(32)
    issued_at = datetime.fromtimestamp(deps.clock(), UTC)
    event = EmailLinkIssued(
        account_id=account.account_id,
        email=email,
        token_hash=_hash(token),
        expires_at=(issued_at + timedelta(hours=LINK_HOURS)).isoformat(),
        at=issued_at.isoformat(),
    )
    record(deps.store, account, event, f"citizen:{account.account_id}")
    if deps.mail is None:
        return False
    query = urlencode({"account": account.account_id, "token": token})
    link = f"{public_citizen_url()}/activate?{query}"
    return deps.mail.send(email, link, "activate_account", uuid.uuid4().hex)


def refuse_until_activated(deps: Deps, account: Account) -> None:
    """At sign-in: an account still waiting for its e-mail gets a fresh link and is refused."""
    if not account.activation_pending or account.activation is None:
        return
    issue(deps, account, account.activation.email)
    raise DomainError("email_not_activated")


def activate(deps: Deps, account_id: str, token: str) -> dict[str, str]:
    """Open the link: the account becomes active (opening it again changes nothing)."""
    account = load_account(deps.store, account_id)
    if account is None or account.activation is None:
        raise DomainError("bad_activation_link")
    hashed = _hash(token)
    expires = next(
        (at for known, at in account.activation_links.items() if hmac.compare_digest(known, hashed)), None
    )
    if expires is None:
        raise DomainError("bad_activation_link")
    email = account.activation.email
    if account.email_activated:
        return {"account_id": account_id, "email": email}
    if datetime.fromtimestamp(deps.clock(), UTC) > datetime.fromisoformat(expires):
        raise DomainError("activation_link_expired")
    event = EmailActivated(account_id=account_id, email=email, at=now_iso())
    record(deps.store, account, event, f"citizen:{account_id}")
    return {"account_id": account_id, "email": email}


def masked(email: str) -> str:
    """The address as the page shows it: m***@example.com."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"
