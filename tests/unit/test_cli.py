"""The operations command: replay rebuilds the same rows and sends nothing; audit shows history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from contracts.rpc import SubmitRequest
from infra import cli
from infra.db import Database, default_url
from infra.eventstore import open_store
from services.read_models import read_models
from services.requests import commands
from services.requests.projections import requests_table
from tests.flow import build_desk
from tests.unit.test_skeleton_flow import CITIZEN


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_replay_rebuilds_read_models_and_audit_prints_the_stream(
    jobs: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PISHKHAN_VAR", str(tmp_path))
    for name in ("EVENTSTORE_URL", "DATABASE_URL", "READMODEL_URL"):
        monkeypatch.delenv(name, raising=False)
    store = open_store()
    desk = build_desk(store, tmp_path)  # read models at var/<service>.db, as the services keep them
    submitted = commands.submit(store, SubmitRequest.model_validate(CITIZEN))
    desk.catch_up()
    sent_before = desk.outbox.messages()

    requests_db = Database(default_url("requests"))
    with requests_db.read.connect() as conn:
        before = [tuple(r) for r in conn.execute(sa.select(requests_table))]

    cli.main(["replay", "--jobs", jobs])  # with 2, projections are rebuilt in two worker processes
    output = capsys.readouterr().out
    assert re.search(r"^requests: [\w.]+: 1 events in .*; switched in at position \d+$", output, re.M), output
    assert len(output.strip().splitlines()) == sum(len(p) for p in read_models().values())
    with requests_db.read.connect() as conn:
        assert [tuple(r) for r in conn.execute(sa.select(requests_table))] == before
    assert desk.outbox.messages() == sent_before

    cli.main(["audit", f"request-{submitted['request_id']}", "--format", "jsonl"])
    events = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    submission = next(event for event in events if event["type"] == "RequestSubmitted")
    assert submission["actor"] == "citizen:0084575948"
    assert "SmsQueued" in [event["type"] for event in events]  # the request's history spans streams
    with pytest.raises(SystemExit, match="no events"):
        cli.main(["audit", "request-missing"])
    requests_db.dispose()
    store.close()
