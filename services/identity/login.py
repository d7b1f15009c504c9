"""Signing in: password, one-time code (by national code or by mobile), staff with both; forgotten
and changed passwords. Every answer to a failure is the same whether or not the account exists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from contracts.errors import DomainError
from contracts.events import Event
from contracts.identity import LoginFailed, LoginSucceeded, PasswordSet
from contracts.identity_rpc import (
    ChangePassword,
    CodeAnswer,
    PasswordLogin,
    RequestLoginCode,
    RequestReset,
    ResetPassword,
    StaffLogin,
)
from infra.commands import Identified
from services.identity import captcha, codes, queries
from services.identity.accounts import (
    Account,
    account_decider,
    citizen_id,
    existing_account,
    load_account,
    now_iso,
    on_account,
    staff_id,
)
from services.identity.deps import Deps
from services.identity.email_activation import refuse_until_activated
from services.identity.passwords import check_new_password, hash_password, verify_password
from services.identity.registration import redeem, send_code

Method = Literal["password", "code", "mobile_code", "staff", "staff_code"]
Reason = Literal[
    "bad_password", "bad_code", "expired_code", "locked", "no_account", "captcha", "not_activated", "disabled"
]


def _fail(
    deps: Deps, identifier: str, account_id: str | None, method: Method, client: str, reason: Reason
) -> None:
    deps.audit(
        LoginFailed(
            identifier=identifier,
            account_id=account_id,
            method=method,
            client=client,
            reason=reason,
            at=now_iso(),
        )
    )


def _refuse_disabled(deps: Deps, account: Account, identifier: str, method: Method, client: str) -> None:
    """A disabled account proved its credentials but does not sign in (said only after the proof,
    so that nobody learns an account is disabled without its password)."""
    if account.disabled:
        _fail(deps, identifier, account.account_id, method, client, "disabled")
        raise DomainError("account_disabled")


def _succeed(
    deps: Deps,
    account: Account,
    identifier: str,
    method: Literal["password", "code", "mobile_code", "staff"],
    command: Identified,
    client: str,
) -> dict[str, Any]:
    _refuse_disabled(deps, account, identifier, method, client)
    try:
        refuse_until_activated(deps, account, command)
    except DomainError:
        _fail(deps, identifier, account.account_id, method, client, "not_activated")
        raise
    deps.audit(
        LoginSucceeded(account_id=account.account_id, method=method, client=client, at=now_iso()),
        actor=f"{account.kind}:{account.account_id}",
    )
    return account.principal()


def guard(deps: Deps, identifier: str, method: Method, client: str, captcha_ok: bool) -> None:
    """Lock-out per identifier; a captcha after a few failures of the identifier or of the
    client's address. An address is never locked out: a پیشخوان office or a carrier's NAT puts
    many citizens behind it (past `failures_per_client` its captcha only gets longer)."""
    now, limits = deps.clock(), deps.limits
    by_id = codes.count(deps.db, now, f"fail:id:{identifier}", limits)
    by_client = codes.count(deps.db, now, f"fail:client:{client}", limits)
    if by_id >= limits.failures_per_account:
        _fail(deps, identifier, None, method, client, "locked")
        raise DomainError("locked")
    if max(by_id, by_client) >= limits.captcha_after and not captcha_ok:
        _fail(deps, identifier, None, method, client, "captcha")
        raise DomainError("captcha_required")


def _check_password(
    deps: Deps, account: Account | None, identifier: str, password: str, method: Method, client: str
) -> Account:
    if account is None or not verify_password(account.password_hash if account else None, password):
        codes.record(deps.db, deps.clock(), f"fail:id:{identifier}", f"fail:client:{client}")
        _fail(deps, identifier, account.account_id if account else None, method, client, "bad_password")
        raise DomainError("bad_credentials")
    codes.clear(deps.db, f"fail:id:{identifier}")
    return account


def login_password(deps: Deps, command: PasswordLogin) -> dict[str, Any]:
    """Login by national code and password."""
    solved = captcha.solved(deps, command.captcha)
    guard(deps, command.national_code, "password", command.client, solved)
    account = load_account(deps.store, citizen_id(command.national_code))
    account = _check_password(
        deps, account, command.national_code, command.password, "password", command.client
    )
    return _succeed(deps, account, command.national_code, "password", command, command.client)


def request_login_code(deps: Deps, command: RequestLoginCode) -> dict[str, Any]:
    """Send a login code to the account's mobile (a decoy ticket when there is no account)."""
    solved = captcha.solved(deps, command.captcha)
    if command.mobile is not None:
        if not solved:
            raise DomainError("captcha_required")
        account_id = queries.account_by_mobile(deps.db, command.mobile)
    else:
        assert command.national_code is not None
        account_id = citizen_id(command.national_code)
    account = load_account(deps.store, account_id) if account_id else None
    identifier = command.mobile or command.national_code or ""
    guard(deps, identifier, "code", command.client, True)
    mobile = account.mobile if account else None
    data = {"identifier": identifier, "method": "mobile_code" if command.mobile else "code"}
    account_id = account.account_id if account else None
    return send_code(deps, "login", mobile, account_id, command.client, data, captcha_ok=solved)


def login_with_code(deps: Deps, command: CodeAnswer) -> dict[str, Any]:
    """The code from a login ticket signs the account in."""
    info = codes.ticket_info(deps.db, command.ticket) or {"data": {}}
    identifier = info["data"].get("identifier", "?")
    method = info["data"].get("method", "code")
    try:
        row = redeem(deps, command, "login")
    except DomainError as error:
        codes.record(deps.db, deps.clock(), f"fail:id:{identifier}")
        _fail(
            deps,
            identifier,
            info.get("account_id"),
            method,
            command.client,
            "locked" if error.code == "locked" else "bad_code",
        )
        raise
    account = load_account(deps.store, row["account_id"])
    assert account is not None
    codes.clear(deps.db, f"fail:id:{identifier}")
    return _succeed(deps, account, identifier, method, command, command.client)


def request_reset(deps: Deps, command: RequestReset) -> dict[str, Any]:
    """Forgotten password: a code to the account's mobile when national code and mobile match."""
    solved = captcha.solved(deps, command.captcha)
    guard(deps, command.national_code, "code", command.client, solved)
    account = load_account(deps.store, citizen_id(command.national_code))
    real = account is not None and account.mobile == command.mobile
    return send_code(
        deps,
        "reset_password",
        command.mobile if real else None,
        account.account_id if real and account else None,
        command.client,
        {"identifier": command.national_code},
        captcha_ok=solved,
    )


@dataclass(frozen=True)
class SetPassword:
    """A new password for the account, already checked and hashed."""

    password_hash: str
    reason: Literal["change", "reset"]
    at: str


def decide_password(command: SetPassword, state: Account) -> list[Event]:
    """The new password replaces the old one (and ends every open session: a new stamp)."""
    state.check_exists()
    return [
        PasswordSet(
            account_id=state.account_id,
            password_hash=command.password_hash,
            reason=command.reason,
            at=command.at,
        )
    ]


SET_PASSWORD = account_decider(decide_password)


def _set_password(
    deps: Deps, account: Account, password: str, reason: Literal["change", "reset"], identity: Identified
) -> None:
    check_new_password(password, account.national_code, account.mobile[1:])
    command = SetPassword(password_hash=hash_password(password), reason=reason, at=now_iso())
    actor = f"{account.kind}:{account.account_id}"
    on_account(deps.store, SET_PASSWORD, command, account.account_id, identity, actor=actor)


def reset_password(deps: Deps, command: ResetPassword) -> dict[str, Any]:
    """A new password, proven by the reset code."""
    info = codes.ticket_info(deps.db, command.ticket)
    if info and info["account_id"]:
        probe = load_account(deps.store, info["account_id"])
        if probe:
            check_new_password(command.new_password, probe.national_code, probe.mobile[1:])
    row = redeem(deps, command, "reset_password")
    account = load_account(deps.store, row["account_id"])
    assert account is not None
    _set_password(deps, account, command.new_password, "reset", command)
    codes.clear(deps.db, f"fail:id:{account.national_code}")
    return {"changed": True}


def change_password(deps: Deps, command: ChangePassword) -> dict[str, Any]:
    """The signed-in holder changes their password (the current one is checked and counted)."""
    account = existing_account(deps.store, command.account_id)
    guard(deps, account.national_code, "password", command.client, True)
    _check_password(
        deps, account, account.national_code, command.current_password, "password", command.client
    )
    _set_password(deps, account, command.new_password, "change", command)
    return {"changed": True}


def staff_login_start(deps: Deps, command: StaffLogin) -> dict[str, Any]:
    """Staff, first factor: password; the second, a code to the staff member's mobile."""
    identifier = f"staff:{command.national_code}"
    solved = captcha.solved(deps, command.captcha)
    guard(deps, identifier, "staff", command.client, solved)
    account = load_account(deps.store, staff_id(command.national_code))
    account = _check_password(deps, account, identifier, command.password, "staff", command.client)
    _refuse_disabled(deps, account, identifier, "staff", command.client)
    return send_code(
        deps,
        "staff_login",
        account.mobile,
        account.account_id,
        command.client,
        {"identifier": identifier, "method": "staff"},
        captcha_ok=solved,
    )


def staff_login_finish(deps: Deps, command: CodeAnswer) -> dict[str, Any]:
    """Staff, second factor."""
    info = codes.ticket_info(deps.db, command.ticket) or {"data": {}}
    identifier = info["data"].get("identifier", "?")
    try:
        row = redeem(deps, command, "staff_login")
    except DomainError:
        codes.record(deps.db, deps.clock(), f"fail:id:{identifier}")
        _fail(deps, identifier, info.get("account_id"), "staff_code", command.client, "bad_code")
        raise
    account = load_account(deps.store, row["account_id"])
    assert account is not None
    return _succeed(deps, account, identifier, "staff", command, command.client)
