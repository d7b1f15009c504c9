"""A role's province and unit come from lists: a province of `PROVINCES` (`invalid_province`), a
unit the catalogue's stream defines (`unknown_unit`, read before the decision). An account may be
opened with its first role, recorded in the same append; a role takes only the scope it uses."""

from __future__ import annotations

import pytest

from contracts.errors import DomainError
from contracts.eventstore import EventStore
from contracts.identity import PasswordSet, RoleGranted
from contracts.identity_rpc import CreateStaff, Grant, RoleScope
from services.identity import staff
from services.identity.service import parse
from tests.scenario import scenario
from tests.unit.test_identity_decide import ADMIN, AT, CLERK, CLERK_CREATED, HASH, THE_ADMIN
from tests.units import define_units


def _open(first_role: RoleScope | None) -> staff.OpenStaff:
    return staff.OpenStaff(
        "0056789017", "سارا حسینی", "09351234567", HASH, ADMIN, THE_ADMIN, AT, first_role=first_role
    )


def test_an_account_opens_with_its_first_role_in_the_same_append() -> None:
    first = RoleScope(role="clerk", province="yazd", unit="permits")
    scenario(staff.OPEN).when(_open(first)).then(
        CLERK_CREATED,
        PasswordSet(account_id=CLERK, password_hash=HASH, reason="admin", at=AT),
        RoleGranted(account_id=CLERK, role="clerk", province="yazd", granted_by=ADMIN, at=AT),
    )
    scenario(staff.OPEN).when(_open(RoleScope())).then_types("StaffCreated", "PasswordSet")


def test_a_province_not_in_the_list_is_refused_by_its_own_code() -> None:
    for payload in (
        {"admin": ADMIN, "account_id": CLERK, "role": "clerk", "province": "atlantis"},
        {"admin": ADMIN, "account_id": CLERK, "role": "clerk", "province": "Tehran"},
    ):
        with pytest.raises(DomainError) as refused:
            parse(Grant, payload)
        assert refused.value.code == "invalid_province"
    empty = parse(Grant, {"admin": ADMIN, "account_id": CLERK, "role": "desk_officer", "province": ""})
    assert empty.province is None  # no province chosen: every province's desk officer


def test_a_representatives_unit_must_be_one_the_catalogue_defines(memory_store: EventStore) -> None:
    grant = Grant(admin=ADMIN, account_id=CLERK, role="representative", unit="no-such-unit")
    with pytest.raises(DomainError) as refused:
        staff.check_scope(memory_store, grant)
    assert (refused.value.code, refused.value.status) == ("unknown_unit", 422)
    opening = {"admin": ADMIN, "national_code": "0056789017", "full_name": "سارا حسینی"}
    create = CreateStaff(
        **opening, mobile="09351234567", password="x", role="representative", unit="no-such-unit"
    )
    with pytest.raises(DomainError, match="unknown_unit"):
        staff.check_scope(memory_store, create)

    define_units(memory_store)
    staff.check_scope(memory_store, grant.model_copy(update={"unit": "permits"}))
    # A clerk's grant names no unit of its own: a unit sent along is neither checked nor kept.
    clerk = Grant(admin=ADMIN, account_id=CLERK, role="clerk", province="yazd", unit="no-such-unit")
    staff.check_scope(memory_store, clerk)
    assert staff.granted(CLERK, clerk, ADMIN, AT).unit is None
