"""The welcome SMS says what the new account's level is: one the civil registry confirmed at
registration (seed 000, level 3) is never told its identity still needs confirming."""

from __future__ import annotations

from contracts.events import new_event
from contracts.identity import CitizenRegistered, RegistryRecord
from tests.unit.test_notify_fakes import NotifyDesk

PERSON = RegistryRecord(
    first_name="مریم",
    last_name="کاظمی",
    father_name="حسن",
    certificate_number="1254",
    certificate_serial="123456",
    gender="female",
    alive=True,
    birth_date="1368/04/15",
)


def _registered(account_id: str, mobile: str, registry: RegistryRecord | None) -> CitizenRegistered:
    return CitizenRegistered(
        account_id=account_id,
        national_code="0012345679",
        mobile=mobile,
        kind="natural",
        full_name="مریم کاظمی",
        first_name="مریم",
        last_name="کاظمی",
        birth_date="1368/04/15",
        method="registry" if registry else "mobile",
        registry=registry,
        registered_at="2026-03-01T08:00:00+00:00",
    )


def test_a_citizen_the_registry_confirmed_is_told_they_may_file_at_once(notify_desk: NotifyDesk) -> None:
    notify_desk.store.append("account-a1", [new_event(_registered("a1", "09121234567", PERSON))])
    notify_desk.store.append("account-a2", [new_event(_registered("a2", "09127654321", None))])
    notify_desk.catch_up()
    texts = {to: text for _, to, text, *_ in _calls(notify_desk)}
    verified, unverified = texts["09121234567"], texts["09127654321"]
    assert "باید تایید شود" not in verified
    assert "با استعلام ثبت احوال تایید شد" in verified
    assert "باید تایید شود" in unverified  # by mobile: level 1 until Shahkar or a desk officer


def _calls(desk: NotifyDesk) -> list[tuple[str, str, str]]:
    """(provider call's first field, number, text) of each SMS sent."""
    return [(str(call[0]), str(call[1]), str(call[2])) for call in desk.sms.calls]
