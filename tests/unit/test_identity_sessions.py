"""What ends a session, decided by identity: the security stamp moves with a revoked role, a
disabled or enabled account and a new password (not with a granted role); a disabled account
cannot sign in; revoking names the role alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.errors import DomainError
from contracts.identity import LoginFailed
from contracts.identity_rpc import (
    AccountAccess,
    ChangePassword,
    CreateStaff,
    Grant,
    PasswordLogin,
    Revoke,
    StaffLogin,
)
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.identity import login, queries, staff
from services.identity.principal import current
from services.identity.projections import Access, Accounts
from tests.unit.test_identity_commands import PASSWORD, World, build_world, register_by_mobile
from tests.units import define_units

CLERK_PASSWORD = "Clerk-Tehran-1403"


@pytest.fixture
def world(store: SqlEventStore, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("ADMIN_NATIONAL_CODE", "0045678901")
    monkeypatch.setenv("ADMIN_PASSWORD", "Admin-Secret-2025")
    monkeypatch.setenv("ADMIN_MOBILE", "09131234567")
    return build_world(store, db, tmp_path)


def _admin_and_clerk(world: World) -> tuple[str, str]:
    admin = staff.bootstrap_admin(world.deps)
    assert admin is not None
    made = staff.create(
        world.deps,
        CreateStaff(
            admin=admin,
            national_code="0056789017",
            full_name="سارا حسینی",
            mobile="09351234567",
            password=CLERK_PASSWORD,
        ),
    )
    clerk = str(made["account_id"])
    staff.grant(world.deps, Grant(admin=admin, account_id=clerk, role="clerk", province="tehran"))
    return admin, clerk


def _audit(world: World) -> list[LoginFailed]:
    streams = {r.stream for r in world.deps.store.read_all(0)}
    return [e for s in streams if s.startswith("identity-audit-") for e in world.events(s)]


def test_a_revoked_role_moves_the_stamp_and_a_granted_one_does_not(world: World) -> None:
    admin, clerk = _admin_and_clerk(world)
    signed = current(world.deps, clerk)
    assert signed is not None
    assert (signed["roles"], signed["scopes"]["clerk"]["province"], signed["disabled"]) == (
        ["clerk"],
        "tehran",
        False,
    )
    define_units(world.deps.store)  # a representative's unit is one the catalogue defines
    staff.grant(world.deps, Grant(admin=admin, account_id=clerk, role="representative", unit="permits"))
    granted = current(world.deps, clerk)
    assert granted is not None and granted["stamp"] == signed["stamp"]
    assert granted["roles"] == ["clerk", "representative"]
    # The staff page's «لغو» sends the role alone: no province for a clerk, no unit for a representative.
    staff.revoke(world.deps, Revoke(admin=admin, account_id=clerk, role="clerk"))
    staff.revoke(world.deps, Revoke(admin=admin, account_id=clerk, role="representative"))
    revoked = current(world.deps, clerk)
    assert revoked is not None and revoked["roles"] == [] and revoked["stamp"] == signed["stamp"] + 2
    again = staff.revoke(world.deps, Revoke(admin=admin, account_id=clerk, role="clerk"))
    assert again["stamp"] == revoked["stamp"]  # a role not held: nothing recorded
    assert current(world.deps, "no-such-account") is None


def test_a_disabled_account_cannot_sign_in_until_enabled_again(world: World) -> None:
    admin, clerk = _admin_and_clerk(world)
    before = current(world.deps, clerk)
    assert before is not None
    staff.set_access(
        world.deps, AccountAccess(admin=admin, account_id=clerk, reason="پایان همکاری"), disabled=True
    )
    after = current(world.deps, clerk)
    assert after is not None and after["disabled"] and after["stamp"] == before["stamp"] + 1
    sent = len(world.sms.sent)
    with pytest.raises(DomainError) as refused:
        login.staff_login_start(
            world.deps, StaffLogin(national_code="0056789017", password=CLERK_PASSWORD, client="c")
        )
    assert refused.value.code == "account_disabled"
    assert len(world.sms.sent) == sent  # no code goes out to a disabled account
    assert [(e.reason, e.account_id) for e in _audit(world) if isinstance(e, LoginFailed)][-1] == (
        "disabled",
        clerk,
    )
    with pytest.raises(DomainError) as wrong_password:  # said only to whoever knows the password
        login.staff_login_start(
            world.deps, StaffLogin(national_code="0056789017", password="Not-The-One-77", client="c")
        )
    assert wrong_password.value.code == "bad_credentials"
    staff.set_access(
        world.deps, AccountAccess(admin=admin, account_id=clerk, reason="بازگشت به کار"), disabled=False
    )
    enabled = current(world.deps, clerk)
    assert enabled is not None and not enabled["disabled"] and enabled["stamp"] == after["stamp"] + 1
    login.staff_login_start(
        world.deps, StaffLogin(national_code="0056789017", password=CLERK_PASSWORD, client="c")
    )


def test_only_an_administrator_disables_with_a_reason_and_never_their_own_account(world: World) -> None:
    admin, clerk = _admin_and_clerk(world)
    with pytest.raises(ValueError, match="reason_required"):
        AccountAccess(admin=admin, account_id=clerk, reason="  ")
    with pytest.raises(DomainError) as own:
        staff.set_access(world.deps, AccountAccess(admin=admin, account_id=admin, reason="x"), disabled=True)
    assert own.value.code == "own_account"
    with pytest.raises(DomainError) as not_admin:
        staff.set_access(world.deps, AccountAccess(admin=clerk, account_id=admin, reason="x"), disabled=True)
    assert not_admin.value.code == "forbidden"
    with pytest.raises(DomainError) as unknown:
        staff.set_access(
            world.deps, AccountAccess(admin=admin, account_id="nobody", reason="x"), disabled=True
        )
    assert unknown.value.code == "account_not_found"


def test_a_disabled_citizen_cannot_sign_in_and_a_new_password_moves_the_stamp(world: World) -> None:
    admin, _ = _admin_and_clerk(world)
    citizen = str(register_by_mobile(world)["account_id"])
    first = current(world.deps, citizen)
    assert first is not None and first["kind"] == "citizen" and first["assurance_level"] >= 1
    change = ChangePassword(
        account_id=citizen, current_password=PASSWORD, new_password="Sousan-1404!", client="c"
    )
    login.change_password(world.deps, change)
    changed = current(world.deps, citizen)
    assert changed is not None and changed["stamp"] == first["stamp"] + 1
    staff.set_access(world.deps, AccountAccess(admin=admin, account_id=citizen, reason="x"), disabled=True)
    with pytest.raises(DomainError) as refused:
        login.login_password(
            world.deps, PasswordLogin(national_code="0012345679", password="Sousan-1404!", client="c")
        )
    assert refused.value.code == "account_disabled"


def test_the_staff_list_says_who_disabled_an_account_and_why(world: World) -> None:
    admin, clerk = _admin_and_clerk(world)
    staff.set_access(
        world.deps, AccountAccess(admin=admin, account_id=clerk, reason="پایان همکاری"), disabled=True
    )
    runner = ProjectionRunner(world.deps.store, world.deps.db, [Accounts(), Access()])
    runner.setup()
    while runner.run_once():
        pass
    listed = {p["account_id"]: p for p in queries.staff(world.deps.db)}
    assert listed[clerk]["disabled"] and listed[clerk]["access_reason"] == "پایان همکاری"
    assert listed[clerk]["access_changed_by"] == admin
    assert not listed[admin]["disabled"]
