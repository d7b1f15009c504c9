"""The account holder's own page: profile, contact details, mobile, Shahkar and registry checks."""

from __future__ import annotations

import contextlib
from typing import Any

from contracts.errors import DomainError
from contracts.events import Event
from contracts.identity import MobileChanged, ProfileUpdated, RegistryVerified, required_level
from contracts.identity_rpc import ChangeMobile, CodeAnswer, RegistryCheck, UpdateProfile
from services.identity import queries, registration
from services.identity.accounts import Account, load_account, now_iso, record
from services.identity.deps import Deps
from services.identity.verification import status


def _account(deps: Deps, account_id: str) -> Account:
    account = load_account(deps.store, account_id)
    if account is None:
        raise DomainError("account_not_found")
    return account


def _append(deps: Deps, account: Account, event: Event) -> None:
    appended = record(deps.store, account, event, f"citizen:{account.account_id}")
    deps.settle(appended.position)


def profile(deps: Deps, account_id: str) -> dict[str, Any]:
    """Everything the holder may see about their account, with what their level allows."""
    account = _account(deps, account_id)
    view = account.view()
    view["verification"] = status(deps, account_id) if account.kind == "citizen" else None
    view["allowed"] = {
        action: account.level >= required_level(action) for action in ("submit_request", "formal_letter")
    }
    return view


def update(deps: Deps, command: UpdateProfile) -> dict[str, Any]:
    """Contact details; names only while no registry or officer has confirmed them."""
    account = _account(deps, command.account_id)
    names = command.first_name and command.last_name and account.level < 3
    event = ProfileUpdated(
        account_id=account.account_id,
        email=command.email or None,
        address=command.address or None,
        landline=command.landline or None,
        first_name=command.first_name if names else None,
        last_name=command.last_name if names else None,
        company=command.company.value() if command.company else None,
        at=now_iso(),
    )
    _append(deps, account, event)
    return profile(deps, account.account_id)


def start_mobile_change(deps: Deps, command: ChangeMobile) -> dict[str, Any]:
    """A code to the new mobile; the change happens when it comes back."""
    account = _account(deps, command.account_id)
    if queries.mobile_in_use(deps.db, command.mobile, account.account_id):
        raise DomainError("mobile_in_use")
    data = {"mobile": command.mobile}
    return registration.send_code(
        deps, "verify_mobile", command.mobile, account.account_id, command.client, data
    )


def finish_mobile_change(deps: Deps, command: CodeAnswer, account_id: str) -> dict[str, Any]:
    """Record the proven mobile, then ask Shahkar about it (best effort)."""
    row = registration.redeem(deps, command, "verify_mobile")
    if row["account_id"] != account_id:
        raise DomainError("bad_code")
    account = _account(deps, account_id)
    event = MobileChanged(
        account_id=account_id, mobile=row["data"]["mobile"], previous_mobile=account.mobile, at=now_iso()
    )
    _append(deps, account, event)
    with contextlib.suppress(DomainError):
        registration.check_shahkar(deps, account_id)
    return profile(deps, account_id)


def shahkar(deps: Deps, account_id: str) -> dict[str, Any]:
    """«تطبیق کد ملی و شماره موبایل» again (the retry path when Shahkar was away)."""
    if not registration.check_shahkar(deps, account_id):
        raise DomainError("shahkar_mismatch")
    return profile(deps, account_id)


def verify_registry(deps: Deps, command: RegistryCheck) -> dict[str, Any]:
    """«احراز هویت ثبت احوال» for an account registered by mobile."""
    registration.limit(deps, f"registry:client:{command.client}", deps.limits.codes_per_client)
    account = _account(deps, command.account_id)
    record = deps.registry.inquire(account.national_code, command.birth_date)
    if not record.alive:
        raise DomainError("deceased")
    _append(deps, account, RegistryVerified(account_id=account.account_id, registry=record, at=now_iso()))
    return profile(deps, account.account_id)
