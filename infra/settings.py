"""The desk's configuration: every environment variable a process reads, typed, with its default
and its meaning, in one place.

A process builds the settings of its kind when it needs them (`IdentitySettings.load()`, …), from
the environment as it is then: a test that sets a variable sees it, and nothing is read at import.
A Nameko service also gets them injected (`infra.nameko_glue.Settings`), which reads and checks
them when the service starts, so a wrong value stops it at once with an error naming the variable
instead of failing the first call that needs it.

Field names are the variables' names, unchanged: deployments set them. An empty value counts as
unset (as `os.environ.get(NAME) or default` did), except where a class says otherwise in
`KEEP_EMPTY`. The README's configuration table is printed from these classes
(`python -m infra.settings --markdown`) and a unit test keeps the two in step, so a variable
added here is documented there.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, cast

from pydantic import (
    Field,
    Json,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

STORE = "services, `pishkhan`"
"""Who reads the store's and read models' variables: the services and the operations command."""


class ConfigurationError(ValueError):
    """A variable of the environment that does not hold what its setting needs."""


def sqlite_file(var: str | Path, name: str) -> str:
    """The embedded default of a database: `sqlite:///<var>/<name>.db`."""
    return f"sqlite:///{Path(var) / name}.db"


def _given(data: dict[str, Any], name: str) -> Any:
    """The value set for `name`, or None when it is unset or empty."""
    value = data.get(name)
    return None if value in (None, "") else value


class CommonSettings(BaseSettings):
    """What every process shares: the event store, the read models, RabbitMQ, the `var` folder."""

    model_config = SettingsConfigDict(case_sensitive=True, frozen=True, extra="ignore")

    used_by: ClassVar[str] = "all"
    """Who reads this class's own variables, for the README (a field may say otherwise)."""
    KEEP_EMPTY: ClassVar[frozenset[str]] = frozenset()
    """Variables whose empty value means "none" rather than "unset"."""

    EVENTSTORE_URL: str = Field(
        "",
        description="the event store: `sqlite:///…`, `postgresql://user@host/db`, or "
        "`esdb://host:2113?Tls=false` (EventStoreDB/KurrentDB)",
        json_schema_extra={"used_by": STORE, "shown": "`DATABASE_URL`, else `sqlite:///var/events.db`"},
    )
    DATABASE_URL: str = Field(
        "",
        description="PostgreSQL (or SQLite) for the store and every read model",
        json_schema_extra={"used_by": STORE},
    )
    READMODEL_URL: str = Field(
        "",
        description="where services keep read models (tables are prefixed by service)",
        json_schema_extra={"used_by": STORE, "shown": "`DATABASE_URL`, else `sqlite:///var/<service>.db`"},
    )
    PISHKHAN_VAR: Path = Field(
        Path("var"),
        description="folder of the embedded SQLite files, of the secrets made on first start "
        "(`identity-secret`, `session-secret`) and of the attachments",
    )
    ATTACHMENTS_DIR: Path = Field(
        Path("var/attachments"),
        description="where attached files and identity scans are kept, by content hash (one folder "
        "shared by every replica)",
        json_schema_extra={"used_by": "identity, requests, gateways", "shown": "`var/attachments`"},
    )
    AMQP_URI: str = Field(
        "pyamqp://guest:guest@127.0.0.1:5672/",
        description="RabbitMQ for RPC; a cluster's nodes separated by `;` (kombu's failover list, "
        "`pyamqp://…@node-1:5672/pishkhan;pyamqp://…@node-2:5672/pishkhan;…`): a process that "
        "loses its node moves to the next",
        json_schema_extra={"used_by": "services, gateways"},
    )
    RPC_EXCHANGE: str = Field(
        "nameko-rpc",
        description="the RabbitMQ exchange RPC calls go through (services read it through "
        "`deploy/nameko.yaml`)",
        json_schema_extra={"used_by": "services, gateways"},
    )
    SQLITE_SYNCHRONOUS: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = Field(
        "FULL",
        description="SQLite durability (`FULL` or `NORMAL`)",
        json_schema_extra={"used_by": STORE},
    )
    DB_POOL_SIZE: int = Field(
        3,
        ge=1,
        description="PostgreSQL: the most connections one pool of a process holds (a service has two, "
        "and one listening connection: a desk at most 35; see docs/operations/connections.md)",
        json_schema_extra={"used_by": STORE},
    )
    DB_POOL_IDLE_SECONDS: float = Field(
        30.0,
        gt=0,
        description="PostgreSQL: a pooled connection unused this long is closed (a resting desk holds "
        "at most 15)",
        json_schema_extra={"used_by": STORE},
    )
    EVENTSTORE_SIGNING_KEY: SecretStr = Field(
        SecretStr(""),
        description="an Ed25519 seed (64 hex digits, `pishkhan heads --new-key`) with which the store "
        "signs heads of its history (`pishkhan heads`, `integrity --against`); empty: no heads",
        json_schema_extra={"used_by": STORE},
    )
    HEAD_EVERY_EVENTS: int = Field(
        1000,
        ge=1,
        description="with a signing key: the store signs a head after this many events appended by a process",
        json_schema_extra={"used_by": STORE},
    )
    HEAD_EVERY_SECONDS: float = Field(
        300.0,
        gt=0,
        description="with a signing key: … or after this many seconds of appends, whichever comes first",
        json_schema_extra={"used_by": STORE},
    )
    EMAIL_ACTIVATION: Literal["off", "required"] = Field(
        "off",
        description="`required`: new citizen accounts must open an e-mailed activation link before "
        "signing in (seed 004)",
        json_schema_extra={"used_by": "identity, gateways"},
    )
    MAX_WORKERS: int = Field(
        20,
        ge=1,
        description="Nameko: calls and events one service process handles at once (`deploy/nameko.yaml`)",
        json_schema_extra={"used_by": "services"},
    )
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO",
        description="the services' log level (`deploy/nameko.yaml`)",
        json_schema_extra={"used_by": "services"},
    )
    PARTNERS_SECRET: SecretStr = Field(
        SecretStr(""),
        description="the master key partners' webhook secrets are derived from (HMAC-SHA256 of "
        "`<partner>:<generation>`; the same wherever partners' keys or webhooks are handled)",
        json_schema_extra={"used_by": "identity, relay, cli", "shown": "`var/partners-secret` (made once)"},
    )
    HEALTHZ_PORT: int = Field(
        8080,
        ge=1,
        le=65535,
        description="in a cluster: the port of the probe beside each service (`deploy/healthz.py`: "
        "`/healthz`, `/healthz?ready=1`)",
        json_schema_extra={"used_by": "services"},
    )

    @model_validator(mode="before")
    @classmethod
    def _derive(cls, data: Any) -> Any:
        """The defaults made of other variables: the store and the read models default to
        `DATABASE_URL`, the store then to a SQLite file under `PISHKHAN_VAR`, the attachments to
        a folder there."""
        if not isinstance(data, dict):
            return data
        var = _given(data, "PISHKHAN_VAR") or "var"
        database = _given(data, "DATABASE_URL") or ""
        return {
            **data,
            "EVENTSTORE_URL": _given(data, "EVENTSTORE_URL") or database or sqlite_file(var, "events"),
            "READMODEL_URL": _given(data, "READMODEL_URL") or database,
            "ATTACHMENTS_DIR": _given(data, "ATTACHMENTS_DIR") or Path(var) / "attachments",
        }

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        """`NAME=` (set but empty) is the default, unless `NAME` is in `KEEP_EMPTY`."""
        name = info.field_name
        if value == "" and name is not None and name not in cls.KEEP_EMPTY:
            return cls.model_fields[name].get_default(call_default_factory=True)
        return value

    @field_validator("SQLITE_SYNCHRONOUS", "LOG_LEVEL", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("EMAIL_ACTIVATION", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() or value if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _environ.get()
        if environ is not None:
            return (init_settings, _Variables(settings_cls, environ))
        return (init_settings, env_settings, dotenv_settings, file_secret_settings)

    def email_activation_required(self) -> bool:
        """Whether new citizen accounts are activated by an e-mailed link (seed 004)."""
        return self.EMAIL_ACTIVATION == "required"

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Self:
        """The settings of the process's environment as it is now (or of `environ` alone).

        Building them costs a quarter of a millisecond, and some are read on every call (a
        page's template, a code's check): the last one built is kept while the variables it
        reads hold the same values. Raises `ConfigurationError` naming each wrong variable."""
        if environ is not None:
            token = _environ.set(environ)
            try:
                return cls._build()
            finally:
                _environ.reset(token)
        key = tuple(map(os.environ.get, cls.model_fields))
        kept = _loaded.get(cls)
        if kept is not None and kept[0] == key:
            return cast(Self, kept[1])
        settings = cls._build()
        _loaded[cls] = (key, settings)
        return settings

    @classmethod
    def _build(cls) -> Self:
        try:
            return cls()
        except ValidationError as error:
            raise ConfigurationError(describe(cls, error)) from error


_loaded: dict[type[CommonSettings], tuple[tuple[str | None, ...], CommonSettings]] = {}
"""The settings last built of each kind, with the values of the variables they were built from."""
_environ: ContextVar[Mapping[str, str] | None] = ContextVar("environ", default=None)
"""The variables `load(environ)` reads instead of the process's environment."""


class _Variables(PydanticBaseSettingsSource):
    """The variables of a mapping (a ConfigMap's data, a test's), in place of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.environ.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        return {name: value for name, value in self.environ.items() if name in fields}


def describe(kind: type[BaseSettings], error: ValidationError) -> str:
    """One line per wrong variable: its name, what it holds (unless it is a secret) and why."""
    problems = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        field = kind.model_fields.get(name)
        secret = field is not None and field.annotation is SecretStr
        value = "" if not name or secret else f"={item['input']!r}"
        where = ".".join(str(part) for part in item["loc"])
        problems.append(f"{where}{value}: {item['msg']}" if where else item["msg"])
    return f"{kind.__name__}: " + "; ".join(problems)


class IdentitySettings(CommonSettings):
    """The identity service's: the first administrator, limits, secrets, outside registries."""

    used_by: ClassVar[str] = "identity"

    ADMIN_NATIONAL_CODE: str = Field(
        "",
        description="the first administrator's national code; with `ADMIN_PASSWORD` and `ADMIN_MOBILE` "
        "the account is made once, when identity starts (`deploy/up.sh` makes a demo one)",
    )
    ADMIN_PASSWORD: SecretStr = Field(SecretStr(""), description="the first administrator's password")
    ADMIN_MOBILE: str = Field("", description="the first administrator's mobile (sign-in codes go there)")
    IDENTITY_SECRET: SecretStr = Field(
        SecretStr(""),
        description="the HMAC key of one-time codes and captchas (the same on every identity replica)",
        json_schema_extra={"shown": "`var/identity-secret` (made once)"},
    )
    IDENTITY_CODE_SECONDS: int = Field(300, ge=1, description="seconds a one-time code stays valid")
    IDENTITY_MAX_CODE_TRIES: int = Field(
        5, ge=1, description="wrong tries of one one-time code before it is burnt"
    )
    IDENTITY_LOCK_SECONDS: int = Field(
        900,
        ge=1,
        description="how long a locked account stays locked, and the window the other limits count in",
    )
    IDENTITY_CODES_PER_MOBILE: int = Field(
        5, ge=0, description="one-time codes one mobile may get in a window"
    )
    IDENTITY_CODES_PER_CLIENT: int = Field(
        30, ge=0, description="one-time code requests from one address in a window before a captcha is asked"
    )
    IDENTITY_FAILURES_PER_ACCOUNT: int = Field(
        5, ge=1, description="wrong passwords or codes for one account before it is locked"
    )
    IDENTITY_FAILURES_PER_CLIENT: int = Field(
        20,
        ge=0,
        description="failures from one address in a window past which its captcha gets a sixth digit "
        "(never a lock-out)",
    )
    IDENTITY_CAPTCHA_AFTER: int = Field(
        3, ge=0, description="failures from one address after which every sign-in form asks a captcha"
    )
    IDENTITY_MAX_UPLOAD_KB: int = Field(
        1024, ge=1, description="the largest identity-verification scan, in KB"
    )
    IDENTITY_REGISTRY_CONNECTED: bool = Field(
        False,
        description="`1`: the civil registry is connected, so scans are optional on the verification form",
    )
    CIVIL_REGISTRY_URL: str = Field(
        "http://127.0.0.1:8101", description="the civil registry's inquiry API (استعلام ثبت احوال)"
    )
    CIVIL_REGISTRY_TIMEOUT: float = Field(
        3.0, gt=0, description="seconds before the civil registry counts as away"
    )
    SHAHKAR_URL: str = Field("http://127.0.0.1:8102", description="Shahkar's mobile-ownership API (شاهکار)")
    SHAHKAR_TIMEOUT: float = Field(3.0, gt=0, description="seconds before Shahkar counts as away")
    PUBLIC_CITIZEN_URL: str = Field(
        "http://127.0.0.1:8000",
        description="the citizen gateway's public address, used in e-mailed links",
    )
    IDENTITY_TEST_CODES_FILE: Path | None = Field(
        None, description="tests only: one-time codes are also appended to this file (never in production)"
    )


class RequestsSettings(CommonSettings):
    """The requests service's: the sample catalogue, the public tracking limit."""

    used_by: ClassVar[str] = "requests"

    SAMPLE_CATALOGUE: bool = Field(True, description="`0`: the sample catalogue is not offered at start")
    TRACK_ATTEMPTS: str = Field(
        "20/600",
        pattern=r"^\d+(/(\d+(\.\d*)?)?)?$",
        description="failed public tracking look-ups per address within so many seconds "
        "(`failures/seconds`); past them a captcha (the API answers 429)",
    )
    SUPPORT_ANSWER_DAYS: int = Field(
        2, ge=0, description="working days support has to answer a citizen's support ticket (then overdue)"
    )


class SecretariatSettings(CommonSettings):
    """The secretariat's: registration numbers and the working-day calendar."""

    used_by: ClassVar[str] = "secretariat"
    KEEP_EMPTY: ClassVar[frozenset[str]] = frozenset({"HOLIDAYS", "WEEKEND_DAYS"})

    REGISTRATION_NUMBER_FORMAT: str = Field(
        "{year}/{code}/{sequence}",
        description="how registration numbers print (Python format; fields: year, yy, code — the "
        "province's numeric code, secretariat — its name, sequence; e.g. `{year}/{code}/{sequence:05d}`)",
    )
    REGISTRATION_NUMBER_FORMATS: Json[dict[str, str]] = Field(
        cast(Any, "{}"),  # the JSON text, as the environment holds it
        description='JSON object: secretariat → format, e.g. `{"tehran": "{yy}/T/{sequence:06d}"}` '
        "(fields: year, yy, code, secretariat, sequence)",
        json_schema_extra={"shown": "—"},
    )
    HOLIDAYS: str | None = Field(
        None,
        description="comma-separated Jalali dates: `MM/DD` every year, `YYYY/MM/DD` one year (empty: none)",
        json_schema_extra={"shown": "the fixed solar holidays"},
    )
    HOLIDAYS_FILE: Path | None = Field(None, description="more holidays, one a line")
    WEEKEND_DAYS: str = Field("fri", description="non-working weekdays, e.g. `thu,fri` (empty: none)")
    DEFAULT_EXPECTED_DAYS: int = Field(
        15, ge=0, description="working days to reply when the catalogue's `ServicePublished` names none"
    )


class NotifySettings(CommonSettings):
    """The notify service's: the SMS provider, retries, e-mail."""

    used_by: ClassVar[str] = "notify"

    SMS_PROVIDER: Literal["outbox", "http", "kavenegar"] = Field(
        "outbox",
        description="`outbox` keeps messages in `SMS_OUTBOX_URL` and the notify log; `http`: a JSON "
        "gateway at `SMS_HTTP_URL`; `kavenegar`: Kavenegar's API",
    )
    SMS_OUTBOX_URL: str = Field(
        "",
        description="the outbox's database",
        json_schema_extra={"shown": "`sqlite:///var/sms-outbox.db`"},
    )
    SMS_HTTP_URL: str = Field("", description="the JSON SMS gateway (`SMS_PROVIDER=http` needs it)")
    SMS_TIMEOUT: float = Field(
        5.0, gt=0, description="seconds before a provider call counts as a temporary failure"
    )
    KAVENEGAR_URL: str = Field(
        "",
        description="Kavenegar's API",
        json_schema_extra={"shown": "`SMS_HTTP_URL`, else `https://api.kavenegar.com`"},
    )
    KAVENEGAR_API_KEY: SecretStr = Field(SecretStr(""), description="Kavenegar's API key")
    KAVENEGAR_SENDER: str = Field("", description="Kavenegar's sender line")
    NOTIFY_MAX_ATTEMPTS: int = Field(5, ge=1, description="tries of one message before it fails for good")
    NOTIFY_FIRST_RETRY: float = Field(
        5.0,
        ge=0,
        description="seconds before the first retry; the n-th waits `NOTIFY_RETRY_FACTOR`^(n-1) "
        "times as long",
    )
    NOTIFY_RETRY_FACTOR: float = Field(
        4.0, gt=0, description="how much longer each retry waits than the one before"
    )
    NOTIFY_LEASE: float = Field(
        60.0, gt=0, description="seconds a claimed message is left to its claimant before it is tried again"
    )
    SMTP_URL: str = Field(
        "", description="e-mail through this server: `smtp://host:port` or `smtp+starttls://…`"
    )
    SMTP_SIMULATOR_URL: str = Field(
        "", description="without `SMTP_URL`: the test SMTP server (`deploy/simulators/smtp.py`)"
    )
    MAIL_FROM: str = Field("no-reply@pishkhan.local", description="the sender of e-mails")

    @model_validator(mode="before")
    @classmethod
    def _derive_providers(cls, data: Any) -> Any:
        """The outbox defaults to a SQLite file under `PISHKHAN_VAR`; Kavenegar's address to
        `SMS_HTTP_URL`, then to Kavenegar's own."""
        if not isinstance(data, dict):
            return data
        var = _given(data, "PISHKHAN_VAR") or "var"
        return {
            **data,
            "SMS_OUTBOX_URL": _given(data, "SMS_OUTBOX_URL") or sqlite_file(var, "sms-outbox"),
            "KAVENEGAR_URL": _given(data, "KAVENEGAR_URL")
            or _given(data, "SMS_HTTP_URL")
            or "https://api.kavenegar.com",
        }

    @model_validator(mode="after")
    def _provider_reachable(self) -> Self:
        if self.SMS_PROVIDER == "http" and not self.SMS_HTTP_URL:
            raise ValueError("SMS_PROVIDER=http needs SMS_HTTP_URL")
        return self


class RelaySettings(CommonSettings):
    """The relay's: how long and how often a partner's webhook is tried (`services/relay`)."""

    used_by: ClassVar[str] = "relay"

    RELAY_RETRY_FOR: float = Field(
        86_400.0,
        gt=0,
        description="seconds a webhook delivery is retried before it fails and the partner's webhook "
        "is paused (the administrator resumes it on the partners page)",
    )
    RELAY_FIRST_RETRY: float = Field(
        5.0, gt=0, description="seconds before a failed webhook is tried again; doubled each time"
    )
    RELAY_MAX_WAIT: float = Field(
        3_600.0, gt=0, description="the longest wait between two tries of a webhook"
    )
    RELAY_WEBHOOK_TIMEOUT: float = Field(
        10.0, gt=0, description="seconds a partner's webhook has to answer before the try counts as failed"
    )


class SurveySettings(CommonSettings):
    """The survey service reads nothing of its own."""

    used_by: ClassVar[str] = "survey"


class GatewaySettings(CommonSettings):
    """The citizen and back-office gateways'."""

    used_by: ClassVar[str] = "gateways"

    GATEWAY_HOST: str = Field("127.0.0.1", description="where gateways listen (`deploy/run.py`)")
    GATEWAY_CACHE_SECONDS: float = Field(
        10.0,
        ge=0,
        description="how long a gateway process keeps the catalogue's unit and service lists for the "
        "cartable's search form and the ready-made replies page (a unit added by an administrator "
        "shows there after at most this long)",
    )
    SESSION_SECRET: SecretStr = Field(
        SecretStr(""),
        description="signs the session cookies (the same on every gateway replica)",
        json_schema_extra={"shown": "`var/session-secret` (made once)"},
    )
    COOKIE_SECURE: bool = Field(False, description="`1`: session cookies travel over HTTPS only")
    REPLY_PDF_FONT: Path | None = Field(
        None,
        description="a TTF with Persian glyphs for the PDF reply",
        json_schema_extra={"shown": "Vazirmatn, Noto Sans Arabic or DejaVu Sans, the first installed"},
    )
    WEB_PACKAGES_DIR: Path = Field(
        Path(__file__).resolve().parents[1] / "var" / "npm" / "node_modules",
        description="the npm packages the gateways serve (the Vazirmatn font, the Jalali date picker), "
        "installed by `deploy/bootstrap.sh` from `deploy/npm/package.json`; without them pages fall "
        "back to DejaVu Sans",
        json_schema_extra={"shown": "`var/npm/node_modules` of the checkout"},
    )


KINDS: tuple[type[CommonSettings], ...] = (
    CommonSettings,
    IdentitySettings,
    RequestsSettings,
    SecretariatSettings,
    NotifySettings,
    RelaySettings,
    SurveySettings,
    GatewaySettings,
)
"""Every kind of settings, in the README's order."""


def _default(field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "shown" in extra:
        return str(extra["shown"])
    value = field.get_default(call_default_factory=True)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        return f"`{int(value)}`"
    if value in ("", None) or isinstance(value, SecretStr):
        return "—"
    return f"`{value}`"


def rows() -> Iterator[tuple[str, str, str, str]]:
    """(variable, used by, default, meaning) of every variable, each once, by the kind that
    declares it."""
    for kind in KINDS:
        inherited = CommonSettings.model_fields if kind is not CommonSettings else {}
        for name, field in kind.model_fields.items():
            if name in inherited:
                continue
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            used_by = str(extra.get("used_by", kind.used_by))
            yield f"`{name}`", used_by, _default(field), field.description or ""


def markdown() -> str:
    """The README's configuration table."""
    lines = ["| variable | used by | default | meaning |", "| --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The desk's environment variables.")
    parser.add_argument("--markdown", action="store_true", help="print the README's configuration table")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(), end="")
    else:
        for name, used_by, default, meaning in rows():
            print(f"{name.strip('`')} ({used_by}; default {default}): {meaning}")


if __name__ == "__main__":
    main()
