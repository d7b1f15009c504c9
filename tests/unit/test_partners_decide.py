"""Partners' rules as given events / when a command / then events, with no store: an
administrator (or an operator) adds a partner, rotates its key, revokes it; the relay pauses its
webhook and an administrator resumes it. Nobody else does any of it, and a revoked partner is done."""

from __future__ import annotations

from contracts.partners import (
    AddPartner,
    PartnerAdded,
    PartnerKeyRotated,
    PartnerRevoked,
    PartnerWebhookPaused,
    PartnerWebhookResumed,
)
from services.identity.accounts import Account
from services.identity.partners import PARTNER, Actor, Add, Pause, Resume, Revoke, Rotate
from tests.scenario import scenario

PARTNER_ID = "b" * 32
ADMIN = Actor("staff-admin", Account(account_id="staff-admin", kind="staff", roles={"admin": {}}))
CLERK = Actor("staff-clerk", Account(account_id="staff-clerk", kind="staff", roles={"clerk": {}}))
OPERATOR = Actor("cli", operator=True)
FORM = AddPartner(
    name="شهرداری منطقه ۳", unit="u-3", webhook_url="https://partner.example/hook", actor="staff-admin"
)
ADDED = PartnerAdded(
    partner_id=PARTNER_ID,
    name="شهرداری منطقه ۳",
    unit="u-3",
    webhook_url="https://partner.example/hook",
    key_hash="1" * 64,
    key_prefix="pk_abcdef",
    added_by="staff-admin",
)
ROTATED = PartnerKeyRotated(
    partner_id=PARTNER_ID, key_hash="2" * 64, key_prefix="pk_ghijkl", generation=2, rotated_by="staff-admin"
)
REVOKED = PartnerRevoked(partner_id=PARTNER_ID, reason="پایان قرارداد", revoked_by="staff-admin")
PAUSED = PartnerWebhookPaused(partner_id=PARTNER_ID, reason="۵ بار پیاپی پاسخ ۵۰۰")


def add(actor: Actor = ADMIN) -> Add:
    return Add(PARTNER_ID, FORM, "1" * 64, "pk_abcdef", actor)


def test_given_nothing_when_an_administrator_adds_a_partner_then_it_is_added_with_the_keys_hash() -> None:
    scenario(PARTNER).given().when(add()).then(ADDED)


def test_an_operator_at_the_command_line_adds_one_too() -> None:
    outcome = scenario(PARTNER).when(add(OPERATOR))
    assert outcome.event().added_by == "cli"


def test_only_an_administrator_adds_rotates_revokes_or_resumes() -> None:
    scenario(PARTNER).when(add(CLERK)).refused("forbidden")
    scenario(PARTNER).given(ADDED).when(Rotate("2" * 64, "pk_x", CLERK)).refused("forbidden")
    scenario(PARTNER).given(ADDED).when(Revoke("پایان", CLERK)).refused("forbidden")
    scenario(PARTNER).given(ADDED, PAUSED).when(Resume(CLERK)).refused("forbidden")
    disabled = Actor("staff-admin", Account(kind="staff", roles={"admin": {}}, disabled=True))
    scenario(PARTNER).when(add(disabled)).refused("forbidden")


def test_a_partner_is_added_once() -> None:
    scenario(PARTNER).given(ADDED).when(add()).refused("partner_key_shown_once")


def test_rotating_counts_the_generations() -> None:
    scenario(PARTNER).given(ADDED).when(Rotate("2" * 64, "pk_ghijkl", ADMIN)).then(ROTATED)
    third = scenario(PARTNER).given(ADDED, ROTATED).when(Rotate("3" * 64, "pk_mnopqr", ADMIN)).event()
    assert (third.generation, third.key_hash) == (3, "3" * 64)


def test_commands_on_a_partner_nobody_added_are_refused() -> None:
    scenario(PARTNER).when(Rotate("2" * 64, "pk_x", ADMIN)).refused("partner_not_found")
    scenario(PARTNER).when(Revoke("پایان", ADMIN)).refused("partner_not_found")
    scenario(PARTNER).when(Pause("خطا")).refused("partner_not_found")
    scenario(PARTNER).when(Resume(ADMIN)).refused("partner_not_found")


def test_revoking_records_the_reason_once() -> None:
    scenario(PARTNER).given(ADDED).when(Revoke("پایان قرارداد", ADMIN)).then(REVOKED)
    scenario(PARTNER).given(ADDED, REVOKED).when(Revoke("دوباره", ADMIN)).nothing()


def test_a_revoked_partner_gets_no_new_key_and_no_resumed_webhook_and_is_not_paused() -> None:
    scenario(PARTNER).given(ADDED, REVOKED).when(Rotate("2" * 64, "pk_x", ADMIN)).refused("partner_revoked")
    scenario(PARTNER).given(ADDED, PAUSED, REVOKED).when(Resume(ADMIN)).refused("partner_revoked")
    scenario(PARTNER).given(ADDED, REVOKED).when(Pause("خطا")).nothing()


def test_the_relay_pauses_a_webhook_once_and_an_administrator_resumes_it() -> None:
    scenario(PARTNER).given(ADDED).when(Pause(PAUSED.reason)).then(PAUSED)
    scenario(PARTNER).given(ADDED, PAUSED).when(Pause("باز هم")).nothing()
    resumed = PartnerWebhookResumed(partner_id=PARTNER_ID, resumed_by="staff-admin")
    scenario(PARTNER).given(ADDED, PAUSED).when(Resume(ADMIN)).then(resumed)
    scenario(PARTNER).given(ADDED, PAUSED, resumed).when(Resume(ADMIN)).refused("partner_webhook_not_paused")
    scenario(PARTNER).given(ADDED).when(Resume(ADMIN)).refused("partner_webhook_not_paused")


def test_the_state_follows_the_history() -> None:
    state = scenario(PARTNER).given(ADDED, ROTATED, PAUSED).state
    assert (state.generation, state.key_hash, state.webhook_status, state.status) == (
        2,
        "2" * 64,
        "paused",
        "active",
    )
    assert scenario(PARTNER).given(ADDED, REVOKED).state.status == "revoked"
