"""An account, rebuilt from its stream and its verification case: the only source of truth a
login or a decision reads (read models may lag; streams do not)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import AppendResult, StreamNotFound, WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import Event, new_event, registry
from contracts.eventstore import EventStore
from contracts.identity import (
    SECURITY_EVENTS,
    AccountDisabled,
    AccountEnabled,
    CitizenRegistered,
    Company,
    EmailActivated,
    EmailLinkIssued,
    MobileChanged,
    PasswordSet,
    ProfileUpdated,
    RegistryRecord,
    RegistryVerified,
    RoleGranted,
    RoleRevoked,
    ShahkarChecked,
    StaffCreated,
    VerificationApproved,
)

NAMESPACE = uuid.UUID("6a1c5d1e-2f1b-4f5e-9a53-7d1c9e0b4a11")


def citizen_id(national_code: str) -> str:
    """A citizen's account id: one account per national code, found without any read model."""
    return uuid.uuid5(NAMESPACE, f"citizen:{national_code}").hex


def staff_id(national_code: str) -> str:
    """A staff member's account id."""
    return uuid.uuid5(NAMESPACE, f"staff:{national_code}").hex


def account_stream(account_id: str) -> str:
    """The stream of one account's events."""
    return f"account-{account_id}"


def case_id(account_id: str) -> str:
    """The account's one verification case (resubmissions are rounds of it)."""
    return uuid.uuid5(NAMESPACE, f"verification:{account_id}").hex


def case_stream(case: str) -> str:
    """The stream of one verification case."""
    return f"verification-{case}"


def now_iso() -> str:
    """The current time, ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat()


@dataclass
class Account:
    """What identity knows about one account."""

    account_id: str
    kind: str = "citizen"  # citizen | staff
    person_kind: str = "natural"  # natural | legal
    national_code: str = ""
    mobile: str = ""
    full_name: str = ""
    first_name: str = ""
    last_name: str = ""
    birth_date: str | None = None
    registry: RegistryRecord | None = None
    company: Company | None = None
    password_hash: str | None = None
    shahkar_mobile: str | None = None
    registry_verified: bool = False
    officer_verified: bool = False
    roles: dict[str, dict[str, str | None]] = field(default_factory=dict)
    contact: dict[str, str | None] = field(default_factory=dict)
    activation: EmailLinkIssued | None = None
    """The latest e-mailed activation link (seed 004), when one was sent."""
    activation_links: dict[str, str] = field(default_factory=dict)
    """Every activation link's token hash → when it expires (an older e-mail still works)."""
    email_activated: bool = False
    disabled: bool = False
    """An administrator disabled the account: it cannot sign in."""
    stamp: int = 0
    """The security stamp: how many of `SECURITY_EVENTS` the account has seen. A session keeps
    the stamp it signed in with and ends once the account's differs."""
    version: int = -1

    @property
    def activation_pending(self) -> bool:
        """An activation link went out and has not been opened: the account cannot sign in."""
        return self.activation is not None and not self.email_activated

    @property
    def level(self) -> int:
        """Assurance: 3 registry or officer verified, 2 Shahkar matched, 1 mobile verified."""
        if self.registry_verified or self.officer_verified:
            return 3
        if self.shahkar_mobile and self.shahkar_mobile == self.mobile:
            return 2
        return 1

    @property
    def display_name(self) -> str:
        """The person's name, with the company's for a legal entity."""
        if self.person_kind == "legal" and self.company is not None:
            return f"{self.company.company_name} ({self.full_name})"
        return self.full_name

    def apply(self, event: Event) -> None:
        """Take one event into account."""
        if event.type_name in SECURITY_EVENTS:
            self.stamp += 1
        if isinstance(event, CitizenRegistered):
            self.kind, self.person_kind = "citizen", event.kind
            self.national_code, self.mobile, self.full_name = (
                event.national_code,
                event.mobile,
                event.full_name,
            )
            self.first_name, self.last_name, self.birth_date = (
                event.first_name,
                event.last_name,
                event.birth_date,
            )
            self.registry, self.company = event.registry, event.company
            self.registry_verified = event.registry is not None
        elif isinstance(event, StaffCreated):
            self.kind, self.national_code = "staff", event.national_code
            self.full_name, self.mobile = event.full_name, event.mobile
        elif isinstance(event, PasswordSet):
            self.password_hash = event.password_hash
        elif isinstance(event, MobileChanged):
            self.mobile = event.mobile
        elif isinstance(event, ShahkarChecked):
            self.shahkar_mobile = event.mobile if event.matched else None
        elif isinstance(event, RegistryVerified):
            self.registry, self.registry_verified = event.registry, True
            self.first_name, self.last_name = event.registry.first_name, event.registry.last_name
            self.full_name = f"{self.first_name} {self.last_name}"
        elif isinstance(event, ProfileUpdated):
            self.contact.update(email=event.email, address=event.address, landline=event.landline)
            if event.first_name and event.last_name:
                self.first_name, self.last_name = event.first_name, event.last_name
                self.full_name = f"{event.first_name} {event.last_name}"
            if event.company is not None:
                self.company, self.person_kind = event.company, "legal"
        elif isinstance(event, RoleGranted):
            self.roles[event.role] = {"province": event.province, "unit": event.unit}
        elif isinstance(event, RoleRevoked):
            self.roles.pop(event.role, None)
        elif isinstance(event, VerificationApproved):
            self.officer_verified = True
        elif isinstance(event, EmailLinkIssued):
            self.activation = event
            self.activation_links[event.token_hash] = event.expires_at
        elif isinstance(event, EmailActivated):
            self.email_activated = True
            self.contact["email"] = event.email
        elif isinstance(event, AccountDisabled | AccountEnabled):
            self.disabled = isinstance(event, AccountDisabled)

    def principal(self) -> dict[str, Any]:
        """What the gateway signs in (`gateway.web.auth.Principal`'s fields)."""
        clerk = self.roles.get("clerk") or {}
        representative = self.roles.get("representative") or {}
        return {
            "account_id": self.account_id,
            "kind": self.kind,
            "display_name": self.display_name,
            "national_code": self.national_code,
            "mobile": self.mobile,
            "assurance_level": self.level if self.kind == "citizen" else 0,
            "roles": sorted(self.roles),
            "province": clerk.get("province"),
            "unit": representative.get("unit"),
            "extra": {"person_kind": self.person_kind} if self.kind == "citizen" else {},
            "scopes": {role: dict(scope) for role, scope in sorted(self.roles.items())},
            "stamp": self.stamp,
        }

    def view(self) -> dict[str, Any]:
        """The profile as pages show it (never the password hash)."""
        return {
            **self.principal(),
            "person_kind": self.person_kind,
            "full_name": self.full_name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "birth_date": self.birth_date,
            "registry": self.registry.model_dump() if self.registry else None,
            "company": self.company.model_dump() if self.company else None,
            "shahkar_matched": self.level >= 2 and self.shahkar_mobile == self.mobile,
            "registry_verified": self.registry_verified,
            "officer_verified": self.officer_verified,
            "has_password": self.password_hash is not None,
            "email_activated": self.email_activated,
            "roles_detail": self.roles,
            "disabled": self.disabled,
            **self.contact,
        }


def record(store: EventStore, account: Account, event: Event, actor: str | None) -> AppendResult:
    """Append `event` to the account's stream right after what `account` was loaded from;
    `conflict` when something else was recorded on it meanwhile."""
    try:
        return store.append(
            account_stream(account.account_id), [new_event(event, actor=actor)], account.version
        )
    except WrongExpectedVersion:
        raise DomainError("conflict") from None


def _read(store: EventStore, stream: str) -> list[Any]:
    try:
        return store.read_stream(stream)
    except StreamNotFound:
        return []


def load_account(store: EventStore, account_id: str) -> Account | None:
    """The account from its stream (and its verification case), or None."""
    recorded = _read(store, account_stream(account_id))
    if not recorded:
        return None
    account = Account(account_id=account_id, version=recorded[-1].revision)
    for item in recorded:
        account.apply(registry.decode(item))
    for item in _read(store, case_stream(case_id(account_id))):
        account.apply(registry.decode(item))
    return account
