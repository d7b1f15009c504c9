"""The identity service: accounts of citizens, companies and staff; registration, sign-in,
one-time codes, identity verification and roles. Each method only validates and delegates."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contracts.errors import MESSAGES, DomainError
from contracts.eventstore import EventStore
from contracts.identity_rpc import (
    AccountAccess,
    ActivateEmail,
    CaptchaCheck,
    CaptchaRequest,
    ChangeMobile,
    ChangePassword,
    CodeAnswer,
    CreateStaff,
    Decide,
    Grant,
    PasswordLogin,
    RegistryCheck,
    RegistryInquiry,
    RequestLoginCode,
    RequestReset,
    ResetPassword,
    Revoke,
    StaffLogin,
    StartRegistration,
    SubmitVerification,
    UpdateProfile,
)
from contracts.partners import (
    AddPartner,
    AuthenticatePartner,
    PartnerCommand,
    PausePartnerWebhook,
    RevokePartner,
)
from infra.attachments import AttachmentStore
from infra.db import Database
from infra.nameko_glue import (
    DependencyProvider,
    ReadModels,
    RpcProxy,
    Settings,
    Store,
    health_rpc,
    invalid_payload,
    replies,
    rpc,
    shared_database,
    shared_store,
)
from infra.settings import IdentitySettings
from services.identity import (
    captcha,
    codes,
    email_activation,
    login,
    partners,
    profile,
    queries,
    registration,
    staff,
    verification,
)
from services.identity.accounts import load_account
from services.identity.adapters import HttpCivilRegistry, HttpShahkar, NotifyCodeSender, NotifyLinkSender
from services.identity.deps import Deps
from services.identity.partners_view import Partners
from services.identity.principal import current as current_principal
from services.identity.projections import Access, Accounts, Verifications

PROJECTIONS = (Accounts(), Access(), Verifications(), Partners())
M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: dict[str, Any]) -> M:
    """The payload, or a `DomainError` with the rule it broke (e.g. `invalid_birth_date`)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            reason = str(item.get("ctx", {}).get("error", ""))
            if reason in MESSAGES:
                raise DomainError(reason, ".".join(str(p) for p in item["loc"])) from None
        raise invalid_payload(error) from None


class Bootstrap(DependencyProvider):
    """Makes the operational tables and the first administrator when the service starts."""

    def setup(self) -> None:
        db = shared_database(self.container.service_name)
        codes.setup(db)
        deps = Deps(
            shared_store(),
            db,
            HttpCivilRegistry(),
            HttpShahkar(),
            NotifyCodeSender(_NoNotify()),
            AttachmentStore(),
        )
        staff.bootstrap_admin(deps)


class _NoNotify:
    """Notify's place while the service starts: the first administrator is made without
    sending anything, and a send attempted then fails (the sender answers False)."""

    def send_code(self, payload: dict[str, str]) -> Any:
        raise RuntimeError("no SMS at start-up")

    def send_link(self, payload: dict[str, str]) -> Any:
        raise RuntimeError("no e-mail at start-up")


class IdentityService:
    name = "identity"

    store: EventStore = Store()
    settings: IdentitySettings = Settings(IdentitySettings)
    db: Database = ReadModels(*PROJECTIONS)
    notify = RpcProxy("notify")
    bootstrap = Bootstrap()
    civil_registry = HttpCivilRegistry()
    shahkar = HttpShahkar()

    @property
    def deps(self) -> Deps:
        return Deps(
            self.store,
            self.db,
            self.civil_registry,
            self.shahkar,
            NotifyCodeSender(self.notify),
            _attachments(),
            settle=self._settle,
            mail=NotifyLinkSender(self.notify),
        )

    def _settle(self, position: int) -> None:
        queries.wait_for(self.db, tuple(p.name for p in PROJECTIONS), position)

    @rpc
    def ping(self) -> str:
        return "pong"

    health = health_rpc()  # the events its projections parked, for /healthz

    @rpc
    @replies
    def inquire_registry(self, payload: dict[str, Any]) -> dict[str, Any]:
        return registration.inquire(self.deps, parse(RegistryInquiry, payload))

    @rpc
    @replies
    def start_registration(self, payload: dict[str, Any]) -> dict[str, Any]:
        return registration.start(self.deps, parse(StartRegistration, payload))

    @rpc
    @replies
    def complete_registration(self, payload: dict[str, Any]) -> dict[str, Any]:
        return registration.complete(self.deps, parse(CodeAnswer, payload))

    @rpc
    @replies
    def activate_email(self, payload: dict[str, Any]) -> dict[str, Any]:
        command = parse(ActivateEmail, payload)
        return email_activation.activate(self.deps, command.account_id, command.token, command)

    @rpc
    @replies
    def resend_code(self, ticket: str, client: str) -> dict[str, Any]:
        return registration.resend(self.deps, ticket, client)

    @rpc
    @replies
    def captcha_challenge(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Whether a sign-in form sent from this address needs a captcha now; a new one if so."""
        return captcha.challenge(self.deps, parse(CaptchaRequest, payload))

    @rpc
    @replies
    def check_captcha(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`{"ok": True}` when the captcha was solved, else `captcha_required`; spends it."""
        return captcha.check(self.deps, parse(CaptchaCheck, payload).captcha)

    @rpc
    @replies
    def login_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        return login.login_password(self.deps, parse(PasswordLogin, payload))

    @rpc
    @replies
    def request_login_code(self, payload: dict[str, Any]) -> dict[str, Any]:
        return login.request_login_code(self.deps, parse(RequestLoginCode, payload))

    @rpc
    @replies
    def login_with_code(self, payload: dict[str, Any]) -> dict[str, Any]:
        return login.login_with_code(self.deps, parse(CodeAnswer, payload))

    @rpc
    @replies
    def request_password_reset(self, payload: dict[str, Any]) -> dict[str, Any]:
        return login.request_reset(self.deps, parse(RequestReset, payload))

    @rpc
    @replies
    def reset_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        return login.reset_password(self.deps, parse(ResetPassword, payload))

    @rpc
    @replies
    def change_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        return login.change_password(self.deps, parse(ChangePassword, payload))

    @rpc
    @replies
    def profile(self, account_id: str) -> dict[str, Any]:
        return profile.profile(self.deps, account_id)

    @rpc
    @replies
    def update_profile(self, payload: dict[str, Any]) -> dict[str, Any]:
        return profile.update(self.deps, parse(UpdateProfile, payload))

    @rpc
    @replies
    def start_mobile_change(self, payload: dict[str, Any]) -> dict[str, Any]:
        return profile.start_mobile_change(self.deps, parse(ChangeMobile, payload))

    @rpc
    @replies
    def finish_mobile_change(self, payload: dict[str, Any], account_id: str) -> dict[str, Any]:
        return profile.finish_mobile_change(self.deps, parse(CodeAnswer, payload), account_id)

    @rpc
    @replies
    def check_shahkar(self, account_id: str) -> dict[str, Any]:
        return profile.shahkar(self.deps, account_id)

    @rpc
    @replies
    def verify_registry(self, payload: dict[str, Any]) -> dict[str, Any]:
        return profile.verify_registry(self.deps, parse(RegistryCheck, payload))

    @rpc
    @replies
    def submit_verification(self, payload: dict[str, Any]) -> dict[str, Any]:
        return verification.submit(self.deps, parse(SubmitVerification, payload))

    @rpc
    @replies
    def save_verification_draft(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Seed 004's «ثبت موقت» of the verification form (nothing goes to a desk officer)."""
        return verification.save_draft(self.deps, parse(SubmitVerification, payload))

    @rpc
    @replies
    def cartable(
        self, status: str | None = "submitted", officer: str = "", search: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Cases in `status` (None: any), matching `search` (`queries.SEARCH_FIELDS`); with
        `officer`, only those within that desk officer's reach."""
        reach = verification.reach_of(self.deps, officer)
        return queries.cartable(self.db, status, reach.province, search=search)

    @rpc
    @replies
    def case(self, case_id: str, officer: str = "") -> dict[str, Any]:
        return verification.case_detail(self.deps, case_id, verification.reach_of(self.deps, officer))

    @rpc
    @replies
    def decide_verification(self, payload: dict[str, Any]) -> dict[str, Any]:
        return verification.decide(self.deps, parse(Decide, payload))

    @rpc
    @replies
    def attachment(self, case_id: str, attachment_id: str, officer: str = "") -> dict[str, Any]:
        reach = verification.reach_of(self.deps, officer)
        return verification.attachment(self.deps, case_id, attachment_id, reach)

    @rpc
    @replies
    def staff_login_start(self, payload: dict[str, Any]) -> dict[str, Any]:
        return login.staff_login_start(self.deps, parse(StaffLogin, payload))

    @rpc
    @replies
    def staff_login_finish(self, payload: dict[str, Any]) -> dict[str, Any]:
        return login.staff_login_finish(self.deps, parse(CodeAnswer, payload))

    @rpc
    @replies
    def create_staff(self, payload: dict[str, Any]) -> dict[str, Any]:
        return staff.create(self.deps, parse(CreateStaff, payload))

    @rpc
    @replies
    def grant_role(self, payload: dict[str, Any]) -> dict[str, Any]:
        return staff.grant(self.deps, parse(Grant, payload))

    @rpc
    @replies
    def revoke_role(self, payload: dict[str, Any]) -> dict[str, Any]:
        return staff.revoke(self.deps, parse(Revoke, payload))

    @rpc
    @replies
    def disable_account(self, payload: dict[str, Any]) -> dict[str, Any]:
        return staff.set_access(self.deps, parse(AccountAccess, payload), disabled=True)

    @rpc
    @replies
    def enable_account(self, payload: dict[str, Any]) -> dict[str, Any]:
        return staff.set_access(self.deps, parse(AccountAccess, payload), disabled=False)

    @rpc
    @replies
    def principal(self, account_id: str) -> dict[str, Any] | None:
        """Who a session's account is now (None: unknown); asked on every request with a session."""
        return current_principal(self.deps, account_id)

    @rpc
    @replies
    def staff_list(self) -> list[dict[str, Any]]:
        return staff.listing(self.deps)

    @rpc
    @replies
    def representatives(self) -> list[dict[str, Any]]:
        """Who a referral may name: each follow-up representative with their unit."""
        return queries.representatives(self.db)

    # -- partners (issue 25): the Open311 API's keys and the relay's webhooks -------------------

    def _partner_actor(self, account_id: str) -> partners.Actor:
        return partners.Actor(account_id, load_account(self.store, account_id))

    @rpc
    @replies
    def partner_authenticate(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The active partner holding the key, or `invalid_api_key` (unknown or revoked alike)."""
        return partners.authenticate(self.db, parse(AuthenticatePartner, payload).api_key)

    @rpc
    @replies
    def partners_list(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Every partner (no key hashes)."""
        return partners.listing(self.db)

    @rpc
    @replies
    def partner_add(self, payload: dict[str, Any]) -> dict[str, Any]:
        form = parse(AddPartner, payload)
        return partners.add(self.store, form, self._partner_actor(form.actor), self._settle)

    @rpc
    @replies
    def partner_rotate(self, payload: dict[str, Any]) -> dict[str, Any]:
        form = parse(PartnerCommand, payload)
        return partners.rotate(self.store, form, self._partner_actor(form.actor), self._settle)

    @rpc
    @replies
    def partner_revoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        form = parse(RevokePartner, payload)
        return partners.revoke(self.store, form, self._partner_actor(form.actor), self._settle)

    @rpc
    @replies
    def partner_resume_webhook(self, payload: dict[str, Any]) -> dict[str, Any]:
        form = parse(PartnerCommand, payload)
        return partners.resume_webhook(self.store, form, self._partner_actor(form.actor), self._settle)

    @rpc
    @replies
    def partner_pause_webhook(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The relay's: stop sending to a webhook that keeps failing."""
        return partners.pause_webhook(self.store, parse(PausePartnerWebhook, payload), self._settle)


_attachment_store: AttachmentStore | None = None


def _attachments() -> AttachmentStore:
    global _attachment_store
    if _attachment_store is None:
        _attachment_store = AttachmentStore()
    return _attachment_store
