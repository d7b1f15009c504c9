"""The account holder's own page: profile, contact details, mobile, Shahkar and registry checks."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from contracts.errors import DomainError
from contracts.events import Event
from contracts.identity import MobileChanged, ProfileUpdated, RegistryRecord, RegistryVerified
from contracts.identity_rpc import ChangeMobile, CodeAnswer, RegistryCheck, UpdateProfile
from contracts.rpc import Payload
from services.identity import queries, registration
from services.identity.accounts import Account, account_decider, existing_account, now_iso, on_account
from services.identity.deps import Deps
from services.identity.verification import status


def profile(deps: Deps, account_id: str) -> dict[str, Any]:
    """Everything the holder may see about their account. What their level allows is each
    service card's to say (`contracts.identity.may_file`), not identity's: the page asks the
    catalogue, as the requests service does when a request is filed."""
    account = existing_account(deps.store, account_id)
    view = account.view()
    view["verification"] = status(deps, account_id) if account.kind == "citizen" else None
    return view


@dataclass(frozen=True)
class EditProfile:
    """The holder's edit of their contact details (and names), and when."""

    form: UpdateProfile
    at: str


def decide_edit(command: EditProfile, state: Account) -> list[Event]:
    """Contact details always; names only while no registry or officer has confirmed them."""
    state.check_exists()
    form = command.form
    names = form.first_name and form.last_name and state.level < 3
    return [
        ProfileUpdated(
            account_id=state.account_id,
            email=form.email or None,
            address=form.address or None,
            landline=form.landline or None,
            first_name=form.first_name if names else None,
            last_name=form.last_name if names else None,
            company=form.company.value() if form.company else None,
            at=command.at,
        )
    ]


EDIT = account_decider(decide_edit)


def update(deps: Deps, command: UpdateProfile) -> dict[str, Any]:
    """Contact details; names only while no registry or officer has confirmed them."""
    edit = EditProfile(command, now_iso())
    actor = f"citizen:{command.account_id}"
    deps.settled(on_account(deps.store, EDIT, edit, command.account_id, command, actor=actor))
    return profile(deps, command.account_id)


def start_mobile_change(deps: Deps, command: ChangeMobile) -> dict[str, Any]:
    """A code to the new mobile; the change happens when it comes back."""
    account = existing_account(deps.store, command.account_id)
    if queries.mobile_in_use(deps.db, command.mobile, account.account_id):
        raise DomainError("mobile_in_use")
    data = {"mobile": command.mobile}
    return registration.send_code(
        deps, "verify_mobile", command.mobile, account.account_id, command.client, data
    )


@dataclass(frozen=True)
class ChangeMobileTo:
    """The mobile the holder proved with the code sent to it."""

    mobile: str
    at: str


def decide_mobile(command: ChangeMobileTo, state: Account) -> list[Event]:
    """The proven mobile replaces the account's (whose Shahkar match no longer holds)."""
    state.check_exists()
    return [
        MobileChanged(
            account_id=state.account_id, mobile=command.mobile, previous_mobile=state.mobile, at=command.at
        )
    ]


CHANGE_MOBILE = account_decider(decide_mobile)


def finish_mobile_change(deps: Deps, command: CodeAnswer, account_id: str) -> dict[str, Any]:
    """Record the proven mobile, then ask Shahkar about it (best effort)."""
    row = registration.redeem(deps, command, "verify_mobile")
    if row["account_id"] != account_id:
        raise DomainError("bad_code")
    change = ChangeMobileTo(mobile=row["data"]["mobile"], at=now_iso())
    actor = f"citizen:{account_id}"
    deps.settled(on_account(deps.store, CHANGE_MOBILE, change, account_id, command, actor=actor))
    with contextlib.suppress(DomainError):
        registration.check_shahkar(deps, account_id, command)
    return profile(deps, account_id)


def shahkar(deps: Deps, account_id: str) -> dict[str, Any]:
    """«تطبیق کد ملی و شماره موبایل» again (the retry path when Shahkar was away)."""
    checked = registration.check_shahkar(deps, account_id, Payload())
    if not checked.state.shahkar_mobile:
        raise DomainError("shahkar_mismatch")
    return profile(deps, account_id)


@dataclass(frozen=True)
class RegistryAnswer:
    """What the civil registry answered about the holder's national code and birth date."""

    record: RegistryRecord
    at: str


def decide_registry(command: RegistryAnswer, state: Account) -> list[Event]:
    """The registry confirms a living person: level 3, with the registry's names."""
    state.check_exists()
    if not command.record.alive:
        raise DomainError("deceased")
    return [RegistryVerified(account_id=state.account_id, registry=command.record, at=command.at)]


VERIFY_REGISTRY = account_decider(decide_registry)


def verify_registry(deps: Deps, command: RegistryCheck) -> dict[str, Any]:
    """«احراز هویت ثبت احوال» for an account registered by mobile."""
    registration.limit(deps, f"registry:client:{command.client}", deps.limits.codes_per_client)
    account = existing_account(deps.store, command.account_id)
    answer = RegistryAnswer(deps.registry.inquire(account.national_code, command.birth_date), now_iso())
    actor = f"citizen:{account.account_id}"
    deps.settled(on_account(deps.store, VERIFY_REGISTRY, answer, account.account_id, command, actor=actor))
    return profile(deps, account.account_id)
