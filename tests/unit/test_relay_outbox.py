"""The relay's projection and webhook sender against a real SQLite store and read model, with a
fake broker and a fake HTTP post (our own ports): what is published, to whom deliveries go, what
a partner receives signed, and how failures end in a paused webhook."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import WebhookVerificationError

from contracts import integration as ie
from contracts.envelope import StreamState, TransientError
from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.partners import (
    PartnerAdded,
    PartnerRevoked,
    PartnerWebhookPaused,
    PartnerWebhookResumed,
    partner_stream,
)
from contracts.requests import Applicant, RequestSubmitted
from contracts.secretariat import CaseReferred, NumberAssigned
from infra.db import Database
from infra.partner_keys import api_key_hash, webhook_secret
from infra.projections import ProjectionRunner
from services.relay import queries
from services.relay.outbox import Relay, create_outbox, deliveries_table
from services.relay.webhooks import Deliverer, Policy, signer

MASTER = b"test-master-secret"


class FakeBroker:
    def __init__(self, failures: int = 0) -> None:
        self.published: list[ie.IntegrationEvent] = []
        self.failures = failures

    def publish(self, events: Sequence[ie.IntegrationEvent]) -> None:
        if events and self.failures:
            self.failures -= 1
            raise TransientError("broker away")
        self.published.extend(events)


def _partner(store: EventStore, name: str, unit: str = "", webhook: str = "") -> str:
    partner_id = uuid.uuid4().hex
    event = PartnerAdded(
        partner_id=partner_id,
        name=name,
        unit=unit,
        webhook_url=webhook,
        key_hash=api_key_hash(f"pk_{partner_id}"),
        key_prefix="pk_abcdef",
        added_by="admin",
    )
    store.append(partner_stream(partner_id), [new_event(event)], StreamState.NO_STREAM)
    return partner_id


def _submit(store: EventStore, unit: str | None) -> tuple[str, str]:
    request_id, code = uuid.uuid4().hex, str(uuid.uuid4().int)[:12]
    event = RequestSubmitted(
        request_id=request_id,
        tracking_code=code,
        applicant=Applicant(
            national_code="0084575948", full_name="مریم کاظمی", mobile="09123456789", email="m@example.org"
        ),
        province="tehran",
        unit=unit,
        service_id="10012134001",
        subject="درخواست",
        text="متن محرمانه",
        submitted_at=datetime.now(UTC).isoformat(),
    )
    store.append(f"request-{request_id}", [new_event(event)])
    return request_id, code


@pytest.fixture
def relay(tmp_path: Path, store: EventStore) -> tuple[ProjectionRunner, FakeBroker, Database]:
    broker = FakeBroker()
    db = Database(f"sqlite:///{tmp_path / 'relay.db'}")
    runner = ProjectionRunner(store, db, [Relay(broker)], backoff=0.01)
    runner.setup()
    create_outbox(db)
    return runner, broker, db


def _deliveries(db: Database) -> list[dict[str, object]]:
    with db.read.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(deliveries_table).order_by("position"))]


def test_integration_events_carry_no_personal_data_and_go_to_partners_in_scope(
    store: EventStore, relay: tuple[ProjectionRunner, FakeBroker, Database]
) -> None:
    runner, broker, db = relay
    everyone = _partner(store, "استانداری", webhook="http://hooks.example/a")
    unit_one = _partner(store, "شهرداری", unit="u-1", webhook="http://hooks.example/b")
    _partner(store, "بی‌وب‌هوک")  # no webhook: the feed only
    first, code = _submit(store, "u-1")
    _submit(store, "u-2")
    store.append(
        f"request-{first}",
        [
            new_event(
                NumberAssigned(
                    request_id=first,
                    secretariat="tehran",
                    year=1405,
                    sequence=7,
                    registration_number="1405/7",
                    clerk="c",
                )
            )
        ],
    )
    runner.run_once()

    assert [e.type for e in broker.published] == [ie.SUBMITTED, ie.SUBMITTED, ie.REGISTERED]
    submitted = broker.published[0].cloudevent()
    assert submitted["subject"] == code and submitted["source"] == ie.SOURCE
    assert submitted["data"]["unit"] == "u-1" and submitted["data"]["status"] == "submitted"
    text = json.dumps([e.cloudevent() for e in broker.published], ensure_ascii=False)
    for private in ("0084575948", "09123456789", "m@example.org", "مریم", "محرمانه"):
        assert private not in text
    assert broker.published[2].data.registration_number == "1405/7"
    assert broker.published[2].subject == code  # NumberAssigned has no tracking code: the relay knows it

    rows = _deliveries(db)
    assert sorted((r["partner_id"], r["type"]) for r in rows) == sorted(
        [
            (everyone, ie.SUBMITTED),
            (everyone, ie.SUBMITTED),
            (everyone, ie.REGISTERED),
            (unit_one, ie.SUBMITTED),
            (unit_one, ie.REGISTERED),
        ]
    )
    page = queries.feed(db.read, 0, 10, "u-1")
    assert [e["event"]["subject"] for e in page["events"]] == [code, code]
    assert len(queries.feed(db.read, 0, 10, "")["events"]) == 3


def test_a_referral_brings_the_request_into_the_referred_units_scope(
    store: EventStore, relay: tuple[ProjectionRunner, FakeBroker, Database]
) -> None:
    runner, broker, db = relay
    request_id, _ = _submit(store, "u-1")
    referral = CaseReferred(request_id=request_id, unit="u-9", instruction="بررسی شود", actor="c")
    store.append(f"case-{request_id}", [new_event(referral)])
    runner.run_once()
    assert broker.published[-1].type == ie.REFERRED
    assert broker.published[-1].scope == ("u-1", "u-9")
    assert [e["event"]["type"] for e in queries.feed(db.read, 0, 10, "u-9")["events"]] == [ie.REFERRED]


def test_a_broker_that_refuses_holds_the_checkpoint_and_nothing_is_queued_twice(
    store: EventStore, tmp_path: Path
) -> None:
    broker = FakeBroker(failures=2)
    db = Database(f"sqlite:///{tmp_path / 'relay.db'}")
    runner = ProjectionRunner(store, db, [Relay(broker)], backoff=0.01)
    runner.setup()
    create_outbox(db)
    _partner(store, "استانداری", webhook="http://hooks.example/a")
    _submit(store, None)
    runner.run_once()
    assert [e.type for e in broker.published] == [ie.SUBMITTED]  # retried, never skipped
    assert len(_deliveries(db)) == 1
    assert runner.parked() == []


def test_webhooks_are_signed_per_standard_webhooks_and_a_revoked_partner_gets_nothing(
    store: EventStore, relay: tuple[ProjectionRunner, FakeBroker, Database]
) -> None:
    runner, _, db = relay
    good = _partner(store, "استانداری", webhook="http://hooks.example/good")
    gone = _partner(store, "قدیمی", webhook="http://hooks.example/gone")
    _submit(store, None)
    runner.run_once()
    store.append(
        partner_stream(gone), [new_event(PartnerRevoked(partner_id=gone, reason="پایان", revoked_by="a"))]
    )
    runner.run_once()
    calls: list[tuple[str, bytes, dict[str, str]]] = []

    def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        calls.append((url, body, headers))

    deliverer = Deliverer(db, store, lambda p, g: webhook_secret(p, g, MASTER), Policy(), post)
    deliverer.tick()
    _wait(lambda: calls)
    time.sleep(0.2)
    assert [url for url, _, _ in calls] == ["http://hooks.example/good"]
    _, body, headers = calls[0]
    verified = signer(webhook_secret(good, 1, MASTER)).verify(body, headers)
    assert verified["type"] == ie.SUBMITTED
    assert headers["webhook-id"] == _deliveries(db)[0]["delivery_id"]
    with pytest.raises(WebhookVerificationError):  # the other partner's secret
        signer(webhook_secret(gone, 1, MASTER)).verify(body, headers)
    statuses = {r["partner_id"]: r["status"] for r in _deliveries(db)}
    assert statuses == {good: "delivered", gone: "cancelled"}


def test_a_webhook_failing_past_its_retry_window_pauses_the_partner(
    store: EventStore, relay: tuple[ProjectionRunner, FakeBroker, Database]
) -> None:
    runner, _, db = relay
    partner = _partner(store, "کند", webhook="http://hooks.example/down")
    _submit(store, None)
    _submit(store, None)
    runner.run_once()
    attempts: list[float] = []

    def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        attempts.append(time.monotonic())
        raise ConnectionError("refused")

    policy = Policy(retry_for=0.5, first_retry=0.05, max_wait=0.1)
    deliverer = Deliverer(db, store, lambda p, g: webhook_secret(p, g, MASTER), policy, post)
    deadline = time.monotonic() + 10
    while not any(
        e.type == PartnerWebhookPaused.type_name for e in store.read_stream(partner_stream(partner))
    ):
        assert time.monotonic() < deadline, "never paused"
        deliverer.tick()
        time.sleep(0.05)
    assert len(attempts) >= 3  # retried with back-off before giving up
    runner.run_once()
    rows = _deliveries(db)
    assert [r["status"] for r in rows] == ["failed", "pending"]  # the second waits for a resume
    log = queries.deliveries(db.read, partner)
    assert log["webhook_status"] == "paused" and "تلاش" in log["paused_reason"]
    count = len(attempts)
    deliverer.tick()
    time.sleep(0.2)
    assert len(attempts) == count  # nothing is sent to a paused webhook

    # The administrator resumes it: what was given up on and what waited are sent, in order.
    resumed = PartnerWebhookResumed(partner_id=partner, resumed_by="admin")
    store.append(partner_stream(partner), [new_event(resumed)])
    runner.run_once()
    sent: list[str] = []
    deliverer.send = lambda url, body, headers, timeout: sent.append(headers["webhook-id"])
    deliverer.tick()
    _wait(lambda: len(sent) == 2)
    assert sent == [row["delivery_id"] for row in rows]
    _wait(lambda: [r["status"] for r in _deliveries(db)] == ["delivered", "delivered"])


def _wait(check: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_rebuild_replays_without_publishing_or_queueing_again_and_keeps_the_outbox(
    store: EventStore, relay: tuple[ProjectionRunner, FakeBroker, Database]
) -> None:
    runner, broker, db = relay
    _partner(store, "استانداری", webhook="http://hooks.example/a")
    _submit(store, "u-1")
    runner.run_once()
    before = _deliveries(db)
    feed_before = queries.feed(db.read, 0, 10, "")
    (projection,) = runner.projections
    runner.rebuild(projection)
    assert len(broker.published) == 1
    assert _deliveries(db) == before
    assert queries.feed(db.read, 0, 10, "") == feed_before


def test_a_slow_partner_never_delays_another(
    store: EventStore, relay: tuple[ProjectionRunner, FakeBroker, Database]
) -> None:
    runner, _, db = relay
    _partner(store, "کند", webhook="http://hooks.example/slow")
    _partner(store, "تند", webhook="http://hooks.example/fast")
    for _ in range(3):
        _submit(store, None)
    runner.run_once()
    release = threading.Event()
    fast: list[float] = []

    def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
        if url.endswith("/slow"):
            release.wait(10)
        else:
            fast.append(time.monotonic())

    deliverer = Deliverer(db, store, lambda p, g: webhook_secret(p, g, MASTER), Policy(), post)
    started = time.monotonic()
    deliverer.tick()
    try:
        _wait(lambda: len(fast) == 3, timeout=5)  # all three while the slow one holds its first
        assert fast[-1] - started < 5
    finally:
        release.set()
    _wait(lambda: all(r["status"] == "delivered" for r in _deliveries(db)))  # the slow one's too, in turn
