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
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from contracts.errors import DomainError
from contracts.events import Event
from contracts.identity import EmailActivated, EmailLinkIssued
from contracts.rpc import Payload
from infra.commands import Identified
from infra.settings import IdentitySettings
from services.identity.accounts import Account, account_decider, now_iso, on_account
from services.identity.deps import Deps

LINK_HOURS = 24


def public_citizen_url() -> str:
    """Where citizens reach the citizen gateway (`PUBLIC_CITIZEN_URL`): links point there, never
    at whatever Host a request claimed."""
    return IdentitySettings.load().PUBLIC_CITIZEN_URL.rstrip("/")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssueLink:
    """Send the account a new activation link: the hash of a fresh random token, and when."""

    email: str
    token_hash: str
    at: datetime


def decide_issue(command: IssueLink, state: Account) -> list[Event]:
    """Every link lives `LINK_HOURS` from its issue (the older ones too, until theirs end)."""
    state.check_exists()
    return [
        EmailLinkIssued(
            account_id=state.account_id,
            email=command.email,
            token_hash=command.token_hash,
            expires_at=(command.at + timedelta(hours=LINK_HOURS)).isoformat(),
            at=command.at.isoformat(),
        )
    ]


ISSUE = account_decider(decide_issue)


@dataclass(frozen=True)
class Activate:
    """An activation link was opened: its token's hash, and when."""

    token_hash: str
    now: datetime
    at: str


def decide_activate(command: Activate, state: Account) -> list[Event]:
    """A link the account was sent and whose hours have not run out activates it, once."""
    if state.activation is None:
        raise DomainError("bad_activation_link")
    hashed = command.token_hash
    expires = next(
        (at for known, at in state.activation_links.items() if hmac.compare_digest(known, hashed)), None
    )
    if expires is None:
        raise DomainError("bad_activation_link")
    if state.email_activated:
        return []
    if command.now > datetime.fromisoformat(expires):
        raise DomainError("activation_link_expired")
    return [EmailActivated(account_id=state.account_id, email=state.activation.email, at=command.at)]


ACTIVATE = account_decider(decide_activate)


def issue(deps: Deps, account: Account, email: str, identity: Identified) -> bool:
    """Record a new link for `account` and e-mail it; True when the e-mail was accepted (False
    too when `identity` was a command repeated: its link went out the first time)."""
    token = secrets.token_urlsafe(32)
    command = IssueLink(email=email, token_hash=_hash(token), at=datetime.fromtimestamp(deps.clock(), UTC))
    actor = f"citizen:{account.account_id}"
    decided = on_account(
        deps.store, ISSUE, command, account.account_id, identity, actor=actor, purpose="activation"
    )
    if deps.mail is None or decided.repeated:
        return False
    query = urlencode({"account": account.account_id, "token": token})
    link = f"{public_citizen_url()}/activate?{query}"
    return deps.mail.send(email, link, "activate_account", uuid.uuid4().hex)


def refuse_until_activated(deps: Deps, account: Account, identity: Identified) -> None:
    """At sign-in: an account still waiting for its e-mail gets a fresh link and is refused."""
    if not account.activation_pending or account.activation is None:
        return
    issue(deps, account, account.activation.email, identity)
    raise DomainError("email_not_activated")


def activate(deps: Deps, account_id: str, token: str, command: Payload | None = None) -> dict[str, str]:
    """Open the link: the account becomes active (opening it again changes nothing)."""
    opened = Activate(token_hash=_hash(token), now=datetime.fromtimestamp(deps.clock(), UTC), at=now_iso())
    actor = f"citizen:{account_id}"
    decided = on_account(deps.store, ACTIVATE, opened, account_id, command or Payload(), actor=actor)
    assert decided.state.activation is not None  # decide_activate refuses an account without one
    return {"account_id": account_id, "email": decided.state.activation.email}


def masked(email: str) -> str:
    """The address as the page shows it: m***@example.com."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"
