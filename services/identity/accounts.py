"""The account aggregate: its state folded from its stream and its verification case by the pure
`evolve`, the only source of truth a login or a decision reads (read models may lag; streams do
not). Each module decides its own commands on it (`account_decider`) and appends through the one
command handler (`on_account`, `infra.decider.handle`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from contracts.errors import DomainError
from contracts.events import Event, registry
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
    VerificationDraftSaved,
    VerificationRejected,
    VerificationSubmitted,
)
from infra.commands import Identified
from infra.decider import Decided, Decider, handle

C = TypeVar("C")

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


@dataclass(frozen=True)
class Case:
    """The account's verification case as its stream tells it (`verification-<case>`)."""

    case_id: str = ""
    account_id: str = ""
    status: Literal["none", "submitted", "approved", "rejected"] = "none"
    round: int = 0
    province: str | None = None
    """The province of the latest submission: whose desk officers review it (None: anyone's)."""
    draft: VerificationDraftSaved | None = None
    """Seed 004's «ثبت موقت» kept since the latest submission (None: nothing kept)."""


@dataclass(frozen=True)
class Account:
    """What identity knows about one account: the state its decisions are taken on. Only
    `evolve` makes a new one from an event; nothing changes one in place."""

    account_id: str = ""
    """Empty until the account is opened (`CitizenRegistered` or `StaffCreated`)."""
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
    registry_inquired_at: str | None = None
    """When the civil registry last confirmed the holder (seed 000's «تاریخ استعلام»)."""
    officer_verified: bool = False
    roles: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    contact: Mapping[str, str | None] = field(default_factory=dict)
    activation: EmailLinkIssued | None = None
    """The latest e-mailed activation link (seed 004), when one was sent."""
    activation_links: Mapping[str, str] = field(default_factory=dict)
    """Every activation link's token hash → when it expires (an older e-mail still works)."""
    email_activated: bool = False
    disabled: bool = False
    """An administrator disabled the account: it cannot sign in."""
    stamp: int = 0
    """The security stamp: how many of `SECURITY_EVENTS` the account has seen. A session keeps
    the stamp it signed in with and ends once the account's differs."""
    case: Case = Case()
    version: int = -1
    """The account stream's revision when `load_account` read it (-1 otherwise)."""

    @property
    def exists(self) -> bool:
        """The account was opened (a state folded from nothing, or from its case alone, was not)."""
        return bool(self.account_id)

    def check_exists(self) -> None:
        """Refuse a command on an account that was never opened (`account_not_found`)."""
        if not self.exists:
            raise DomainError("account_not_found")

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
            "registry_inquired_at": self.registry_inquired_at,
            "officer_verified": self.officer_verified,
            "has_password": self.password_hash is not None,
            "email_activated": self.email_activated,
            "roles_detail": {role: dict(scope) for role, scope in self.roles.items()},
            "disabled": self.disabled,
            **self.contact,
        }


def evolve(state: Account, event: Event) -> Account:
    """The account after `event` (of its stream or of its verification case)."""
    if event.type_name in SECURITY_EVENTS:
        state = replace(state, stamp=state.stamp + 1)
    match event:
        case CitizenRegistered():
            return replace(
                state,
                account_id=event.account_id,
                kind="citizen",
                person_kind=event.kind,
                national_code=event.national_code,
                mobile=event.mobile,
                full_name=event.full_name,
                first_name=event.first_name,
                last_name=event.last_name,
                birth_date=event.birth_date,
                registry=event.registry,
                company=event.company,
                registry_verified=event.registry is not None,
                registry_inquired_at=event.registered_at if event.registry is not None else None,
            )
        case StaffCreated():
            return replace(
                state,
                account_id=event.account_id,
                kind="staff",
                national_code=event.national_code,
                full_name=event.full_name,
                mobile=event.mobile,
            )
        case PasswordSet():
            return replace(state, password_hash=event.password_hash)
        case MobileChanged():
            return replace(state, mobile=event.mobile)
        case ShahkarChecked():
            return replace(state, shahkar_mobile=event.mobile if event.matched else None)
        case RegistryVerified():
            first, last = event.registry.first_name, event.registry.last_name
            return replace(
                state,
                registry=event.registry,
                registry_verified=True,
                registry_inquired_at=event.at,
                first_name=first,
                last_name=last,
                full_name=f"{first} {last}",
            )
        case ProfileUpdated():
            return _profile_updated(state, event)
        case RoleGranted():
            scope = {"province": event.province, "unit": event.unit}
            return replace(state, roles={**state.roles, event.role: scope})
        case RoleRevoked():
            return replace(state, roles={r: s for r, s in state.roles.items() if r != event.role})
        case EmailLinkIssued():
            links = {**state.activation_links, event.token_hash: event.expires_at}
            return replace(state, activation=event, activation_links=links)
        case EmailActivated():
            return replace(state, email_activated=True, contact={**state.contact, "email": event.email})
        case AccountDisabled() | AccountEnabled():
            return replace(state, disabled=isinstance(event, AccountDisabled))
        case VerificationSubmitted():
            case = Case(event.case_id, event.account_id, "submitted", event.round, event.province)
            return replace(state, case=case)
        case VerificationDraftSaved():
            case = replace(state.case, case_id=event.case_id, account_id=event.account_id, draft=event)
            return replace(state, case=case)
        case VerificationApproved():
            return replace(state, officer_verified=True, case=replace(state.case, status="approved"))
        case VerificationRejected():
            return replace(state, case=replace(state.case, status="rejected"))
    return state


def _profile_updated(state: Account, event: ProfileUpdated) -> Account:
    contact = {**state.contact, "email": event.email, "address": event.address, "landline": event.landline}
    state = replace(state, contact=contact)
    if event.first_name and event.last_name:
        full_name = f"{event.first_name} {event.last_name}"
        state = replace(state, first_name=event.first_name, last_name=event.last_name, full_name=full_name)
    if event.company is not None:
        state = replace(state, company=event.company, person_kind="legal")
    return state


def account_decider(decide: Callable[[C, Account], Sequence[Event]]) -> Decider[C, Account]:
    """The account aggregate deciding one module's commands (registration, sign-in, profile,
    staff, verification): they all share its state and `evolve`."""
    return Decider(initial=Account, evolve=evolve, decide=decide)


def on_account(
    store: EventStore,
    decider: Decider[C, Account],
    command: C,
    account_id: str,
    identity: Identified,
    *,
    actor: str | None,
    purpose: str = "event",
    new_stream: bool = False,
) -> Decided[Account]:
    """Decide `command` on the account `account_id`, folded with its verification case (an
    officer's approval is part of its assurance level), and append what it decided to the
    account's stream. `purpose` tells apart the appends one command makes (a registration
    records the account, then Shahkar's answer, then an activation link)."""
    return handle(
        store,
        decider,
        command,
        account_stream(account_id),
        identity=identity,
        purpose=purpose,
        also=(case_stream(case_id(account_id)),),
        new_stream=new_stream,
        actor=actor,
    )


def load_account(store: EventStore, account_id: str) -> Account | None:
    """The account from its stream (and its verification case), or None: for answers, queries
    and the checks a command's service code makes before deciding."""
    # Both streams in one read: every session's request loads its account here (the principal),
    # and the case usually does not exist (read alone, that took a second query to be sure).
    account, case_of = account_stream(account_id), case_stream(case_id(account_id))
    streams = store.read_streams((account, case_of))
    recorded, case = streams[account], streams[case_of]
    if not recorded:
        return None
    state = Account()
    for item in [*recorded, *case]:
        state = evolve(state, registry.decode(item))
    return replace(state, account_id=account_id, version=recorded[-1].revision)


def existing_account(store: EventStore, account_id: str) -> Account:
    """`load_account` for a caller that needs the account: one never opened is refused
    (`account_not_found`)."""
    account = load_account(store, account_id)
    if account is None:
        raise DomainError("account_not_found")
    return account
