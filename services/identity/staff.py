"""Staff accounts: the first administrator from the environment, then accounts and roles that an
administrator creates and grants (each an event naming the administrator)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from contracts.errors import DomainError
from contracts.events import Event
from contracts.eventstore import EventStore
from contracts.identity import (
    AccountDisabled,
    AccountEnabled,
    PasswordSet,
    RoleGranted,
    RoleRevoked,
    StaffCreated,
)
from contracts.identity_rpc import AccountAccess, CreateStaff, Grant, Revoke, RoleScope
from contracts.persian import is_national_code, normalize_code, normalize_mobile
from contracts.rpc import Payload
from infra.commands import Identified
from infra.decider import Decider
from infra.references import defined_unit_name
from infra.settings import IdentitySettings
from services.identity import queries
from services.identity.accounts import Account, account_decider, load_account, now_iso, on_account, staff_id
from services.identity.deps import Deps
from services.identity.passwords import check_new_password, hash_password

log = logging.getLogger(__name__)


def require_admin(admin: Account | None) -> None:
    """Only an enabled administrator's staff account manages accounts (`forbidden` otherwise)."""
    if admin is None or admin.kind != "staff" or "admin" not in admin.roles or admin.disabled:
        raise DomainError("forbidden")


@dataclass(frozen=True)
class OpenStaff:
    """A staff account to open, by an administrator (`by`, and `admin`: their account as it is
    now) or by the `bootstrap`, which opens the first administrator with its role."""

    national_code: str
    full_name: str
    mobile: str
    password_hash: str
    by: str
    admin: Account | None
    at: str
    bootstrap: bool = False
    first_role: RoleScope | None = None
    """The role the account opens with (none: granted later)."""


def granted(account_id: str, scope: RoleScope, by: str, at: str) -> RoleGranted:
    """The grant of `scope.role`, with the province or unit that role takes (and no other)."""
    role = scope.role
    assert role is not None
    province = scope.province if role in ("clerk", "desk_officer") else None
    unit = scope.unit if role == "representative" else None
    return RoleGranted(account_id=account_id, role=role, province=province, unit=unit, granted_by=by, at=at)


def decide_open(command: OpenStaff, state: Account) -> list[Event]:
    """One staff account per national code; with its first role, in the same append."""
    bootstrap = command.bootstrap
    if not bootstrap:
        require_admin(command.admin)
    if state.exists:
        raise DomainError("staff_exists")
    account_id = staff_id(command.national_code)
    events: list[Event] = [
        StaffCreated(
            account_id=account_id,
            national_code=command.national_code,
            full_name=command.full_name,
            mobile=command.mobile,
            created_by=command.by,
            created_at=command.at,
        ),
        PasswordSet(
            account_id=account_id,
            password_hash=command.password_hash,
            reason="bootstrap" if bootstrap else "admin",
            at=command.at,
        ),
    ]
    if bootstrap:
        events.append(RoleGranted(account_id=account_id, role="admin", granted_by="bootstrap", at=command.at))
    elif command.first_role is not None and command.first_role.role is not None:
        events.append(granted(account_id, command.first_role, command.by, command.at))
    return events


OPEN = account_decider(decide_open)


def _open(deps: Deps, command: OpenStaff, identity: Identified) -> str:
    account_id = staff_id(command.national_code)
    actor = f"staff:{command.by}"
    deps.settled(on_account(deps.store, OPEN, command, account_id, identity, actor=actor, new_stream=True))
    return account_id


def bootstrap_admin(deps: Deps) -> str | None:
    """Create the first administrator from ADMIN_NATIONAL_CODE, ADMIN_PASSWORD and ADMIN_MOBILE,
    once: when the account exists already, nothing happens."""
    settings = IdentitySettings.load()
    code = normalize_code(settings.ADMIN_NATIONAL_CODE)
    mobile = normalize_mobile(settings.ADMIN_MOBILE)
    password = settings.ADMIN_PASSWORD.get_secret_value()
    if not (code and password and mobile and is_national_code(code)):
        if code or password:
            log.error(
                "ADMIN_NATIONAL_CODE/ADMIN_PASSWORD/ADMIN_MOBILE incomplete or invalid: no administrator made"
            )
        return None
    account_id = staff_id(code)
    if load_account(deps.store, account_id) is not None:
        return account_id
    try:
        check_new_password(password, code, mobile[1:])
    except DomainError:
        log.error("ADMIN_PASSWORD is too weak (8+ characters, not common, not the national code)")
        return None
    first = OpenStaff(
        code, "مدیر سامانه", mobile, hash_password(password), "bootstrap", None, now_iso(), bootstrap=True
    )
    try:
        return _open(deps, first, Payload())
    except DomainError:
        return account_id  # another instance made it first


def check_scope(store: EventStore, scope: RoleScope) -> None:
    """A representative's unit is one the catalogue's stream defines (`unknown_unit`), read
    before the decision as everything else it needs: the rules stay pure."""
    if scope.role == "representative" and scope.unit:
        defined_unit_name(store, scope.unit)


def create(deps: Deps, command: CreateStaff) -> dict[str, Any]:
    """A new staff account, with no role or with its first one."""
    admin = load_account(deps.store, command.admin)
    require_admin(admin)  # before the password is hashed; the decision checks it again
    check_scope(deps.store, command)
    check_new_password(command.password, command.national_code, command.mobile[1:])
    opened = OpenStaff(
        national_code=command.national_code,
        full_name=command.full_name,
        mobile=command.mobile,
        password_hash=hash_password(command.password),
        by=command.admin,
        admin=admin,
        at=now_iso(),
        first_role=command if command.role else None,
    )
    return {"account_id": _open(deps, opened, command)}


def _staff(state: Account) -> None:
    if not state.exists or state.kind != "staff":
        raise DomainError("account_not_found")


@dataclass(frozen=True)
class GrantRole:
    """An administrator's grant (`admin`: their account as it is now), and when."""

    form: Grant
    admin: Account | None
    at: str


def decide_grant(command: GrantRole, state: Account) -> list[Event]:
    """A staff member gets the role (granted again, it takes the new province or unit)."""
    require_admin(command.admin)
    _staff(state)
    return [granted(state.account_id, command.form, command.form.admin, command.at)]


GRANT = account_decider(decide_grant)


@dataclass(frozen=True)
class RevokeRole:
    """An administrator's revocation (`admin`: their account as it is now), and when."""

    form: Revoke
    admin: Account | None
    at: str


def decide_revoke(command: RevokeRole, state: Account) -> list[Event]:
    """The role goes (and the holder's sessions with it); one not held records nothing."""
    require_admin(command.admin)
    _staff(state)
    if command.form.role not in state.roles:
        return []
    return [
        RoleRevoked(
            account_id=state.account_id, role=command.form.role, revoked_by=command.form.admin, at=command.at
        )
    ]


REVOKE = account_decider(decide_revoke)


@dataclass(frozen=True)
class SetAccess:
    """An administrator disables (`disabled`) or enables an account, saying why."""

    form: AccountAccess
    disabled: bool
    admin: Account | None
    at: str


def decide_access(command: SetAccess, state: Account) -> list[Event]:
    """Any account, a citizen's too; never the administrator's own. Asked for the state it is
    already in, nothing is recorded."""
    require_admin(command.admin)
    form = command.form
    if command.disabled and form.account_id == form.admin:
        raise DomainError("own_account")
    state.check_exists()
    if state.disabled == command.disabled:
        return []
    assert form.reason is not None  # AccountAccess requires one
    if command.disabled:
        return [
            AccountDisabled(
                account_id=state.account_id, disabled_by=form.admin, reason=form.reason, at=command.at
            )
        ]
    return [
        AccountEnabled(account_id=state.account_id, enabled_by=form.admin, reason=form.reason, at=command.at)
    ]


ACCESS = account_decider(decide_access)


def _decided(
    deps: Deps, decider: Decider[Any, Account], command: Any, form: Grant | Revoke | AccountAccess
) -> dict[str, Any]:
    decided = on_account(deps.store, decider, command, form.account_id, form, actor=f"staff:{form.admin}")
    deps.settled(decided)
    return decided.state.view()


def grant(deps: Deps, command: Grant) -> dict[str, Any]:
    """Grant one role (granted again, it takes the new province or unit); a representative's
    unit must be defined (`unknown_unit`, nothing recorded)."""
    check_scope(deps.store, command)
    admin = load_account(deps.store, command.admin)
    return _decided(deps, GRANT, GrantRole(command, admin, now_iso()), command)


def revoke(deps: Deps, command: Revoke) -> dict[str, Any]:
    """Take one role away; the holder's open sessions end at their next request. A role the
    account does not hold records nothing."""
    admin = load_account(deps.store, command.admin)
    return _decided(deps, REVOKE, RevokeRole(command, admin, now_iso()), command)


def set_access(deps: Deps, command: AccountAccess, disabled: bool) -> dict[str, Any]:
    """Disable an account (it cannot sign in; its open sessions end at their next request) or
    enable it again."""
    admin = load_account(deps.store, command.admin)
    return _decided(deps, ACCESS, SetAccess(command, disabled, admin, now_iso()), command)


def listing(deps: Deps) -> list[dict[str, Any]]:
    """Every staff account."""
    return queries.staff(deps.db)
