"""Events, error codes and assurance levels of identity and access (written by `services/identity`).

Streams: `account-<account_id>` (a citizen's, company's or staff member's account),
`verification-<case_id>` (one identity-verification case per account, reviewed by a desk officer)
and `identity-audit-<yyyy-mm-dd>` (login successes and failures). No event ever carries a password,
a one-time code or a hash of a code; `PasswordSet` carries only the Argon2 hash of the password.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from contracts.errors import register_messages
from contracts.events import Event, Value, registry
from contracts.requests import AttachmentRef

ROLES = ("desk_officer", "clerk", "representative", "admin")
"""Staff roles: desk officer, secretariat clerk (bound to a province), follow-up representative
(bound to a unit), administrator."""

ASSURANCE_LEVELS = {
    0: "تأیید نشده",
    1: "تلفن همراه تأیید شده",
    2: "تطبیق کد ملی و تلفن همراه (شاهکار)",
    3: "احراز هویت ثبت احوال / تأیید مسئول میز خدمت",
}


def may_file(assurance_level: int, required_level: int) -> bool:
    """The one rule of what an assurance level allows: a service's card names the level it needs
    (`ServiceCard.required_assurance_level`) and a citizen at that level or above may file it.
    The requests service's check and the account page's «آنچه سطح شما اجازه می‌دهد» both ask it,
    so the page never promises or refuses what the service decides otherwise."""
    return assurance_level >= required_level


class Company(Value):
    """A legal entity (شخص حقوقی) and the capacity in which the account holder acts for it."""

    company_name: str = Field(min_length=2, max_length=200)
    national_id: str = Field(pattern=r"^\d{11}$")
    economic_code: str | None = Field(default=None, pattern=r"^\d{10,14}$")
    capacity: Literal["owner", "representative", "attorney"] = "owner"


class RegistryRecord(Value):
    """What the civil registry answered about a person (استعلام ثبت احوال)."""

    first_name: str
    last_name: str
    father_name: str
    certificate_number: str
    certificate_serial: str
    gender: Literal["male", "female"]
    alive: bool
    birth_date: str  # Jalali yyyy/mm/dd


@registry.event("CitizenRegistered", 1)
class CitizenRegistered(Event):
    """A citizen or company opened an account; `method` says how (seed 000: registry, seed 001:
    mobile) and which checks it passed."""

    account_id: str
    national_code: str = Field(pattern=r"^\d{10}$")
    mobile: str = Field(pattern=r"^09\d{9}$")
    kind: Literal["natural", "legal"]
    full_name: str
    first_name: str
    last_name: str
    birth_date: str
    method: Literal["registry", "mobile"]
    registry: RegistryRecord | None = None
    company: Company | None = None
    registered_at: str


@registry.event("StaffCreated", 1)
class StaffCreated(Event):
    """An administrator (or the bootstrap) created a staff account."""

    account_id: str
    national_code: str = Field(pattern=r"^\d{10}$")
    full_name: str
    mobile: str = Field(pattern=r"^09\d{9}$")
    created_by: str
    created_at: str


@registry.event("PasswordSet", 1)
class PasswordSet(Event):
    """The account's password changed; only its Argon2 hash is kept."""

    account_id: str
    password_hash: str
    reason: Literal["register", "change", "reset", "admin", "bootstrap"]
    at: str


@registry.event("MobileChanged", 1)
class MobileChanged(Event):
    """The account holder proved a new mobile with a one-time code."""

    account_id: str
    mobile: str = Field(pattern=r"^09\d{9}$")
    previous_mobile: str
    at: str


@registry.event("ProfileUpdated", 1)
class ProfileUpdated(Event):
    """Contact details the account holder edited (verified identity fields are not editable)."""

    account_id: str
    email: str | None = None
    address: str | None = None
    landline: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: Company | None = None
    at: str


@registry.event("ShahkarChecked", 1)
class ShahkarChecked(Event):
    """Mobile-ownership check (شاهکار): does `mobile` belong to the account's national code."""

    account_id: str
    mobile: str
    matched: bool
    at: str


@registry.event("RegistryVerified", 1)
class RegistryVerified(Event):
    """The civil registry confirmed the account holder's identity (assurance level 3)."""

    account_id: str
    registry: RegistryRecord
    at: str


@registry.event("RoleGranted", 1)
class RoleGranted(Event):
    """An administrator gave a staff member a role, bound to a province or unit where needed."""

    account_id: str
    role: Literal["desk_officer", "clerk", "representative", "admin"]
    province: str | None = None
    unit: str | None = None
    granted_by: str
    at: str


@registry.event("RoleRevoked", 1)
class RoleRevoked(Event):
    """An administrator took a role away."""

    account_id: str
    role: Literal["desk_officer", "clerk", "representative", "admin"]
    revoked_by: str
    at: str


@registry.event("AccountDisabled", 1)
class AccountDisabled(Event):
    """An administrator disabled an account: it cannot sign in, and every open session of it
    ends at its next request."""

    account_id: str
    disabled_by: str
    reason: str = Field(min_length=1, max_length=500)
    at: str


@registry.event("AccountEnabled", 1)
class AccountEnabled(Event):
    """An administrator enabled a disabled account again (its holder signs in anew)."""

    account_id: str
    enabled_by: str
    reason: str = Field(min_length=1, max_length=500)
    at: str


SECURITY_EVENTS = ("PasswordSet", "RoleRevoked", "AccountDisabled", "AccountEnabled")
"""The account events that end its open sessions: a session keeps the account's count of them
(its security stamp) and is refused once the count differs. A granted role ends none: the
gateways read a session's roles afresh on every request."""


class Scan(Value):
    """One uploaded document of a verification case."""

    purpose: Literal["national_card", "birth_certificate", "power_of_attorney"]
    file: AttachmentRef


@registry.event("VerificationSubmitted", 2)
class VerificationSubmitted(Event):
    """The account holder sent the identity-verification form (round 1) or resubmitted it.

    v2 adds `province`: the province whose desk officers review the case (seed 004: the case
    goes to the desk officer of the applicant's province). None: any desk officer's (every v1
    case, and one sent without a province)."""

    case_id: str
    account_id: str
    round: int = Field(ge=1)
    national_code: str
    full_name: str
    father_name: str | None = None
    birth_date: str | None = None
    kind: Literal["natural", "legal"] = "natural"
    company: Company | None = None
    scans: tuple[Scan, ...] = ()
    note: str | None = None
    submitted_at: str
    province: str | None = None


@registry.upcaster("VerificationSubmitted", 1)
def _verification_submitted_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data)  # a v1 case named no province: any desk officer's, as it was


@registry.event("VerificationDraftSaved", 1, terminal=True)
class VerificationDraftSaved(Event):
    """Seed 004's «ثبت موقت»: the holder kept part of the verification form to finish later. It
    sends nothing to a desk officer; the next «ثبت و ارسال» starts from it (its scans too). Read
    from the case's own stream (no read model: the citizen's pages fold it, officers never see it)."""

    case_id: str
    account_id: str
    father_name: str | None = None
    note: str | None = None
    province: str | None = None
    scans: tuple[Scan, ...] = ()
    saved_at: str


@registry.event("VerificationApproved", 1)
class VerificationApproved(Event):
    """A desk officer confirmed the identity: access to e-services is granted at once."""

    case_id: str
    account_id: str
    officer: str
    round: int
    note: str | None = None
    at: str


@registry.event("VerificationRejected", 1)
class VerificationRejected(Event):
    """A desk officer sent the form back with a reason; the holder corrects and resubmits."""

    case_id: str
    account_id: str
    officer: str
    round: int
    reason: str = Field(min_length=1)
    at: str


@registry.event("EmailLinkIssued", 1, terminal=True)
class EmailLinkIssued(Event):
    """Seed 004: an activation link was e-mailed; the account can sign in once its holder opens
    it. Only the link's token hash is kept. Read from the account's own stream (no read model)."""

    account_id: str
    email: str
    token_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    expires_at: str
    at: str


@registry.event("EmailActivated", 1, terminal=True)
class EmailActivated(Event):
    """The holder opened the activation link: the e-mail is theirs and the account is active."""

    account_id: str
    email: str
    at: str


@registry.event("LoginSucceeded", 1, terminal=True)
class LoginSucceeded(Event):
    """Audit: someone signed in."""

    account_id: str
    method: Literal["password", "code", "mobile_code", "staff"]
    client: str
    at: str


@registry.event("LoginFailed", 3, terminal=True)
class LoginFailed(Event):
    """Audit: a sign-in was refused; `identifier` is what was typed (national code or mobile).

    v2 adds the reason `not_activated`: the credentials were right but the account still waits
    for its e-mail to be confirmed (v1 recorded nothing then). v3 adds `disabled`: the
    credentials were right but an administrator had disabled the account."""

    identifier: str
    account_id: str | None = None
    method: Literal["password", "code", "mobile_code", "staff", "staff_code"]
    client: str
    reason: Literal[
        "bad_password",
        "bad_code",
        "expired_code",
        "locked",
        "no_account",
        "captcha",
        "not_activated",
        "disabled",
    ]
    at: str


@registry.upcaster("LoginFailed", 1)
def _login_failed_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return data  # every v1 reason is a v2 reason


@registry.upcaster("LoginFailed", 2)
def _login_failed_v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return data  # every v2 reason is a v3 reason


register_messages(
    {
        "invalid_birth_date": (422, "تاریخ تولد معتبر نیست؛ مانند ۱۳۷۰/۰۵/۲۰ وارد کنید."),
        "invalid_national_id": (422, "شناسه ملی شرکت/موسسه معتبر نیست (۱۱ رقم با رقم کنترل درست)."),
        "invalid_economic_code": (422, "کد اقتصادی معتبر نیست."),
        "weak_password": (
            422,
            "کلمه عبور باید دست‌کم ۸ نویسه باشد و از کلمه‌های رایج و آسان (مانند ۱۲۳۴۵۶۷۸) یا کد ملی نباشد.",
        ),
        "passwords_differ": (422, "کلمه عبور و تکرار آن یکسان نیستند."),
        "deceased": (422, "بر اساس استعلام ثبت احوال، صاحب این کد ملی در قید حیات نیست؛ ثبت نام ممکن نیست."),
        "registry_mismatch": (422, "کد ملی و تاریخ تولد با اطلاعات ثبت احوال مطابقت ندارد."),
        "registry_unavailable": (
            503,
            "سامانه ثبت احوال اکنون پاسخ نمی‌دهد. اطلاعات شما حفظ شده است؛ "
            "چند لحظه دیگر دوباره «استعلام» بزنید.",
        ),
        "shahkar_unavailable": (
            503,
            "سامانه شاهکار اکنون پاسخ نمی‌دهد؛ چند لحظه دیگر دوباره «تطبیق کد ملی و شماره موبایل» را بزنید.",
        ),
        "shahkar_mismatch": (422, "شماره موبایل وارد شده به نام این کد ملی ثبت نشده است."),
        "already_registered": (
            409,
            "با این کد ملی پیش‌تر ثبت نام شده است؛ "
            "از «ورود» یا «کلمه عبور خود را فراموش کرده‌اید؟» استفاده کنید.",
        ),
        "mobile_in_use": (409, "این شماره موبایل برای حساب دیگری ثبت شده است."),
        "bad_credentials": (401, "نام کاربری یا کلمه عبور نادرست است."),
        "bad_code": (401, "کد تایید نادرست است یا اعتبار آن (۵ دقیقه) به پایان رسیده است؛ کد تازه بگیرید."),
        "locked": (429, "به دلیل تلاش‌های نادرست پیاپی، ورود موقتاً بسته شد؛ ۱۵ دقیقه دیگر دوباره تلاش کنید."),
        "captcha_required": (422, "لطفاً کد امنیتی را درست وارد کنید."),
        "sms_failed": (
            503,
            "ارسال پیامک اکنون ممکن نشد؛ کد شما معتبر است. چند لحظه دیگر «ارسال دوباره کد» را بزنید.",
        ),
        "account_not_found": (404, "حسابی با این مشخصات یافت نشد."),
        "case_not_found": (404, "درخواست تایید هویت یافت نشد."),
        "case_not_pending": (409, "این درخواست تایید هویت در انتظار بررسی نیست."),
        "already_verified": (409, "هویت شما پیش‌تر تایید شده است."),
        "verification_pending": (409, "درخواست تایید هویت شما در انتظار بررسی مسئول میز خدمت است."),
        "scans_required": (422, "تصویر کارت ملی و شناسنامه را بارگذاری کنید."),
        "attorney_required": (422, "برای نماینده یا وکیل، بارگذاری اسکن وکالت‌نامه الزامی است."),
        "file_too_large": (422, "حجم فایل بیش از حد مجاز است."),
        "file_type": (422, "فرمت فایل مجاز نیست؛ فقط pdf، jpg یا png."),
        "rejection_reason_required": (422, "برای عدم تایید، دلیل را بنویسید."),
        "role_scope_required": (
            422,
            "برای کارشناس دبیرخانه استان و برای پیگیری کننده واحد سازمانی را تعیین کنید.",
        ),
        "staff_exists": (409, "کارمندی با این کد ملی پیش‌تر تعریف شده است."),
        "account_disabled": (
            403,
            "حساب کاربری شما توسط مدیر سامانه غیرفعال شده است؛ "
            "برای فعال‌سازی دوباره با مدیر سامانه تماس بگیرید.",
        ),
        "own_account": (422, "مدیر سامانه نمی‌تواند حساب خود را غیرفعال کند."),
        "reason_required": (422, "دلیل این کار را بنویسید."),
        "email_required": (422, "پست الکترونیک معتبر وارد کنید؛ لینک فعال‌سازی حساب به آن فرستاده می‌شود."),
        "email_not_activated": (
            403,
            "حساب کاربری شما هنوز از طریق ایمیل فعال نشده است. لینک فعال‌سازی دوباره به نشانی ایمیل شما "
            "ارسال شد؛ با کلیک بر روی آن حساب خود را فعال کنید.",
        ),
        "bad_activation_link": (
            400,
            "لینک فعال‌سازی معتبر نیست. برای دریافت لینک تازه با کد ملی و کلمه عبور خود وارد شوید.",
        ),
        "activation_link_expired": (
            410,
            "اعتبار لینک فعال‌سازی به پایان رسیده است. "
            "برای دریافت لینک تازه با کد ملی و کلمه عبور خود وارد شوید.",
        ),
    }
)
