"""Identity's commands on a real SQLite store with hand-written fakes of the registry, Shahkar and
SMS: registration both ways, logins, passwords, profile, verification rounds and staff."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import contracts  # noqa: F401 - registers the event types
from contracts.errors import DomainError
from contracts.events import registry
from contracts.eventstore import EventStore
from contracts.identity import RegistryRecord, VerificationSubmitted
from contracts.identity_rpc import (
    CaptchaAnswer,
    CaptchaRequest,
    ChangeMobile,
    ChangePassword,
    CodeAnswer,
    CreateStaff,
    Decide,
    Grant,
    PasswordLogin,
    RequestLoginCode,
    RequestReset,
    ResetPassword,
    StaffLogin,
    StartRegistration,
    SubmitVerification,
    UpdateProfile,
)
from infra.attachments import AttachmentStore
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.identity import captcha, codes, login, profile, registration, staff, verification
from services.identity.codes import Limits
from services.identity.deps import Deps
from services.identity.keys import identity_secret
from services.identity.projections import Access, Accounts, Verifications
from tests.captchas import answer_of
from tests.fakes import FakeCivilRegistry, FakeClock, FakeCodeSender, FakeShahkar

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
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


PEOPLE = {"0012345679": PERSON, "0034567895": PERSON.model_copy(update={"alive": False})}
OWNERS = {"09121234567": "0012345679", "09121111111": "0023456787"}


@dataclass
class World:
    deps: Deps
    sms: FakeCodeSender
    clock: FakeClock
    registry: FakeCivilRegistry
    runner: ProjectionRunner

    def events(self, stream: str) -> list[Any]:
        return [registry.decode(r) for r in self.deps.store.read_stream(stream)]


def build_world(store: EventStore, db: Database, folder: Path) -> World:
    """Identity's read models on `db` and its commands' dependencies: `store`, fakes of the
    registry, Shahkar and SMS, a clock that stands still and attachments under `folder` (shared
    with the security, session and e-mail activation tests)."""
    codes.setup(db)
    runner = ProjectionRunner(store, db, [Accounts(), Access(), Verifications()])  # the cartable reads all
    runner.setup()
    sms, clock, fake_registry = FakeCodeSender(), FakeClock(1_800_000_000.0), FakeCivilRegistry(dict(PEOPLE))
    limits = Limits(
        code_seconds=300,
        max_code_tries=5,
        window=900,
        codes_per_mobile=5,
        codes_per_client=30,
        failures_per_account=5,
        failures_per_client=20,
        captcha_after=3,
    )
    shahkar, files = FakeShahkar(dict(OWNERS)), AttachmentStore(folder / "files")
    deps = Deps(store, db, fake_registry, shahkar, sms, files, clock, limits)
    return World(deps, sms, clock, fake_registry, runner)


@pytest.fixture
def world(store: SqlEventStore, db: Database, tmp_path: Path) -> World:
    return build_world(store, db, tmp_path)


PASSWORD = "Golbarg-1403!"


def register_by_mobile(
    world: World,
    national_code: str = "0012345679",
    mobile: str = "۰۹۱۲ ۱۲۳ ۴۵۶۷",
    email: str | None = None,
) -> dict[str, Any]:
    """Register through both steps; what `complete` answers (the principal, or the pending
    e-mail activation)."""
    command = StartRegistration(
        method="mobile",
        national_code=national_code,
        birth_date="۱۳۶۸/۴/۱۵",
        mobile=mobile,
        first_name="مريم",
        last_name="کاظمي",
        password=PASSWORD,
        email=email,
        client="10.0.0.1",
    )
    started = registration.start(world.deps, command)
    code = world.sms.last_code(command.mobile)
    principal = registration.complete(
        world.deps, CodeAnswer(ticket=started["ticket"], code=code, client="10.0.0.1")
    )
    world.runner.run_once()
    return principal


def test_registration_by_mobile_proves_the_mobile_then_shahkar_raises_the_level(world: World) -> None:
    principal = register_by_mobile(world)
    assert principal["mobile"] == "09121234567" and principal["national_code"] == "0012345679"
    assert principal["display_name"] == "مریم کاظمی"  # Arabic ي normalised
    assert principal["assurance_level"] == 2 and principal["kind"] == "citizen"
    types = [type(e).__name__ for e in world.events(f"account-{principal['account_id']}")]
    assert types == ["CitizenRegistered", "PasswordSet", "ShahkarChecked"]


def test_a_mobile_of_someone_else_stays_at_level_one(world: World) -> None:
    principal = register_by_mobile(world, "0012345679", "09121111111")
    assert principal["assurance_level"] == 1
    with pytest.raises(DomainError) as refused:
        profile.shahkar(world.deps, principal["account_id"])
    assert refused.value.code == "shahkar_mismatch"


def test_registration_by_registry_fills_names_and_reaches_level_three(world: World) -> None:
    command = StartRegistration(
        method="registry",
        national_code="0012345679",
        birth_date="1368/04/15",
        mobile="+989121234567",
        password=PASSWORD,
        client="c",
    )
    started = registration.start(world.deps, command)
    answer = CodeAnswer(ticket=started["ticket"], code=world.sms.last_code("09121234567"), client="c")
    principal = registration.complete(world.deps, answer)
    assert (principal["display_name"], principal["assurance_level"]) == ("مریم کاظمی", 3)


def test_a_deceased_person_cannot_register_and_nothing_is_sent(world: World) -> None:
    command = StartRegistration(
        method="registry",
        national_code="0034567895",
        birth_date="1368/04/15",
        mobile="09120000000",
        password=PASSWORD,
    )
    with pytest.raises(DomainError) as refused:
        registration.start(world.deps, command)
    assert refused.value.code == "deceased" and world.sms.sent == []


def test_the_same_national_code_cannot_register_twice(world: World) -> None:
    register_by_mobile(world)
    with pytest.raises(DomainError) as refused:
        register_by_mobile(world)
    assert refused.value.code == "already_registered"


def test_password_login_and_a_wrong_password_is_recorded_for_audit(world: World) -> None:
    principal = register_by_mobile(world)
    ok = login.login_password(
        world.deps, PasswordLogin(national_code="0012345679", password=PASSWORD, client="c")
    )
    assert ok["account_id"] == principal["account_id"]
    with pytest.raises(DomainError) as refused:
        login.login_password(
            world.deps, PasswordLogin(national_code="0012345679", password="wrong-one!", client="c")
        )
    assert refused.value.code == "bad_credentials"
    audit = [
        e for r in world.deps.store.read_all() if r.stream.startswith("identity-audit-") for e in [r.type]
    ]
    assert audit == ["LoginSucceeded", "LoginFailed"]


def test_unknown_accounts_get_the_same_answers_as_known_ones(world: World) -> None:
    register_by_mobile(world)
    unknown = PasswordLogin(national_code="0023456787", password=PASSWORD, client="c")
    with pytest.raises(DomainError) as no_account:
        login.login_password(world.deps, unknown)
    assert no_account.value.code == "bad_credentials"
    decoy = login.request_login_code(world.deps, RequestLoginCode(national_code="0023456787", client="c"))
    real = login.request_login_code(world.deps, RequestLoginCode(national_code="0012345679", client="c"))
    assert decoy.keys() == real.keys() and decoy["sms_sent"] is real["sms_sent"] is True
    with pytest.raises(DomainError) as wrong:
        login.login_with_code(world.deps, CodeAnswer(ticket=decoy["ticket"], code="123456", client="c"))
    assert wrong.value.code == "bad_code"


def test_one_time_code_login_by_mobile_needs_the_captcha(world: World) -> None:
    principal = register_by_mobile(world)
    with pytest.raises(DomainError) as refused:
        login.request_login_code(world.deps, RequestLoginCode(mobile="9121234567", client="c"))
    assert refused.value.code == "captcha_required"
    made = captcha.challenge(world.deps, CaptchaRequest(purpose="mobile_code", client="c"))
    solved = CaptchaAnswer(token=made["token"], answer=answer_of(made["token"], identity_secret()))
    ticket = login.request_login_code(
        world.deps, RequestLoginCode(mobile="9121234567", client="c", captcha=solved)
    )
    code = world.sms.last_code("09121234567")
    signed = login.login_with_code(world.deps, CodeAnswer(ticket=ticket["ticket"], code=code, client="c"))
    assert signed["account_id"] == principal["account_id"]


def test_forgotten_password_by_code_then_change_password(world: World) -> None:
    register_by_mobile(world)
    ticket = login.request_reset(
        world.deps, RequestReset(national_code="0012345679", mobile="09121234567", client="c")
    )
    code = world.sms.last_code("09121234567")
    new = "Shabnam-Baran-77"
    login.reset_password(
        world.deps, ResetPassword(ticket=ticket["ticket"], code=code, new_password=new, client="c")
    )
    signed = login.login_password(
        world.deps, PasswordLogin(national_code="0012345679", password=new, client="c")
    )
    change = ChangePassword(
        account_id=signed["account_id"], current_password=new, new_password="Another-Long-42", client="c"
    )
    assert login.change_password(world.deps, change) == {"changed": True}
    with pytest.raises(DomainError):
        login.login_password(world.deps, PasswordLogin(national_code="0012345679", password=new, client="c"))


def test_profile_edit_keeps_verified_names(world: World) -> None:
    principal = register_by_mobile(world)
    update = UpdateProfile(
        account_id=principal["account_id"], email="m@example.ir", first_name="مهسا", last_name="کاظمی"
    )
    view = profile.update(world.deps, update)
    assert (view["full_name"], view["email"]) == ("مهسا کاظمی", "m@example.ir")


def _submit(world: World, account_id: str, province: str | None = None) -> dict[str, Any]:
    files = [
        {
            "purpose": "national_card",
            "name": "card.pdf",
            "content_base64": "JVBERi0xLjQKMSAwIG9iajw8Pj5lbmRvYmoKdHJhaWxlcjw8Pj4KJSVFT0YK",
        },
        {
            "purpose": "birth_certificate",
            "name": "cert.pdf",
            "content_base64": "JVBERi0xLjQKMSAwIG9iajw8Pj5lbmRvYmoKdHJhaWxlcjw8Pj4KJSVFT0YK",
        },
    ]
    payload = {"account_id": account_id, "files": files, "province": province}
    return verification.submit(world.deps, SubmitVerification.model_validate(payload))


def make_officer(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    province: str | None = None,
    national_code: str = "0067890121",
    mobile: str = "09191234567",
) -> str:
    monkeypatch.setenv("ADMIN_NATIONAL_CODE", "0045678901")
    monkeypatch.setenv("ADMIN_PASSWORD", "Admin-Secret-2025")
    monkeypatch.setenv("ADMIN_MOBILE", "09131234567")
    admin = staff.bootstrap_admin(world.deps)  # the existing one's id when it exists
    assert admin is not None
    made = staff.create(
        world.deps,
        CreateStaff(
            admin=admin,
            national_code=national_code,
            full_name="رضا نوری",
            mobile=mobile,
            password="Desk-Officer-88",
        ),
    )
    grant = Grant(admin=admin, account_id=made["account_id"], role="desk_officer", province=province)
    staff.grant(world.deps, grant)
    return str(made["account_id"])


def test_a_desk_officer_bound_to_a_province_sees_and_decides_only_its_cases(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    everywhere = make_officer(world, monkeypatch)
    isfahan = make_officer(world, monkeypatch, "isfahan", "0067890148", "09191234568")
    tehran_case = _submit(world, register_by_mobile(world, mobile="09121111111")["account_id"], "tehran")
    citizen = register_by_mobile(world, national_code="0084575948", mobile="09122222222")
    isfahan_case = _submit(world, citizen["account_id"], "isfahan")
    world.runner.run_once()
    from services.identity.queries import cartable

    def seen_by(officer: str) -> set[str]:
        province = verification.reach_of(world.deps, officer).province
        return {c["case_id"] for c in cartable(world.deps.db, "submitted", province)}

    assert seen_by(everywhere) == {tehran_case["case_id"], isfahan_case["case_id"]}
    assert seen_by(isfahan) == {isfahan_case["case_id"]}
    reach = verification.reach_of(world.deps, isfahan)
    for outside in (
        lambda: verification.case_detail(world.deps, tehran_case["case_id"], reach),
        lambda: verification.attachment(world.deps, tehran_case["case_id"], "x" * 64, reach),
        lambda: verification.decide(
            world.deps, Decide(case_id=tehran_case["case_id"], officer=isfahan, decision="approve")
        ),
    ):
        with pytest.raises(DomainError) as refused:
            outside()
        assert refused.value.code == "case_not_found"  # as if it did not exist
    assert verification.case_detail(world.deps, isfahan_case["case_id"], reach)["province"] == "isfahan"
    approved = verification.decide(
        world.deps, Decide(case_id=isfahan_case["case_id"], officer=isfahan, decision="approve")
    )
    assert approved["status"] == "approved"
    decided = verification.decide(
        world.deps, Decide(case_id=tehran_case["case_id"], officer=everywhere, decision="approve")
    )
    assert decided["status"] == "approved"
    with pytest.raises(DomainError) as not_an_officer:
        verification.reach_of(world.deps, citizen["account_id"])
    assert not_an_officer.value.code == "forbidden"
    with pytest.raises(ValidationError, match="invalid_province"):
        SubmitVerification.model_validate({"account_id": "a", "province": "atlantis"})


def test_a_case_from_before_provinces_is_every_desk_officers(tmp_path: Path) -> None:
    stored = {"case_id": "c", "account_id": "a", "round": 1, "national_code": "0012345679"}
    old = registry.upcast("VerificationSubmitted", 1, {**stored, "full_name": "x", "submitted_at": "t"})
    event = VerificationSubmitted.model_validate(old)
    assert event.province is None
    assert verification.Reach("isfahan").covers(event.province)
    assert verification.Reach("isfahan").covers("isfahan") and not verification.Reach("isfahan").covers(
        "tehran"
    )
    assert verification.Reach(None).covers("tehran")


def test_verification_rounds_reject_with_reason_resubmit_approve(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    o1 = make_officer(world, monkeypatch)
    principal = register_by_mobile(world, mobile="09121111111")
    account_id = principal["account_id"]
    with pytest.raises(DomainError) as no_scans:
        verification.submit(world.deps, SubmitVerification(account_id=account_id))
    assert no_scans.value.code == "scans_required"
    case = _submit(world, account_id)["case_id"]
    with pytest.raises(DomainError) as twice:
        _submit(world, account_id)
    assert twice.value.code == "verification_pending"
    with pytest.raises(DomainError) as not_an_officer:
        verification.decide(
            world.deps, Decide(case_id=case, officer=principal["account_id"], decision="approve")
        )
    assert not_an_officer.value.code == "forbidden"
    with pytest.raises(DomainError) as no_reason:
        verification.decide(world.deps, Decide(case_id=case, officer=o1, decision="reject"))
    assert no_reason.value.code == "rejection_reason_required"
    rejected = verification.decide(
        world.deps, Decide(case_id=case, officer=o1, decision="reject", reason="تصویر شناسنامه خوانا نیست")
    )
    assert (rejected["status"], rejected["reason"]) == ("rejected", "تصویر شناسنامه خوانا نیست")
    assert _submit(world, account_id)["round"] == 2
    approved = verification.decide(world.deps, Decide(case_id=case, officer=o1, decision="approve"))
    assert approved["status"] == "approved"
    signed = login.login_password(
        world.deps, PasswordLogin(national_code="0012345679", password=PASSWORD, client="c")
    )
    assert signed["assurance_level"] == 3
    steps = [(s["type"], s["actor"]) for s in approved["steps"]]
    assert steps[1] == ("VerificationRejected", f"staff:{o1}") and steps[0][1] == f"citizen:{account_id}"
    world.runner.run_once()
    from services.identity.queries import cartable

    assert [c["status"] for c in cartable(world.deps.db, "approved")] == ["approved"]


def test_staff_bootstrap_create_grant_and_login_with_password_and_code(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_NATIONAL_CODE", "0045678901")
    monkeypatch.setenv("ADMIN_PASSWORD", "Admin-Secret-2025")
    monkeypatch.setenv("ADMIN_MOBILE", "09131234567")
    admin = staff.bootstrap_admin(world.deps)
    assert admin is not None and staff.bootstrap_admin(world.deps) == admin  # once only
    made = staff.create(
        world.deps,
        CreateStaff(
            admin=admin,
            national_code="0056789017",
            full_name="سارا حسینی",
            mobile="09351234567",
            password="Desk-Officer-88",
        ),
    )
    with pytest.raises(ValidationError) as scope:
        Grant.model_validate({"admin": admin, "account_id": made["account_id"], "role": "clerk"})
    assert "role_scope_required" in str(scope.value)
    staff.grant(
        world.deps, Grant(admin=admin, account_id=made["account_id"], role="clerk", province="tehran")
    )
    with pytest.raises(DomainError) as not_admin:
        staff.grant(world.deps, Grant(admin=made["account_id"], account_id=admin, role="desk_officer"))
    assert not_admin.value.code == "forbidden"
    ticket = login.staff_login_start(
        world.deps, StaffLogin(national_code="0056789017", password="Desk-Officer-88", client="c")
    )
    code = world.sms.last_code("09351234567")
    signed = login.staff_login_finish(world.deps, CodeAnswer(ticket=ticket["ticket"], code=code, client="c"))
    assert (signed["kind"], signed["roles"], signed["province"]) == ("staff", ["clerk"], "tehran")


def test_a_company_attorney_must_upload_a_power_of_attorney(world: World) -> None:
    command = StartRegistration.model_validate(
        {
            "method": "mobile",
            "national_code": "0012345679",
            "birth_date": "1368/04/15",
            "mobile": "09121234567",
            "first_name": "مریم",
            "last_name": "کاظمی",
            "password": PASSWORD,
            "kind": "legal",
            "company": {
                "company_name": "شرکت نمونه",
                "national_id": "10380284790",
                "economic_code": "411111111111",
                "capacity": "attorney",
            },
        }
    )
    started = registration.start(world.deps, command)
    answer = CodeAnswer(ticket=started["ticket"], code=world.sms.last_code("09121234567"), client="c")
    principal = registration.complete(world.deps, answer)
    assert principal["display_name"] == "شرکت نمونه (مریم کاظمی)"
    assert principal["extra"] == {"person_kind": "legal"}
    with pytest.raises(DomainError) as missing:
        _submit(world, principal["account_id"])
    assert missing.value.code == "attorney_required"
    pdf = "JVBERi0xLjQKMSAwIG9iajw8Pj5lbmRvYmoKdHJhaWxlcjw8Pj4KJSVFT0YK"
    files = [
        {"purpose": purpose, "name": f"{purpose}.pdf", "content_base64": pdf}
        for purpose in ("national_card", "birth_certificate", "power_of_attorney")
    ]
    submitted = verification.submit(
        world.deps, SubmitVerification.model_validate({"account_id": principal["account_id"], "files": files})
    )
    scans = submitted["last_submission"]["scans"]
    assert [s["purpose"] for s in scans] == ["national_card", "birth_certificate", "power_of_attorney"]
    assert world.deps.attachments.verify(scans[2]["file"]["attachment_id"])
    assert submitted["last_submission"]["company"]["national_id"] == "10380284790"


def test_a_scan_that_is_not_a_document_is_refused(world: World) -> None:
    principal = register_by_mobile(world)
    files = [
        {
            "purpose": "national_card",
            "name": "x.exe",
            "content_base64": "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAA==",
        },
        {"purpose": "birth_certificate", "name": "c.pdf", "content_base64": "JVBERi0xLjQK"},
    ]
    with pytest.raises(DomainError) as refused:
        verification.submit(
            world.deps,
            SubmitVerification.model_validate({"account_id": principal["account_id"], "files": files}),
        )
    assert refused.value.code == "file_type"


def test_changing_the_mobile_needs_a_code_sent_to_the_new_number(world: World) -> None:
    principal = register_by_mobile(world)
    account_id = principal["account_id"]
    started = profile.start_mobile_change(
        world.deps, ChangeMobile(account_id=account_id, mobile="09359998877")
    )
    code = world.sms.last_code("09359998877")
    with pytest.raises(DomainError):
        profile.finish_mobile_change(
            world.deps, CodeAnswer(ticket=started["ticket"], code=code), "someone-else"
        )
    started = profile.start_mobile_change(
        world.deps, ChangeMobile(account_id=account_id, mobile="09359998877")
    )
    code = world.sms.last_code("09359998877")
    view = profile.finish_mobile_change(
        world.deps, CodeAnswer(ticket=started["ticket"], code=code), account_id
    )
    assert (view["mobile"], view["assurance_level"]) == ("09359998877", 1)  # Shahkar: not this person's
    changed = [e for e in world.events(f"account-{account_id}") if type(e).__name__ == "MobileChanged"]
    assert [(e.mobile, e.previous_mobile) for e in changed] == [("09359998877", "09121234567")]


def test_a_profile_change_sent_again_is_recorded_once(world: World) -> None:
    """A change is decided on the account as its stream is when it is appended (a lost race is
    decided again, `infra.decider`); the same command again gets its first answer."""
    principal = register_by_mobile(world)
    edit = UpdateProfile(account_id=principal["account_id"], address="تهران")
    profile.update(world.deps, edit)
    assert profile.update(world.deps, edit)["address"] == "تهران"
    assert [type(e).__name__ for e in world.events(f"account-{principal['account_id']}")].count(
        "ProfileUpdated"
    ) == 1
