"""Registration: by civil-registry inquiry (seed 000) or by mobile code and Shahkar (seed 001)."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from contracts.errors import DomainError
from contracts.events import Event
from contracts.identity import (
    CitizenRegistered,
    Company,
    PasswordSet,
    RegistryRecord,
    ShahkarChecked,
)
from contracts.identity_rpc import CodeAnswer, RegistryInquiry, StartRegistration
from infra.commands import Identified
from infra.decider import Decided
from infra.settings import CommonSettings
from services.identity import captcha, codes, email_activation
from services.identity.accounts import (
    Account,
    account_decider,
    citizen_id,
    existing_account,
    now_iso,
    on_account,
)
from services.identity.deps import Deps
from services.identity.passwords import check_new_password, hash_password


def limit(deps: Deps, key: str, most: int) -> None:
    """Count one use of `key` (a mobile's); `too_many_requests` beyond `most` within the window.
    A client address's counters ask for a captcha instead (`captcha.address_limit`)."""
    now = deps.clock()
    if codes.count(deps.db, now, key, deps.limits) >= most:
        raise DomainError("too_many_requests")
    codes.record(deps.db, now, key)


def inquire(deps: Deps, command: RegistryInquiry) -> dict[str, Any]:
    """«استعلام»: the registry's record and when it answered (seed 000's «تاریخ استعلام»); a
    deceased person is refused here already."""
    solved = captcha.solved(deps, command.captcha)
    captcha.address_limit(deps, f"registry:client:{command.client}", deps.limits.codes_per_client, solved)
    record = deps.registry.inquire(command.national_code, command.birth_date)
    if not record.alive:
        raise DomainError("deceased")
    return {**record.model_dump(), "inquired_at": now_iso()}


def send_code(
    deps: Deps,
    purpose: str,
    mobile: str | None,
    account_id: str | None,
    client: str,
    data: dict[str, Any],
    captcha_ok: bool | None = False,
) -> dict[str, Any]:
    """Issue a code and hand it to the SMS channel: a mobile gets at most `codes_per_mobile`
    codes a window; past `codes_per_client` requests, an address must solve a captcha
    (`captcha_ok`; None for a resend, which the mobile's limit alone bounds)."""
    if mobile:
        limit(deps, f"code:mobile:{mobile}", deps.limits.codes_per_mobile)
    if captcha_ok is not None:
        captcha.address_limit(deps, f"code:client:{client}", deps.limits.codes_per_client, captcha_ok)
    issued = codes.issue(deps.db, deps.clock(), purpose, mobile, account_id, data, deps.limits)
    sent = True  # a decoy ticket "sends" too: the answer must not tell whether an account exists
    if mobile:
        sent = deps.sms.send(mobile, issued.code, purpose, uuid.uuid4().hex)
    return {"ticket": issued.ticket, "sms_sent": sent, "mobile": _masked(mobile)}


def _masked(mobile: str | None) -> str | None:
    return f"{mobile[:4]}***{mobile[-4:]}" if mobile else None


def resend(deps: Deps, ticket: str, client: str) -> dict[str, Any]:
    """A fresh code for the same pending step (the old ticket is spent)."""
    info = codes.ticket_info(deps.db, ticket)
    if info is None or info["used"]:
        raise DomainError("bad_code")
    codes.spend(deps.db, ticket)
    return send_code(deps, info["purpose"], info["mobile"], info["account_id"], client, info["data"], None)


def start(deps: Deps, command: StartRegistration) -> dict[str, Any]:
    """Check everything that can be checked before the code, then send the code."""
    solved = captcha.solved(deps, command.captcha)
    check_new_password(command.password, command.national_code, command.mobile[1:])
    if CommonSettings.load().email_activation_required() and not command.email:
        raise DomainError("email_required")
    record: RegistryRecord | None = None
    first, last = command.first_name or "", command.last_name or ""
    if command.method == "registry":
        key = f"registry:client:{command.client}"
        captcha.address_limit(deps, key, deps.limits.codes_per_client, solved)
        record = deps.registry.inquire(command.national_code, command.birth_date)
        if not record.alive:
            raise DomainError("deceased")
        first, last = record.first_name, record.last_name
    data = {
        "method": command.method,
        "national_code": command.national_code,
        "birth_date": command.birth_date,
        "mobile": command.mobile,
        "first_name": first,
        "last_name": last,
        "kind": command.kind,
        "company": command.company.value().model_dump() if command.company else None,
        "registry": record.model_dump() if record else None,
        "password_hash": hash_password(command.password),
        "email": command.email,
    }
    return send_code(deps, "register", command.mobile, None, command.client, data, solved)


@dataclass(frozen=True)
class Register:
    """Open a citizen's account with what the redeemed registration code carried (the
    registry's record, the password's hash: all looked up and computed before the code went out)."""

    national_code: str
    mobile: str
    kind: Literal["natural", "legal"]
    first_name: str
    last_name: str
    birth_date: str
    method: Literal["registry", "mobile"]
    registry: RegistryRecord | None
    company: Company | None
    password_hash: str
    at: str


def decide_register(command: Register, state: Account) -> list[Event]:
    """One account per national code: a second registration is refused."""
    if state.exists:
        raise DomainError("already_registered")
    account_id = citizen_id(command.national_code)
    return [
        CitizenRegistered(
            account_id=account_id,
            national_code=command.national_code,
            mobile=command.mobile,
            kind=command.kind,
            full_name=f"{command.first_name} {command.last_name}",
            first_name=command.first_name,
            last_name=command.last_name,
            birth_date=command.birth_date,
            method=command.method,
            registry=command.registry,
            company=command.company,
            registered_at=command.at,
        ),
        PasswordSet(
            account_id=account_id, password_hash=command.password_hash, reason="register", at=command.at
        ),
    ]


REGISTER = account_decider(decide_register)


@dataclass(frozen=True)
class ShahkarAnswer:
    """What Shahkar answered about the account's mobile."""

    mobile: str
    matched: bool
    at: str


def decide_shahkar(command: ShahkarAnswer, state: Account) -> list[Event]:
    """Shahkar's answer is recorded as it came (a match raises the account to level 2)."""
    state.check_exists()
    return [
        ShahkarChecked(
            account_id=state.account_id, mobile=command.mobile, matched=command.matched, at=command.at
        )
    ]


SHAHKAR = account_decider(decide_shahkar)


def _registration(data: dict[str, Any], at: str) -> Register:
    return Register(
        national_code=data["national_code"],
        mobile=data["mobile"],
        kind=data["kind"],
        first_name=data["first_name"],
        last_name=data["last_name"],
        birth_date=data["birth_date"],
        method=data["method"],
        registry=RegistryRecord(**data["registry"]) if data["registry"] else None,
        company=Company(**data["company"]) if data["company"] else None,
        password_hash=data["password_hash"],
        at=at,
    )


def complete(deps: Deps, command: CodeAnswer) -> dict[str, Any]:
    """The code proves the mobile: open the account (and ask Shahkar for the mobile way)."""
    row = redeem(deps, command, "register")
    data = row["data"]
    account_id = citizen_id(data["national_code"])
    actor = f"citizen:{account_id}"
    decided = on_account(
        deps.store,
        REGISTER,
        _registration(data, now_iso()),
        account_id,
        command,
        actor=actor,
        new_stream=True,
    )
    deps.settled(decided)
    account = decided.state
    if data["method"] == "mobile":
        # When Shahkar is away the account stays at level 1; the profile offers to try again.
        with contextlib.suppress(DomainError):
            account = check_shahkar(deps, account_id, command).state
    email = data.get("email")
    if email and CommonSettings.load().email_activation_required():
        sent = email_activation.issue(deps, account, email, command)
        return {"activation_pending": True, "email": email_activation.masked(email), "email_sent": sent}
    return account.principal()


def redeem(deps: Deps, command: CodeAnswer, purpose: str) -> dict[str, Any]:
    """Spend a code, counting a wrong one against the client's address (whose password logins
    then ask for a captcha). A code's guesses are bounded by its ticket, which burns after
    `max_code_tries`, and by its mobile's `codes_per_mobile`, not by the address."""
    now = deps.clock()
    try:
        return codes.redeem(deps.db, now, command.ticket, command.code, purpose, deps.limits)
    except DomainError:
        codes.record(deps.db, now, f"fail:client:{command.client}")
        raise


def check_shahkar(deps: Deps, account_id: str, identity: Identified) -> Decided[Account]:
    """Ask Shahkar whether the account's mobile is its holder's; record the answer."""
    account = existing_account(deps.store, account_id)
    matched = deps.shahkar.matches(account.national_code, account.mobile)
    answer = ShahkarAnswer(mobile=account.mobile, matched=matched, at=now_iso())
    return on_account(deps.store, SHAHKAR, answer, account_id, identity, actor=None, purpose="shahkar")
