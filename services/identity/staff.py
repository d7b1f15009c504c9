"""Staff accounts: the first administrator from the environment, then accounts and roles that an
administrator creates and grants (each an event naming the administrator)."""

from __future__ import annotations

import logging
import os
from typing import Any

from contracts.envelope import StreamState, WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import new_event
from contracts.identity import (
    AccountDisabled,
    AccountEnabled,
    PasswordSet,
    RoleGranted,
    RoleRevoked,
    StaffCreated,
)
from contracts.identity_rpc import AccountAccess, CreateStaff, Grant, Revoke
from contracts.persian import is_national_code, normalize_code, normalize_mobile
from services.identity import queries
from services.identity.accounts import Account, account_stream, load_account, now_iso, record, staff_id
from services.identity.deps import Deps
from services.identity.passwords import check_new_password, hash_password

log = logging.getLogger(__name__)


def _require_admin(deps: Deps, admin: str) -> None:
    account = load_account(deps.store, admin)
    if account is None or account.kind != "staff" or "admin" not in account.roles or account.disabled:
        raise DomainError("forbidden")


def _create(
    deps: Deps,
    national_code: str,
    full_name: str,
    mobile: str,
    password: str,
    by: str,
    roles: list[RoleGranted],
) -> str:
    account_id = staff_id(national_code)
    at = now_iso()
    created = StaffCreated(
        account_id=account_id,
        national_code=national_code,
        full_name=full_name,
        mobile=mobile,
        created_by=by,
        created_at=at,
    )
    reason = "bootstrap" if by == "bootstrap" else "admin"
    password_set = PasswordSet(
        account_id=account_id, password_hash=hash_password(password), reason=reason, at=at
    )
    events = [new_event(e, actor=f"staff:{by}") for e in (created, password_set, *roles)]
    try:
        appended = deps.store.append(account_stream(account_id), events, StreamState.NO_STREAM)
    except WrongExpectedVersion:
        raise DomainError("staff_exists") from None
    deps.settle(appended.position)
    return account_id


def bootstrap_admin(deps: Deps) -> str | None:
    """Create the first administrator from ADMIN_NATIONAL_CODE, ADMIN_PASSWORD and ADMIN_MOBILE,
    once: when the account exists already, nothing happens."""
    code = normalize_code(os.environ.get("ADMIN_NATIONAL_CODE", ""))
    mobile = normalize_mobile(os.environ.get("ADMIN_MOBILE", ""))
    password = os.environ.get("ADMIN_PASSWORD", "")
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
    grant = RoleGranted(account_id=account_id, role="admin", granted_by="bootstrap", at=now_iso())
    try:
        return _create(deps, code, "مدیر سامانه", mobile, password, "bootstrap", [grant])
    except DomainError:
        return account_id  # another instance made it first


def create(deps: Deps, command: CreateStaff) -> dict[str, Any]:
    """A new staff account (no role yet)."""
    _require_admin(deps, command.admin)
    check_new_password(command.password, command.national_code, command.mobile[1:])
    account_id = _create(
        deps, command.national_code, command.full_name, command.mobile, command.password, command.admin, []
    )
    return {"account_id": account_id}


def _staff_account(deps: Deps, admin: str, account_id: str) -> Account:
    _require_admin(deps, admin)
    account = load_account(deps.store, account_id)
    if account is None or account.kind != "staff":
        raise DomainError("account_not_found")
    return account


def _recorded(deps: Deps, account: Account, event: Any, admin: str) -> dict[str, Any]:
    appended = record(deps.store, account, event, f"staff:{admin}")
    deps.settle(appended.position)
    updated = load_account(deps.store, account.account_id)
    assert updated is not None
    return updated.view()


def grant(deps: Deps, command: Grant) -> dict[str, Any]:
    """Grant one role (granted again, it takes the new province or unit)."""
    account = _staff_account(deps, command.admin, command.account_id)
    event = RoleGranted(
        account_id=account.account_id,
        role=command.role,
        province=command.province if command.role in ("clerk", "desk_officer") else None,
        unit=command.unit if command.role == "representative" else None,
        granted_by=command.admin,
        at=now_iso(),
    )
    return _recorded(deps, account, event, command.admin)


def revoke(deps: Deps, command: Revoke) -> dict[str, Any]:
    """Take one role away; the holder's open sessions end at their next request. A role the
    account does not hold records nothing."""
    account = _staff_account(deps, command.admin, command.account_id)
    if command.role not in account.roles:
        return account.view()
    event = RoleRevoked(
        account_id=account.account_id, role=command.role, revoked_by=command.admin, at=now_iso()
    )
    return _recorded(deps, account, event, command.admin)


def set_access(deps: Deps, command: AccountAccess, disabled: bool) -> dict[str, Any]:
    """Disable an account (it cannot sign in; its open sessions end at their next request) or
    enable it again. Any account, a citizen's too; never the administrator's own. Asked for
    the state it is already in, nothing is recorded."""
    _require_admin(deps, command.admin)
    if disabled and command.account_id == command.admin:
        raise DomainError("own_account")
    account = load_account(deps.store, command.account_id)
    if account is None:
        raise DomainError("account_not_found")
    if account.disabled == disabled:
        return account.view()
    assert command.reason is not None  # AccountAccess requires one
    event: AccountDisabled | AccountEnabled
    if disabled:
        event = AccountDisabled(
            account_id=account.account_id, disabled_by=command.admin, reason=command.reason, at=now_iso()
        )
    else:
        event = AccountEnabled(
            account_id=account.account_id, enabled_by=command.admin, reason=command.reason, at=now_iso()
        )
    return _recorded(deps, account, event, command.admin)


def listing(deps: Deps) -> list[dict[str, Any]]:
    """Every staff account."""
    return queries.staff(deps.db)
