"""`pishkhan partners`: an operator adds, lists, rotates and revokes partners on a SQLite store, and
the key the command printed authenticates (through identity's read model) until it is revoked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.errors import DomainError
from contracts.partners import AddPartner
from infra import cli
from infra.db import Database
from infra.eventstore import open_store
from infra.partner_keys import webhook_secret
from infra.projections import ProjectionRunner
from services.identity import partners
from services.identity.partners_view import Partners


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PISHKHAN_VAR", str(tmp_path))
    monkeypatch.setenv("PARTNERS_SECRET", "the tests' master secret")
    for name in ("EVENTSTORE_URL", "DATABASE_URL", "READMODEL_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    cli.main(["partners", *argv])
    lines = capsys.readouterr().out.strip().splitlines()
    return [json.loads(line) for line in lines]


def test_add_list_rotate_revoke(var: Path, capsys: pytest.CaptureFixture[str]) -> None:
    [added] = run(capsys, "add", "--name", "شهرداری منطقه ۳", "--webhook", "https://partner.example/hook")
    assert set(added) == {"id", "api_key", "webhook_secret"}
    partner_id, key = str(added["id"]), str(added["api_key"])
    assert key.startswith("pk_") and len(key) == 35
    assert added["webhook_secret"] == webhook_secret(partner_id, 1)
    assert str(added["webhook_secret"]).startswith("whsec_")

    store = open_store()
    db = Database(f"sqlite:///{var / 'identity-partners.db'}")
    runner = ProjectionRunner(store, db, [Partners()])
    runner.setup()
    runner.run_once()
    assert partners.authenticate(db, key) == {
        "partner_id": partner_id,
        "name": "شهرداری منطقه ۳",
        "unit": "",
        "webhook_url": "https://partner.example/hook",
        "generation": 1,
    }

    [listed] = run(capsys, "list")
    assert (listed["partner_id"], listed["status"], listed["generation"]) == (partner_id, "active", 1)
    assert "key_hash" not in listed and key not in json.dumps(listed)

    [rotated] = run(capsys, "rotate", partner_id)
    new_key = str(rotated["api_key"])
    assert new_key != key and rotated["id"] == partner_id
    assert rotated["webhook_secret"] == webhook_secret(partner_id, 2) != added["webhook_secret"]
    runner.run_once()
    with pytest.raises(DomainError, match="invalid_api_key"):
        partners.authenticate(db, key)  # the old key stopped working
    assert partners.authenticate(db, new_key)["generation"] == 2

    [revoked] = run(capsys, "revoke", partner_id, "--reason", "پایان قرارداد")
    assert revoked == {"id": partner_id, "status": "revoked"}
    runner.run_once()
    with pytest.raises(DomainError) as refused:
        partners.authenticate(db, new_key)
    assert refused.value.code == "invalid_api_key"  # the same answer as an unknown key
    [listed] = run(capsys, "list")
    assert listed["status"] == "revoked"
    assert [row["status"] for row in partners.listing(db)] == ["revoked"]

    with pytest.raises(SystemExit) as rotating_revoked:
        cli.main(["partners", "rotate", partner_id])
    assert rotating_revoked.value.code == 1
    assert "partner_revoked" in capsys.readouterr().err
    db.dispose()
    store.close()


def test_a_unit_nobody_defined_or_a_bad_webhook_is_refused(
    var: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as unknown:
        cli.main(["partners", "add", "--name", "سمن محله", "--unit", "no-such-unit"])
    assert unknown.value.code == 1 and "unknown_unit" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        cli.main(["partners", "add", "--name", "سمن محله", "--webhook", "ftp://x"])
    assert bad.value.code == 1 and "invalid_webhook_url" in capsys.readouterr().err
    assert run(capsys, "list") == []


def test_a_repeated_add_shows_no_key_again_and_records_nothing(var: Path) -> None:
    store = open_store()
    form = AddPartner(name="سمن محله", actor="cli")
    operator = partners.Actor("cli", operator=True)
    first = partners.add(store, form, operator)
    with pytest.raises(DomainError) as repeated:
        partners.add(store, form, operator)  # the same form sent again (a reload)
    assert repeated.value.code == "partner_key_shown_once"
    assert [p["partner_id"] for p in partners.from_history(store)] == [first["id"]]
    store.close()
