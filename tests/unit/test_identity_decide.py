"""Identity's rules as given events / when a command / then events or a refusal, with no store:
the account aggregate (its stream and its verification case folded by one `evolve`) and the
pure decisions of registration, sign-in, e-mail activation, profile, staff and verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.errors import DomainError
from contracts.events import Event
from contracts.identity import (
    AccountDisabled,
    AccountEnabled,
    CitizenRegistered,
    Company,
    EmailActivated,
    EmailLinkIssued,
    MobileChanged,
    PasswordSet,
    ProfileUpdated,
    RegistryRecord,
    RegistryVerified,
    RoleGranted,
    RoleRevoked,
    Scan,
    ShahkarChecked,
    StaffCreated,
    VerificationApproved,
    VerificationRejected,
    VerificationSubmitted,
)
from contracts.identity_rpc import AccountAccess, Decide, Grant, Revoke, SubmitVerification, UpdateProfile
from contracts.requests import AttachmentRef
from services.identity import email_activation, login, profile, registration, staff, verification
from services.identity.accounts import Account, case_id, citizen_id, evolve, staff_id
from tests.scenario import scenario

AT = "2026-03-01T08:00:00+00:00"
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
CITIZEN = citizen_id("0012345679")
ADMIN = staff_id("0045678901")
CLERK = staff_id("0056789017")
OFFICER = staff_id("0023456787")
CASE = case_id(CITIZEN)
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
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
COMPANY = Company(company_name="شرکت نمونه", national_id="10380284790", capacity="attorney")

REGISTERED = CitizenRegistered(
    account_id=CITIZEN,
    national_code="0012345679",
    mobile="09121234567",
    kind="natural",
    full_name="مریم کاظمی",
    first_name="مریم",
    last_name="کاظمی",
    birth_date="1368/04/15",
    method="mobile",
    registered_at=AT,
)
PASSWORD = PasswordSet(account_id=CITIZEN, password_hash=HASH, reason="register", at=AT)
CLERK_CREATED = StaffCreated(
    account_id=CLERK,
    national_code="0056789017",
    full_name="سارا حسینی",
    mobile="09351234567",
    created_by=ADMIN,
    created_at=AT,
)


def account(*events: Event) -> Account:
    """The account after `events` (an administrator or desk officer a command carries)."""
    state = Account()
    for event in events:
        state = evolve(state, event)
    return state


def staff_member(account_id: str, *roles: RoleGranted) -> Account:
    created = StaffCreated(
        account_id=account_id,
        national_code="0045678901",
        full_name="مدیر سامانه",
        mobile="09131234567",
        created_by="bootstrap",
        created_at=AT,
    )
    return account(created, *roles)


def granted(account_id: str, role: str, province: str | None = None, by: str = ADMIN) -> RoleGranted:
    return RoleGranted(account_id=account_id, role=role, province=province, granted_by=by, at=AT)


THE_ADMIN = staff_member(ADMIN, granted(ADMIN, "admin", by="bootstrap"))
NOT_ADMINS = {
    "nobody": None,
    "a clerk": staff_member(CLERK, granted(CLERK, "clerk", "tehran")),
    "a citizen": account(REGISTERED),
    "a disabled admin": evolve(
        THE_ADMIN, AccountDisabled(account_id=ADMIN, disabled_by="x", reason="رفته است", at=AT)
    ),
}


# The account's state


def test_evolve_never_changes_the_state_it_was_given() -> None:
    before = account(CLERK_CREATED, granted(CLERK, "clerk", "tehran"))
    after = evolve(before, RoleRevoked(account_id=CLERK, role="clerk", revoked_by=ADMIN, at=AT))
    assert dict(before.roles) == {"clerk": {"province": "tehran", "unit": None}} and dict(after.roles) == {}
    edited = evolve(account(REGISTERED), ProfileUpdated(account_id=CITIZEN, address="تهران", at=AT))
    assert account(REGISTERED).contact == {} and edited.contact["address"] == "تهران"


def test_the_security_stamp_moves_with_a_password_a_revoked_role_and_access_not_a_grant() -> None:
    state = account(CLERK_CREATED)
    assert state.stamp == 0
    state = evolve(state, granted(CLERK, "clerk", "tehran"))
    assert state.stamp == 0
    for event in (
        PasswordSet(account_id=CLERK, password_hash=HASH, reason="change", at=AT),
        RoleRevoked(account_id=CLERK, role="clerk", revoked_by=ADMIN, at=AT),
        AccountDisabled(account_id=CLERK, disabled_by=ADMIN, reason="x", at=AT),
        AccountEnabled(account_id=CLERK, enabled_by=ADMIN, reason="x", at=AT),
    ):
        state = evolve(state, event)
    assert state.stamp == 4 and not state.disabled


def test_the_level_comes_from_shahkar_the_registry_and_the_case() -> None:
    assert account(REGISTERED).level == 1
    matched = ShahkarChecked(account_id=CITIZEN, mobile="09121234567", matched=True, at=AT)
    assert account(REGISTERED, matched).level == 2
    moved = MobileChanged(account_id=CITIZEN, mobile="09359998877", previous_mobile="09121234567", at=AT)
    assert account(REGISTERED, matched, moved).level == 1
    assert account(REGISTERED, RegistryVerified(account_id=CITIZEN, registry=PERSON, at=AT)).level == 3
    approved = VerificationApproved(case_id=CASE, account_id=CITIZEN, officer=OFFICER, round=1, at=AT)
    assert account(REGISTERED, submitted(), approved).level == 3


# Registration


def register(national_code: str = "0012345679") -> registration.Register:
    return registration.Register(
        national_code=national_code,
        mobile="09121234567",
        kind="natural",
        first_name="مریم",
        last_name="کاظمی",
        birth_date="1368/04/15",
        method="mobile",
        registry=None,
        company=None,
        password_hash=HASH,
        at=AT,
    )


def test_registering_opens_the_account_with_its_password() -> None:
    scenario(registration.REGISTER).when(register()).then(REGISTERED, PASSWORD)


def test_a_national_code_registers_once() -> None:
    scenario(registration.REGISTER).given(REGISTERED, PASSWORD).when(register()).refused("already_registered")


def test_shahkar_s_answer_is_recorded_as_it_came() -> None:
    answer = registration.ShahkarAnswer(mobile="09121234567", matched=False, at=AT)
    scenario(registration.SHAHKAR).given(REGISTERED).when(answer).then(
        ShahkarChecked(account_id=CITIZEN, mobile="09121234567", matched=False, at=AT)
    )
    scenario(registration.SHAHKAR).when(answer).refused("account_not_found")


# E-mail activation


def issue(at: datetime = NOW, token_hash: str = "a" * 64) -> email_activation.IssueLink:
    return email_activation.IssueLink(email="maryam@example.com", token_hash=token_hash, at=at)


def link(token_hash: str = "a" * 64, at: datetime = NOW) -> EmailLinkIssued:
    expires = (at + timedelta(hours=email_activation.LINK_HOURS)).isoformat()
    return EmailLinkIssued(
        account_id=CITIZEN,
        email="maryam@example.com",
        token_hash=token_hash,
        expires_at=expires,
        at=at.isoformat(),
    )


def opened(token_hash: str = "a" * 64, now: datetime = NOW) -> email_activation.Activate:
    return email_activation.Activate(token_hash=token_hash, now=now, at=AT)


def test_a_link_lives_its_hours_from_its_issue() -> None:
    scenario(email_activation.ISSUE).given(REGISTERED).when(issue()).then(link())
    scenario(email_activation.ISSUE).when(issue()).refused("account_not_found")


def test_opening_a_link_activates_the_account_once_older_links_too() -> None:
    later = NOW + timedelta(hours=1)
    history = scenario(email_activation.ACTIVATE).given(REGISTERED, link(), link("b" * 64, later))
    history.when(opened("a" * 64)).then(EmailActivated(account_id=CITIZEN, email="maryam@example.com", at=AT))
    history.after(opened("b" * 64))
    assert history.state.email_activated and not history.state.activation_pending
    history.when(opened("a" * 64)).nothing()


def test_an_unknown_or_expired_link_is_refused() -> None:
    scenario(email_activation.ACTIVATE).given(REGISTERED).when(opened()).refused("bad_activation_link")
    scenario(email_activation.ACTIVATE).when(opened()).refused("bad_activation_link")
    history = scenario(email_activation.ACTIVATE).given(REGISTERED, link())
    history.when(opened("c" * 64)).refused("bad_activation_link")
    too_late = NOW + timedelta(hours=email_activation.LINK_HOURS, seconds=1)
    history.when(opened(now=too_late)).refused("activation_link_expired")


# Passwords


def test_a_new_password_replaces_the_old_one() -> None:
    command = login.SetPassword(password_hash="new-hash", reason="reset", at=AT)
    scenario(login.SET_PASSWORD).given(REGISTERED, PASSWORD).when(command).then(
        PasswordSet(account_id=CITIZEN, password_hash="new-hash", reason="reset", at=AT)
    )
    scenario(login.SET_PASSWORD).when(command).refused("account_not_found")


# Profile


def edit(**fields: object) -> profile.EditProfile:
    return profile.EditProfile(UpdateProfile.model_validate({"account_id": CITIZEN, **fields}), AT)


def test_contact_details_and_names_while_unconfirmed() -> None:
    command = edit(email="m@example.com", first_name="مریم", last_name="کاظمی‌پور", landline="")
    scenario(profile.EDIT).given(REGISTERED).when(command).then(
        ProfileUpdated(
            account_id=CITIZEN, email="m@example.com", first_name="مریم", last_name="کاظمی‌پور", at=AT
        )
    )


def test_names_confirmed_by_the_registry_or_an_officer_are_kept() -> None:
    command = edit(address="تهران", first_name="زهرا", last_name="احمدی")
    expected = ProfileUpdated(account_id=CITIZEN, address="تهران", at=AT)
    verified = RegistryVerified(account_id=CITIZEN, registry=PERSON, at=AT)
    scenario(profile.EDIT).given(REGISTERED, verified).when(command).then(expected)
    approved = VerificationApproved(case_id=CASE, account_id=CITIZEN, officer=OFFICER, round=1, at=AT)
    scenario(profile.EDIT).given(REGISTERED, submitted(), approved).when(command).then(expected)
    scenario(profile.EDIT).when(command).refused("account_not_found")


def test_a_proven_mobile_replaces_the_account_s() -> None:
    command = profile.ChangeMobileTo(mobile="09359998877", at=AT)
    scenario(profile.CHANGE_MOBILE).given(REGISTERED).when(command).then(
        MobileChanged(account_id=CITIZEN, mobile="09359998877", previous_mobile="09121234567", at=AT)
    )
    scenario(profile.CHANGE_MOBILE).when(command).refused("account_not_found")


def test_the_registry_confirms_a_living_person() -> None:
    alive = profile.RegistryAnswer(PERSON, AT)
    scenario(profile.VERIFY_REGISTRY).given(REGISTERED).when(alive).then(
        RegistryVerified(account_id=CITIZEN, registry=PERSON, at=AT)
    )
    dead = profile.RegistryAnswer(PERSON.model_copy(update={"alive": False}), AT)
    scenario(profile.VERIFY_REGISTRY).given(REGISTERED).when(dead).refused("deceased")
    scenario(profile.VERIFY_REGISTRY).when(alive).refused("account_not_found")


# Staff


def open_staff(admin: Account | None = THE_ADMIN, *, bootstrap: bool = False) -> staff.OpenStaff:
    by = "bootstrap" if bootstrap else ADMIN
    return staff.OpenStaff(
        "0056789017", "سارا حسینی", "09351234567", HASH, by, admin, AT, bootstrap=bootstrap
    )


def test_the_bootstrap_opens_the_first_administrator() -> None:
    scenario(staff.OPEN).when(open_staff(None, bootstrap=True)).then(
        StaffCreated(
            account_id=CLERK,
            national_code="0056789017",
            full_name="سارا حسینی",
            mobile="09351234567",
            created_by="bootstrap",
            created_at=AT,
        ),
        PasswordSet(account_id=CLERK, password_hash=HASH, reason="bootstrap", at=AT),
        granted(CLERK, "admin", by="bootstrap"),
    )


def test_an_administrator_opens_a_staff_account_without_a_role_once() -> None:
    scenario(staff.OPEN).when(open_staff()).then(
        CLERK_CREATED, PasswordSet(account_id=CLERK, password_hash=HASH, reason="admin", at=AT)
    )
    scenario(staff.OPEN).given(CLERK_CREATED).when(open_staff()).refused("staff_exists")


@pytest.mark.parametrize("who", sorted(NOT_ADMINS))
def test_only_an_enabled_administrator_manages_accounts(who: str) -> None:
    admin = NOT_ADMINS[who]
    scenario(staff.OPEN).when(open_staff(admin)).refused("forbidden")
    grant = staff.GrantRole(Grant(admin=ADMIN, account_id=CLERK, role="desk_officer"), admin, AT)
    scenario(staff.GRANT).given(CLERK_CREATED).when(grant).refused("forbidden")
    revoke = staff.RevokeRole(Revoke(admin=ADMIN, account_id=CLERK, role="clerk"), admin, AT)
    scenario(staff.REVOKE).given(CLERK_CREATED, granted(CLERK, "clerk", "tehran")).when(revoke).refused(
        "forbidden"
    )
    access = staff.SetAccess(AccountAccess(admin=ADMIN, account_id=CLERK, reason="x"), True, admin, AT)
    scenario(staff.ACCESS).given(CLERK_CREATED).when(access).refused("forbidden")


def test_a_role_is_granted_with_the_scope_it_takes() -> None:
    form = Grant(admin=ADMIN, account_id=CLERK, role="clerk", province="tehran", unit="u1")
    scenario(staff.GRANT).given(CLERK_CREATED).when(staff.GrantRole(form, THE_ADMIN, AT)).then(
        granted(CLERK, "clerk", "tehran")
    )
    form = Grant(admin=ADMIN, account_id=CLERK, role="representative", province="tehran", unit="u1")
    scenario(staff.GRANT).given(CLERK_CREATED).when(staff.GrantRole(form, THE_ADMIN, AT)).then(
        RoleGranted(account_id=CLERK, role="representative", unit="u1", granted_by=ADMIN, at=AT)
    )


def test_roles_are_granted_and_revoked_on_staff_accounts_only() -> None:
    grant = staff.GrantRole(Grant(admin=ADMIN, account_id=CITIZEN, role="desk_officer"), THE_ADMIN, AT)
    scenario(staff.GRANT).given(REGISTERED).when(grant).refused("account_not_found")
    scenario(staff.GRANT).when(grant).refused("account_not_found")
    revoke = staff.RevokeRole(Revoke(admin=ADMIN, account_id=CITIZEN, role="clerk"), THE_ADMIN, AT)
    scenario(staff.REVOKE).given(REGISTERED).when(revoke).refused("account_not_found")


def test_a_revoked_role_goes_and_one_not_held_records_nothing() -> None:
    revoke = staff.RevokeRole(Revoke(admin=ADMIN, account_id=CLERK, role="clerk"), THE_ADMIN, AT)
    scenario(staff.REVOKE).given(CLERK_CREATED, granted(CLERK, "clerk", "tehran")).when(revoke).then(
        RoleRevoked(account_id=CLERK, role="clerk", revoked_by=ADMIN, at=AT)
    )
    scenario(staff.REVOKE).given(CLERK_CREATED).when(revoke).nothing()


def access(disabled: bool, account_id: str = CITIZEN) -> staff.SetAccess:
    form = AccountAccess(admin=ADMIN, account_id=account_id, reason="درخواست دارنده")
    return staff.SetAccess(form, disabled, THE_ADMIN, AT)


def test_any_account_is_disabled_and_enabled_with_a_reason() -> None:
    disabled = AccountDisabled(account_id=CITIZEN, disabled_by=ADMIN, reason="درخواست دارنده", at=AT)
    scenario(staff.ACCESS).given(REGISTERED).when(access(True)).then(disabled)
    scenario(staff.ACCESS).given(REGISTERED, disabled).when(access(False)).then(
        AccountEnabled(account_id=CITIZEN, enabled_by=ADMIN, reason="درخواست دارنده", at=AT)
    )


def test_access_already_as_asked_records_nothing() -> None:
    scenario(staff.ACCESS).given(REGISTERED).when(access(False)).nothing()
    disabled = AccountDisabled(account_id=CITIZEN, disabled_by=ADMIN, reason="x", at=AT)
    scenario(staff.ACCESS).given(REGISTERED, disabled).when(access(True)).nothing()


def test_an_administrator_never_disables_their_own_account_nor_a_missing_one() -> None:
    scenario(staff.ACCESS).given(*_admin_history()).when(access(True, ADMIN)).refused("own_account")
    scenario(staff.ACCESS).when(access(True)).refused("account_not_found")


def _admin_history() -> list[Event]:
    return [
        StaffCreated(
            account_id=ADMIN,
            national_code="0045678901",
            full_name="مدیر سامانه",
            mobile="09131234567",
            created_by="bootstrap",
            created_at=AT,
        ),
        granted(ADMIN, "admin", by="bootstrap"),
    ]


# Verification


SCAN = Scan(
    purpose="national_card",
    file=AttachmentRef(
        attachment_id="f" * 64, name="card.pdf", media_type="application/pdf", size=10, sha256="f" * 64
    ),
)
BIRTH = Scan(purpose="birth_certificate", file=SCAN.file.model_copy(update={"name": "birth.pdf"}))


def submitted(round_: int = 1, province: str | None = "tehran") -> VerificationSubmitted:
    return VerificationSubmitted(
        case_id=CASE,
        account_id=CITIZEN,
        round=round_,
        national_code="0012345679",
        full_name="مریم کاظمی",
        birth_date="1368/04/15",
        scans=(SCAN, BIRTH),
        submitted_at=AT,
        province=province,
    )


def submission(
    *purposes: str,
    registry_connected: bool = False,
    unreadable: DomainError | None = None,
    province: str | None = "tehran",
    father_name: str | None = None,
) -> verification.Submission:
    files = [{"purpose": p, "name": f"{p}.pdf", "content_base64": "JVBERi0="} for p in purposes]
    form = SubmitVerification.model_validate(
        {"account_id": CITIZEN, "files": files, "province": province, "father_name": father_name}
    )
    scans = (SCAN, BIRTH) if purposes else ()
    return verification.Submission(form, scans, unreadable, registry_connected, AT)


BOTH = ("national_card", "birth_certificate")


def test_a_first_round_and_a_round_after_a_rejection() -> None:
    scenario(verification.SUBMIT).given(REGISTERED).when(submission(*BOTH)).then(submitted())
    rejected = VerificationRejected(
        case_id=CASE, account_id=CITIZEN, officer=OFFICER, round=1, reason="خوانا نیست", at=AT
    )
    scenario(verification.SUBMIT).given(REGISTERED, submitted(), rejected).when(submission(*BOTH)).then(
        submitted(2)
    )


def test_a_company_s_submission_names_the_company_and_the_form_s_father_name() -> None:
    legal = REGISTERED.model_copy(update={"kind": "legal", "company": COMPANY})
    command = submission(*BOTH, "power_of_attorney", father_name="حسن")
    event = scenario(verification.SUBMIT).given(legal).when(command).event()
    assert (event.kind, event.company, event.father_name, event.round) == ("legal", COMPANY, "حسن", 1)


def test_who_may_not_submit() -> None:
    scenario(verification.SUBMIT).when(submission(*BOTH)).refused("account_not_found")
    verified = RegistryVerified(account_id=CITIZEN, registry=PERSON, at=AT)
    scenario(verification.SUBMIT).given(REGISTERED, verified).when(submission(*BOTH)).refused(
        "already_verified"
    )
    approved = VerificationApproved(case_id=CASE, account_id=CITIZEN, officer=OFFICER, round=1, at=AT)
    scenario(verification.SUBMIT).given(REGISTERED, submitted(), approved).when(submission(*BOTH)).refused(
        "already_verified"
    )
    scenario(verification.SUBMIT).given(REGISTERED, submitted()).when(submission(*BOTH)).refused(
        "verification_pending"
    )


def test_the_scans_a_submission_needs() -> None:
    history = scenario(verification.SUBMIT).given(REGISTERED)
    history.when(submission("national_card")).refused("scans_required")
    history.when(submission(registry_connected=True)).then_types("VerificationSubmitted")
    legal = REGISTERED.model_copy(update={"kind": "legal", "company": COMPANY})
    scenario(verification.SUBMIT).given(legal).when(submission(*BOTH)).refused("attorney_required")


def test_an_unreadable_scan_is_refused_after_the_case_s_own_rules() -> None:
    unreadable = DomainError("file_type")
    scenario(verification.SUBMIT).given(REGISTERED).when(submission(*BOTH, unreadable=unreadable)).refused(
        "file_type"
    )
    scenario(verification.SUBMIT).given(REGISTERED, submitted()).when(
        submission(*BOTH, unreadable=unreadable)
    ).refused("verification_pending")


def officer(province: str | None = "tehran") -> Account:
    return staff_member(OFFICER, granted(OFFICER, "desk_officer", province))


def review(decision: str, reason: str | None = None, who: Account | None = None) -> verification.Review:
    form = Decide(case_id=CASE, officer=OFFICER, decision=decision, reason=reason)
    return verification.Review(form, who if who is not None else officer(), AT)


def test_a_desk_officer_approves_or_rejects_with_a_reason() -> None:
    history = scenario(verification.REVIEW).given(submitted())
    history.when(review("approve", "خوانا")).then(
        VerificationApproved(case_id=CASE, account_id=CITIZEN, officer=OFFICER, round=1, note="خوانا", at=AT)
    )
    history.when(review("reject", "تصویر خوانا نیست")).then(
        VerificationRejected(
            case_id=CASE, account_id=CITIZEN, officer=OFFICER, round=1, reason="تصویر خوانا نیست", at=AT
        )
    )
    history.when(review("reject")).refused("rejection_reason_required")


def test_only_a_desk_officer_whose_reach_covers_the_case() -> None:
    history = scenario(verification.REVIEW).given(submitted(province="tehran"))
    clerk = staff_member(OFFICER, granted(OFFICER, "clerk", "tehran"))
    history.when(review("approve", who=clerk)).refused("forbidden")
    history.when(review("approve", who=account(REGISTERED))).refused("forbidden")
    history.when(review("approve", who=officer("isfahan"))).refused("case_not_found")
    history.when(review("approve", who=officer(None))).then_types("VerificationApproved")
    scenario(verification.REVIEW).given(submitted(province=None)).when(
        review("approve", who=officer("isfahan"))
    ).then_types("VerificationApproved")


def test_only_a_case_that_waits_for_review() -> None:
    scenario(verification.REVIEW).when(review("approve")).refused("case_not_found")
    approved = VerificationApproved(case_id=CASE, account_id=CITIZEN, officer=OFFICER, round=1, at=AT)
    scenario(verification.REVIEW).given(submitted(), approved).when(review("approve")).refused(
        "case_not_pending"
    )
