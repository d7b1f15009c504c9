"""Seed 004's activation by e-mailed link, where the organisation asks for it: the account is
refused at sign-in until the link is opened, and each refusal sends the link again."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.errors import DomainError
from contracts.identity_rpc import PasswordLogin
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from services.identity import email_activation, login
from services.identity.email_activation import LINK_HOURS
from tests.fakes import FakeLinkSender
from tests.unit.test_identity_commands import PASSWORD, World, build_world, register_by_mobile

NATIONAL_CODE = "0012345679"


@pytest.fixture
def world(store: SqlEventStore, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("EMAIL_ACTIVATION", "required")
    monkeypatch.setenv("PUBLIC_CITIZEN_URL", "https://eservice.example.ir/")
    built = build_world(store, db, tmp_path)
    built.deps.mail = FakeLinkSender()
    return built


def _mail(world: World) -> FakeLinkSender:
    assert isinstance(world.deps.mail, FakeLinkSender)
    return world.deps.mail


def _start(world: World, email: str | None) -> dict[str, str]:
    return register_by_mobile(world, NATIONAL_CODE, "09121234567", email)


def _login(world: World) -> dict[str, object]:
    return login.login_password(
        world.deps, PasswordLogin(national_code=NATIONAL_CODE, password=PASSWORD, client="c")
    )


def test_without_an_email_registration_is_refused_before_any_code(world: World) -> None:
    with pytest.raises(DomainError) as refused:
        _start(world, None)
    assert refused.value.code == "email_required"
    assert world.sms.sent == []  # refused before any code went out


def test_the_account_signs_in_only_after_the_link_is_opened(world: World) -> None:
    answer = _start(world, "Maryam.K@Example.com")
    assert answer == {"activation_pending": True, "email": "m***@example.com", "email_sent": True}
    email, link = _mail(world).sent[-1]
    assert email == "maryam.k@example.com"
    assert link.startswith("https://eservice.example.ir/activate?account=")
    first = _mail(world).last()

    with pytest.raises(DomainError) as refused:
        _login(world)
    assert refused.value.code == "email_not_activated"
    assert len(_mail(world).sent) == 2  # the refusal sent the link again
    second = _mail(world).last()
    assert second["token"] != first["token"]

    with pytest.raises(DomainError) as forged:
        email_activation.activate(world.deps, second["account_id"], "x" * 43)
    assert forged.value.code == "bad_activation_link"

    assert email_activation.activate(world.deps, **first)["email"] == "maryam.k@example.com"  # older works
    assert email_activation.activate(world.deps, **second)["email"] == "maryam.k@example.com"  # again: same
    principal = _login(world)
    assert principal["national_code"] == NATIONAL_CODE
    assert len(_mail(world).sent) == 2


def test_an_expired_link_is_refused_and_signing_in_sends_a_new_one(world: World) -> None:
    _start(world, "maryam@example.com")
    old = _mail(world).last()
    world.clock.now += LINK_HOURS * 3600 + 1
    with pytest.raises(DomainError) as expired:
        email_activation.activate(world.deps, **old)
    assert expired.value.code == "activation_link_expired"
    with pytest.raises(DomainError):
        _login(world)
    assert email_activation.activate(world.deps, **_mail(world).last())
    assert _login(world)["national_code"] == NATIONAL_CODE


def test_without_the_setting_an_email_changes_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_ACTIVATION", "off")
    principal = _start(world, "maryam@example.com")
    assert principal["national_code"] == NATIONAL_CODE
    assert _mail(world).sent == []
    assert _login(world)["national_code"] == NATIONAL_CODE


def test_a_sign_in_refused_until_activation_is_audited(world: World) -> None:
    _start(world, "maryam@example.com")
    with pytest.raises(DomainError):
        _login(world)
    audit = [r for r in world.deps.store.read_all() if r.stream.startswith("identity-audit-")]
    assert [(r.type, r.data["reason"], r.data["identifier"]) for r in audit] == [
        ("LoginFailed", "not_activated", NATIONAL_CODE)
    ]
    email_activation.activate(world.deps, **_mail(world).last())
    _login(world)
    audit = [r.type for r in world.deps.store.read_all() if r.stream.startswith("identity-audit-")]
    assert audit == ["LoginFailed", "LoginSucceeded"]
