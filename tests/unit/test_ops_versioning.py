"""Old event versions stay readable: stored v1 events are upcast and replayed by the real projections."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa

import contracts  # noqa: F401 - fills the registry
from contracts.envelope import NewEvent
from contracts.events import registry
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.ops.replay import replay_projection, verify_projection
from infra.projections import ProjectionRunner, parked_table
from services.read_models import read_models

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
REQUEST_ID = uuid.uuid4().hex
MESSAGE_ID = uuid.uuid4().hex

V1_SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "RequestSubmitted": (
        f"request-{REQUEST_ID}",
        {
            "request_id": REQUEST_ID,
            "tracking_code": "140300000017",
            "applicant": {"national_code": "0084575948", "full_name": "مریم کاظمی", "mobile": "09123456789"},
            "province": "tehran",
            "subject": "درخواست مجوز",
            "text": "متن نسخهٔ نخست",
            "submitted_at": "2024-03-01T08:00:00+00:00",
        },
    ),
    "ReplyPosted": (
        f"case-{REQUEST_ID}",
        {
            "request_id": REQUEST_ID,
            "reply_id": uuid.uuid4().hex,
            "kind": "final",
            "body": "پاسخ نهایی نسخهٔ نخست",
            "clerk": "clerk-1",
            "posted_at": "2024-03-03T08:00:00+00:00",
        },
    ),
    "SmsQueued": (
        f"sms-{MESSAGE_ID}",
        {"message_id": MESSAGE_ID, "to": "09123456789", "template": "request_received", "text": "ثبت شد"},
    ),
    "SmsDispatching": (
        f"sms-{MESSAGE_ID}",
        {"message_id": MESSAGE_ID, "attempt": 1, "provider": "outbox"},
    ),
    "SmsFailed": (
        f"sms-{MESSAGE_ID}",
        {"message_id": MESSAGE_ID, "provider": "outbox", "reason": "شماره نامعتبر"},
    ),
    "LoginFailed": (
        "identity-audit-2024-03-01",
        {
            "identifier": "0084575948",
            "method": "password",
            "client": "127.0.0.1",
            "reason": "bad_password",
            "at": "2024-03-01T08:00:00+00:00",
        },
    ),
    "VerificationSubmitted": (
        "verification-2024",
        {
            "case_id": "2024",
            "account_id": "citizen-2024",
            "round": 1,
            "national_code": "0084575948",
            "full_name": "مریم کاظمی",
            "submitted_at": "2024-03-01T08:00:00+00:00",
        },
    ),
}
"""One stored v1 event of every type that has a newer version (each valid against its v1 schema)."""


def _changed_types() -> set[str]:
    return {name for name, model in registry.types.items() if model.version > 1}


def test_every_changed_type_has_a_v1_sample_that_its_v1_schema_accepts() -> None:
    missing = _changed_types() - set(V1_SAMPLES)
    assert not missing, f"add a stored v1 sample of {sorted(missing)} to V1_SAMPLES"
    for name, (_stream, data) in V1_SAMPLES.items():
        schema = json.loads((SCHEMAS / f"{name}.v1.json").read_text())
        jsonschema.validate(data, schema)


@pytest.mark.parametrize("name", sorted(V1_SAMPLES))
def test_a_stored_v1_event_reads_as_the_current_version(store: SqlEventStore, name: str) -> None:
    stream, data = V1_SAMPLES[name]
    store.append(stream, [NewEvent(name, data, version=1)])
    (recorded,) = store.read_all()
    assert recorded.version == 1 and recorded.data == data  # the stored bytes never change
    event = registry.decode(recorded)
    assert type(event) is registry.model(name) and event.version == registry.model(name).version
    for field, value in data.items():
        shown = getattr(event, field)
        assert (shown.model_dump(exclude_defaults=True) if hasattr(shown, "model_dump") else shown) == value


def test_old_versions_replay_through_every_read_model_without_parking(
    store: SqlEventStore, tmp_path: Path
) -> None:
    for name in ("RequestSubmitted", "ReplyPosted", "SmsQueued", "SmsFailed", "VerificationSubmitted"):
        stream, data = V1_SAMPLES[name]
        store.append(stream, [NewEvent(name, data, version=1)])
    databases = {service: Database(f"sqlite:///{tmp_path / service}.db") for service in read_models()}
    for service, projections in read_models().items():
        runner = ProjectionRunner(store, databases[service], projections, backoff=0.01)
        runner.setup()
        runner.run_once()
        for projection in projections:  # and once more, as `pishkhan replay` does
            replay_projection(store, databases[service], projection)
            assert verify_projection(store, databases[service], projection).difference is None
        with databases[service].read.connect() as conn:
            parked = [dict(row._mapping) for row in conn.execute(sa.select(parked_table))]
        assert parked == [], f"{service} parked an upcast event: {parked}"
        databases[service].dispose()
    queued = [e for e in store.read_all() if e.type == "SmsQueued" and e.version > 1]
    # The planner read the v1 submission as v2: it queued the receipt to the v1 applicant's mobile.
    assert any(e.data["to"] == "09123456789" and e.data.get("request_id") == REQUEST_ID for e in queued)
