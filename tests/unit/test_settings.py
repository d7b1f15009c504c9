"""The typed settings (`infra/settings.py`): their defaults, the defaults made of other variables,
clear errors for wrong values, the README's table printed from them, and that nothing else in the
desk reads the environment."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from infra.db import PoolSettings, readmodel_url
from infra.eventstore import store_url
from infra.nameko_glue import Settings
from infra.settings import (
    KINDS,
    CommonSettings,
    ConfigurationError,
    GatewaySettings,
    IdentitySettings,
    NotifySettings,
    RequestsSettings,
    SecretariatSettings,
    SurveySettings,
    main,
    markdown,
)
from services.notify.lifecycle import Policy
from services.requests.lookups import TrackLimit
from services.secretariat.numbering import DEFAULT_FORMAT

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("contracts", "infra", "services", "gateway", "deploy")
"""The desk's own code: none of it reads the environment but `infra/settings.py`."""
ALLOWED = {
    ("deploy/run.py", "env = dict(os.environ)"): "the runner hands its environment on to the processes "
    "it starts, each of which reads its own settings",
    ("deploy/simulators/civil_registry.py", "CIVIL_REGISTRY_SLOW_SECONDS"): "a stand-in for an outside "
    "system, not part of the desk: how long it hangs is the tests' to say",
    ("deploy/simulators/shahkar.py", "SHAHKAR_SLOW_SECONDS"): "the same, for Shahkar's stand-in",
}
"""(file, a fragment of the line) → why that line may read the environment."""


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable of the settings set, whatever the machine running the tests has."""
    for kind in KINDS:
        for name in kind.model_fields:
            monkeypatch.delenv(name, raising=False)


def test_the_defaults() -> None:
    common = CommonSettings.load()
    assert common.EVENTSTORE_URL == "sqlite:///var/events.db"
    assert (common.DATABASE_URL, common.READMODEL_URL) == ("", "")
    assert str(common.PISHKHAN_VAR) == "var"
    assert common.ATTACHMENTS_DIR == common.PISHKHAN_VAR / "attachments"
    assert (common.DB_POOL_SIZE, common.DB_POOL_IDLE_SECONDS, common.SQLITE_SYNCHRONOUS) == (3, 30.0, "FULL")
    assert common.AMQP_URI == "pyamqp://guest:guest@127.0.0.1:5672/"
    assert common.EMAIL_ACTIVATION == "off"
    notify = NotifySettings.load()
    assert (notify.SMS_PROVIDER, notify.SMS_OUTBOX_URL) == ("outbox", "sqlite:///var/sms-outbox.db")
    assert notify.KAVENEGAR_URL == "https://api.kavenegar.com"
    assert IdentitySettings.load().IDENTITY_REGISTRY_CONNECTED is False
    assert RequestsSettings.load().SAMPLE_CATALOGUE is True
    secretariat = SecretariatSettings.load()
    assert (secretariat.HOLIDAYS, secretariat.WEEKEND_DAYS, secretariat.REGISTRATION_NUMBER_FORMATS) == (
        None,
        "fri",
        {},
    )
    assert GatewaySettings.load().SESSION_SECRET.get_secret_value() == ""


def test_the_settings_defaults_are_the_codes() -> None:
    """Where the code keeps a default of its own as well, the two agree."""
    assert PoolSettings.from_env() == PoolSettings()
    assert Policy.from_env() == Policy()
    assert TrackLimit.from_env() == TrackLimit()
    assert SecretariatSettings.load().REGISTRATION_NUMBER_FORMAT == DEFAULT_FORMAT


def test_defaults_made_of_other_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PISHKHAN_VAR", str(tmp_path))
    assert store_url() == f"sqlite:///{tmp_path / 'events.db'}"
    assert readmodel_url("survey") == f"sqlite:///{tmp_path / 'survey.db'}"
    attachments, outbox = CommonSettings.load().ATTACHMENTS_DIR, NotifySettings.load().SMS_OUTBOX_URL
    assert (attachments, outbox) == (tmp_path / "attachments", f"sqlite:///{tmp_path / 'sms-outbox.db'}")

    monkeypatch.setenv("DATABASE_URL", "postgresql://desk@db/pishkhan")
    assert store_url() == readmodel_url("survey") == "postgresql://desk@db/pishkhan"
    monkeypatch.setenv("EVENTSTORE_URL", "esdb://store:2113?Tls=false")
    monkeypatch.setenv("READMODEL_URL", "postgresql://desk@db/views")
    assert store_url() == "esdb://store:2113?Tls=false"
    assert readmodel_url("survey") == "postgresql://desk@db/views"

    monkeypatch.setenv("SMS_HTTP_URL", "http://sms:8000")
    assert NotifySettings.load().KAVENEGAR_URL == "http://sms:8000"
    monkeypatch.setenv("KAVENEGAR_URL", "https://kavenegar.example")
    assert NotifySettings.load().KAVENEGAR_URL == "https://kavenegar.example"


def test_an_empty_value_is_unset_but_where_it_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DB_POOL_SIZE", "EVENTSTORE_URL", "SQLITE_SYNCHRONOUS", "HOLIDAYS", "WEEKEND_DAYS"):
        monkeypatch.setenv(name, "")
    settings = SecretariatSettings.load()
    assert (settings.DB_POOL_SIZE, settings.EVENTSTORE_URL, settings.SQLITE_SYNCHRONOUS) == (
        3,
        "sqlite:///var/events.db",
        "FULL",
    )
    assert (settings.HOLIDAYS, settings.WEEKEND_DAYS) == ("", "")  # no holidays, no weekend


def test_values_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "7")
    monkeypatch.setenv("COOKIE_SECURE", "1")
    monkeypatch.setenv("SQLITE_SYNCHRONOUS", "normal")
    monkeypatch.setenv("EMAIL_ACTIVATION", " Required ")
    monkeypatch.setenv("REGISTRATION_NUMBER_FORMATS", '{"tehran": "{yy}/T/{sequence:06d}"}')
    assert GatewaySettings.load().DB_POOL_SIZE == 7
    assert GatewaySettings.load().COOKIE_SECURE is True
    assert CommonSettings.load().SQLITE_SYNCHRONOUS == "NORMAL"
    assert CommonSettings.load().EMAIL_ACTIVATION == "required"
    assert SecretariatSettings.load().REGISTRATION_NUMBER_FORMATS == {"tehran": "{yy}/T/{sequence:06d}"}


@pytest.mark.parametrize(
    ("kind", "name", "value"),
    [
        (CommonSettings, "DB_POOL_SIZE", "abc"),
        (CommonSettings, "DB_POOL_SIZE", "0"),
        (CommonSettings, "DB_POOL_IDLE_SECONDS", "-1"),
        (CommonSettings, "SQLITE_SYNCHRONOUS", "sometimes"),
        (CommonSettings, "EMAIL_ACTIVATION", "requried"),
        (IdentitySettings, "IDENTITY_MAX_UPLOAD_KB", "1MB"),
        (IdentitySettings, "IDENTITY_REGISTRY_CONNECTED", "perhaps"),
        (RequestsSettings, "TRACK_ATTEMPTS", "20 per 600"),
        (SecretariatSettings, "REGISTRATION_NUMBER_FORMATS", "{tehran: 1}"),
        (NotifySettings, "SMS_PROVIDER", "pigeon"),
        (GatewaySettings, "GATEWAY_CACHE_SECONDS", "ten"),
    ],
)
def test_a_wrong_value_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, kind: type[CommonSettings], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=f"(?i){name}={re.escape(repr(value))}"):
        kind.load()


def test_a_provider_without_its_address_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_PROVIDER", "http")
    with pytest.raises(ConfigurationError, match="SMS_PROVIDER=http needs SMS_HTTP_URL"):
        NotifySettings.load()


def test_a_secret_is_never_shown() -> None:
    settings = IdentitySettings.load({"IDENTITY_SECRET": "s3cr3t-value", "ADMIN_PASSWORD": "hunter2-hunter2"})
    assert settings.IDENTITY_SECRET.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t" not in repr(settings) and "hunter2" not in str(settings)


def test_settings_follow_the_environment_and_are_kept_while_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    first = SurveySettings.load()
    assert SurveySettings.load() is first  # built once while nothing changes
    monkeypatch.setenv("DB_POOL_SIZE", "5")
    assert SurveySettings.load().DB_POOL_SIZE == 5
    monkeypatch.delenv("DB_POOL_SIZE")
    assert SurveySettings.load().DB_POOL_SIZE == 3


def test_a_mapping_is_read_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """`load(mapping)` reads the mapping (a ConfigMap's data), never the process's environment."""
    monkeypatch.setenv("DB_POOL_IDLE_SECONDS", "99")
    settings = CommonSettings.load({"DB_POOL_SIZE": "4", "PISHKHAN_VAR": "/data", "UNRELATED": "x"})
    assert (settings.DB_POOL_SIZE, settings.DB_POOL_IDLE_SECONDS) == (4, 30.0)
    assert settings.EVENTSTORE_URL == "sqlite:////data/events.db"
    assert PoolSettings.from_env({"DB_POOL_SIZE": "2"}) == PoolSettings(size=2)
    with pytest.raises(ConfigurationError, match="DB_POOL_SIZE"):
        PoolSettings.from_env({"DB_POOL_SIZE": "0"})


def test_the_nameko_provider_injects_the_services_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = Settings(SecretariatSettings)
    provider.setup()
    injected = provider.get_dependency(worker_ctx=None)
    assert isinstance(injected, SecretariatSettings) and injected.WEEKEND_DAYS == "fri"
    monkeypatch.setenv("DEFAULT_EXPECTED_DAYS", "fifteen")
    with pytest.raises(ConfigurationError, match="DEFAULT_EXPECTED_DAYS"):
        Settings(SecretariatSettings).setup()  # the service does not start


def test_each_variable_is_declared_once() -> None:
    declared: dict[str, str] = {}
    for kind in KINDS[1:]:
        for name in set(kind.model_fields) - set(CommonSettings.model_fields):
            assert name not in declared, f"{name} in {declared.get(name)} and {kind.__name__}"
            declared[name] = kind.__name__
    assert all(field.description for kind in KINDS for field in kind.model_fields.values())


def test_the_readme_lists_every_variable_as_the_settings_declare_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration (environment variables)\n", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert "\n".join(table) + "\n" == markdown(), (
        "README's configuration table differs from infra/settings.py: "
        "paste the output of `python -m infra.settings --markdown` there"
    )


def test_the_table_is_printed_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--markdown"])
    assert capsys.readouterr().out == markdown()


def _environment_reads(path: Path) -> list[tuple[int, str]]:
    """The lines of `path` that touch `os.environ`, `os.getenv` or either imported bare."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bare = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "os"
        for alias in node.names
        if alias.name in ("environ", "getenv", "environb")
    }
    lines = path.read_text(encoding="utf-8").splitlines()
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "os" and node.attr in ("environ", "getenv", "environb"):
                found.add(node.lineno)
        elif isinstance(node, ast.Name) and node.id in bare:
            found.add(node.lineno)
    return [(number, lines[number - 1].strip()) for number in sorted(found)]


def test_only_the_settings_read_the_environment() -> None:
    reads = [
        (str(path.relative_to(ROOT)), number, line)
        for folder in SOURCES
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "infra" / "settings.py"
        for number, line in _environment_reads(path)
    ]
    unexpected = [
        f"{path}:{number}: {line}"
        for path, number, line in reads
        if not any(path == allowed and fragment in line for allowed, fragment in ALLOWED)
    ]
    assert not unexpected, "read it through infra/settings.py instead:\n" + "\n".join(unexpected)
