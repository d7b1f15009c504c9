"""RPC payloads of the identity service: what a gateway may ask, validated and normalised."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.catalogue import PROVINCES
from contracts.fields import (
    BirthDate,
    Digits,
    Email,
    Mobile,
    NationalCode,
    NationalId,
    OptionalDigits,
    Text,
    check_full_name,
)
from contracts.identity import Company
from contracts.rpc import COMMAND_FIELDS, Payload

Client = Annotated[str, Field(min_length=1, max_length=64)]
Ticket = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Code = Annotated[Digits, Field(pattern=r"^[0-9]{4,8}$")]


class CaptchaAnswer(BaseModel):
    """A captcha as the form sent it back: identity's token for the image shown, and what was
    typed (Persian, Arabic or Latin digits)."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(pattern=r"^[0-9a-f]{32}\.\d{1,12}\.[0-9a-f]{64}$")
    answer: str = Field(max_length=20)


class CaptchaRequest(Payload):
    """A form about to be shown asks whether it needs a captcha (and gets one if so); `force`
    asks for one anyway (the form was just refused). Public tracking (`track`) always forces:
    its limit is kept by the requests service, which the gateway asks first."""

    purpose: Literal["login", "staff_login", "login_code", "mobile_code", "reset", "register", "track"]
    client: Client = "unknown"
    force: bool = False
    kind: Literal["image", "text"] = "image"
    """`text`: the accessible alternative (a question in Persian words) instead of the image."""


class CaptchaCheck(Payload):
    """A form whose limit another service keeps (public tracking) asks identity whether its
    captcha was solved; the check spends the challenge."""

    captcha: CaptchaAnswer


class CompanyInput(Payload):
    """A legal entity as typed on a form."""

    company_name: Text = Field(min_length=2, max_length=200)
    national_id: NationalId
    economic_code: OptionalDigits = None
    capacity: Literal["owner", "representative", "attorney"] = "owner"

    @model_validator(mode="after")
    def _economic_code(self) -> CompanyInput:
        if self.economic_code == "":
            self.economic_code = None
        if self.economic_code is not None and not re.fullmatch(r"\d{10,14}", self.economic_code):
            raise ValueError("invalid_economic_code")
        return self

    def value(self) -> Company:
        """As the event value."""
        return Company(**self.model_dump(exclude=set(COMMAND_FIELDS)))


class RegistryInquiry(Payload):
    """Seed 000's «استعلام»: national code and birth date."""

    national_code: NationalCode
    birth_date: BirthDate
    client: Client = "unknown"
    captcha: CaptchaAnswer | None = None


class StartRegistration(Payload):
    """Both ways of registering: `registry` (seed 000) fills names from the civil registry;
    `mobile` (seed 001) takes them as typed and checks the mobile with Shahkar afterwards."""

    method: Literal["registry", "mobile"]
    national_code: NationalCode
    birth_date: BirthDate
    mobile: Mobile
    first_name: Text | None = Field(default=None, max_length=100)
    last_name: Text | None = Field(default=None, max_length=100)
    password: str = Field(max_length=200)
    kind: Literal["natural", "legal"] = "natural"
    company: CompanyInput | None = None
    email: Email | None = None
    client: Client = "unknown"
    captcha: CaptchaAnswer | None = None

    @model_validator(mode="after")
    def _fields(self) -> StartRegistration:
        if self.method == "mobile" and not (self.first_name and self.last_name):
            raise ValueError("invalid_input")
        if self.kind == "legal" and self.company is None:
            raise ValueError("invalid_national_id")
        check_full_name(self.first_name, self.last_name)
        return self


class ActivateEmail(Payload):
    """The account and token of an e-mailed activation link (seed 004)."""

    account_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    token: str = Field(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")


class CodeAnswer(Payload):
    """The one-time code the user typed for a ticket."""

    ticket: Ticket
    code: Code
    client: Client = "unknown"


class RequestLoginCode(Payload):
    """One-time-code login by national code (seed 001) or by mobile (seed 002, after a captcha)."""

    national_code: NationalCode | None = None
    mobile: Mobile | None = None
    client: Client = "unknown"
    captcha: CaptchaAnswer | None = None

    @model_validator(mode="after")
    def _one(self) -> RequestLoginCode:
        if (self.national_code is None) == (self.mobile is None):
            raise ValueError("invalid_input")
        return self


class PasswordLogin(Payload):
    """Login by national code and password."""

    national_code: NationalCode
    password: str = Field(max_length=200)
    client: Client = "unknown"
    captcha: CaptchaAnswer | None = None


class RequestReset(Payload):
    """Forgotten password: the code goes to the account's mobile, if the pair matches."""

    national_code: NationalCode
    mobile: Mobile
    client: Client = "unknown"
    captcha: CaptchaAnswer | None = None


class ResetPassword(CodeAnswer):
    """A new password, proven by the code sent to the account's mobile."""

    new_password: str = Field(max_length=200)


class ChangePassword(Payload):
    """A signed-in user changes their password."""

    account_id: str
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)
    client: Client = "unknown"


class UpdateProfile(Payload):
    """Editable contact details; names only while not verified by the registry or an officer."""

    account_id: str
    email: Text | None = Field(default=None, max_length=200)
    address: Text | None = Field(default=None, max_length=500)
    landline: OptionalDigits = Field(default=None, max_length=20)
    first_name: Text | None = Field(default=None, max_length=100)
    last_name: Text | None = Field(default=None, max_length=100)
    company: CompanyInput | None = None

    @model_validator(mode="after")
    def _name_fits(self) -> UpdateProfile:
        check_full_name(self.first_name, self.last_name)
        return self


class ChangeMobile(Payload):
    """Start proving a new mobile (a code goes to the new number)."""

    account_id: str
    mobile: Mobile
    client: Client = "unknown"


class RegistryCheck(Payload):
    """A seed-001 account asks the civil registry to verify it (level 3)."""

    account_id: str
    birth_date: BirthDate
    client: Client = "unknown"


class UploadedFile(Payload):
    """A scan sent through RPC (base64, as JSON carries no bytes)."""

    purpose: Literal["national_card", "birth_certificate", "power_of_attorney"]
    name: Text = Field(min_length=1, max_length=200)
    content_base64: str = Field(max_length=8_000_000)


class SubmitVerification(Payload):
    """The identity-verification form (seed 004), first round or a resubmission."""

    account_id: str
    father_name: Text | None = Field(default=None, max_length=100)
    note: Text | None = Field(default=None, max_length=2000)
    files: list[UploadedFile] = Field(default_factory=list, max_length=3)
    province: str | None = Field(default=None, max_length=50)
    """Whose desk officers review it (`contracts.catalogue.PROVINCES`); None: any desk officer."""

    @field_validator("province")
    @classmethod
    def _known_province(cls, value: str | None) -> str | None:
        if value is not None and value not in PROVINCES:
            raise ValueError("invalid_province")
        return value


class Decide(Payload):
    """A desk officer's decision on a verification case."""

    case_id: str = Field(min_length=1, max_length=64)
    officer: str = Field(min_length=1, max_length=100)
    decision: Literal["approve", "reject"]
    reason: Text | None = Field(default=None, max_length=2000)


class StaffLogin(Payload):
    """Staff login, first step: national code and password (a code follows by SMS)."""

    national_code: NationalCode
    password: str = Field(max_length=200)
    client: Client = "unknown"
    captcha: CaptchaAnswer | None = None


Role = Literal["desk_officer", "clerk", "representative", "admin"]


class RoleScope(Payload):
    """A role with what binds it: a clerk's province (a desk officer's, if any), a
    representative's unit. The province is one of `PROVINCES` (`invalid_province`); the unit
    must be one the catalogue defines, which identity reads from the unit's stream
    (`unknown_unit`). An empty choice is no choice."""

    role: Role | None = None
    province: str | None = Field(default=None, max_length=50)
    unit: str | None = Field(default=None, max_length=64)

    @field_validator("province")
    @classmethod
    def _listed_province(cls, value: str | None) -> str | None:
        if value and value not in PROVINCES:
            raise ValueError("invalid_province")
        return value or None

    @field_validator("unit")
    @classmethod
    def _chosen_unit(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _scope(self) -> RoleScope:
        if (self.role == "clerk" and not self.province) or (self.role == "representative" and not self.unit):
            raise ValueError("role_scope_required")
        return self


class CreateStaff(RoleScope):
    """An administrator creates a staff account with an initial password, and with its first
    role when `role` is given (both recorded together, or neither)."""

    admin: str = Field(min_length=1, max_length=100)
    national_code: NationalCode
    full_name: Text = Field(min_length=2, max_length=200)
    mobile: Mobile
    password: str = Field(max_length=200)


class Grant(RoleScope):
    """An administrator grants a role (a clerk's with a province, a representative's with a unit)."""

    admin: str = Field(min_length=1, max_length=100)
    account_id: str = Field(min_length=1, max_length=64)
    role: Role


class Revoke(Payload):
    """An administrator takes a role away: the role alone names it (whatever its scope)."""

    admin: str = Field(min_length=1, max_length=100)
    account_id: str = Field(min_length=1, max_length=64)
    role: Role


class AccountAccess(Payload):
    """An administrator disables an account (or enables it again), saying why."""

    admin: str = Field(min_length=1, max_length=100)
    account_id: str = Field(min_length=1, max_length=64)
    reason: Text | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _reason(self) -> AccountAccess:
        if not self.reason:
            raise ValueError("reason_required")
        return self
