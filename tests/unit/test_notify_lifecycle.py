"""A message's life cycle: claim, outcome, bounded retries, receipts — and never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.envelope import StreamState
from contracts.events import new_event, registry
from contracts.notify import SmsDeferred, SmsDispatching, SmsFailed, SmsQueued, SmsSent
from services.notify.dispatch import Channels, dispatch, message_stream, record_receipt
from services.notify.lifecycle import Policy, messages
from services.notify.providers import Receipt
from tests.unit.test_notify_fakes import NotifyDesk

POLICY = Policy(max_attempts=3, first_retry=10, factor=2, lease=60)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _queue(desk: NotifyDesk, message_id: str = "m1") -> None:
    queued = SmsQueued(message_id=message_id, to="09121234567", template="reply_posted", text="سلام")
    desk.store.append(message_stream(message_id), [new_event(queued)], StreamState.NO_STREAM)


def _types(desk: NotifyDesk, message_id: str = "m1") -> list[str]:
    return [e.type for e in desk.store.read_stream(message_stream(message_id))]


def test_backoff_grows_and_the_last_attempt_is_a_technical_failure() -> None:
    queued = SmsQueued(message_id="m", to="09121234567", template="t", text="x")
    claim = SmsDispatching(message_id="m", attempt=1, provider="p")
    message = messages.fold([queued, claim])
    assert message is not None
    deferred = message.after_transient("p", "down", NOW, POLICY)
    assert isinstance(deferred, SmsDeferred)
    assert datetime.fromisoformat(deferred.retry_at) == NOW + timedelta(seconds=10)
    assert POLICY.backoff(2) == timedelta(seconds=20)
    last = messages.fold([queued, SmsDispatching(message_id="m", attempt=3, provider="p")])
    assert last is not None
    final = last.after_transient("p", "down", NOW, POLICY)
    assert isinstance(final, SmsFailed) and final.status == "technical_failure"


def test_a_final_state_ignores_late_records() -> None:
    queued = SmsQueued(message_id="m", to="09121234567", template="t", text="x")
    failed = SmsFailed(message_id="m", provider="p", reason="blocked")
    late = SmsSent(message_id="m", provider="p", provider_message_id="x")
    final = messages.fold([queued, failed, late])
    assert final is not None and final.status == "permanent_failure"
    fresh = messages.fold([queued])
    assert fresh is not None and fresh.due(NOW, POLICY)


def test_a_message_is_handed_over_once_however_often_it_is_dispatched(notify_desk: NotifyDesk) -> None:
    _queue(notify_desk)
    channels = Channels(notify_desk.sms)
    assert dispatch(notify_desk.store, channels, "m1", POLICY).status == "sent"  # type: ignore[union-attr]
    dispatch(notify_desk.store, channels, "m1", POLICY)
    dispatch(notify_desk.store, channels, "m1", POLICY, now=datetime.now(UTC) + timedelta(days=1))
    assert len(notify_desk.sms.calls) == 1
    assert _types(notify_desk) == ["SmsQueued", "SmsDispatching", "SmsSent"]


def test_an_instance_that_loses_the_claim_does_not_call_the_provider(notify_desk: NotifyDesk) -> None:
    _queue(notify_desk)
    channels = Channels(notify_desk.sms)
    second: list[object] = []
    # While the first instance is inside the provider call, a second one tries the same message.
    notify_desk.sms.script = [lambda: second.append(dispatch(notify_desk.store, channels, "m1", POLICY))]
    dispatch(notify_desk.store, channels, "m1", POLICY)
    assert len(notify_desk.sms.calls) == 1
    assert second[0].status  # type: ignore[attr-defined] == "dispatching"


def test_a_claim_abandoned_by_a_crash_is_retried_with_the_same_key(notify_desk: NotifyDesk) -> None:
    _queue(notify_desk)
    now = datetime.now(UTC).isoformat()
    claim = SmsDispatching(message_id="m1", attempt=1, provider="fake", claimed_at=now)
    notify_desk.store.append(message_stream("m1"), [new_event(claim)], 0)  # then the process died
    channels = Channels(notify_desk.sms)
    assert dispatch(notify_desk.store, channels, "m1", POLICY).status == "dispatching"  # type: ignore[union-attr]
    assert notify_desk.sms.calls == []  # the claim is fresh: maybe someone is still sending
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert dispatch(notify_desk.store, channels, "m1", POLICY, now=later).status == "sent"  # type: ignore[union-attr]
    assert notify_desk.sms.sent_ids == ["m1"]


def test_temporary_failures_are_retried_with_back_off_then_end_in_a_final_status(
    notify_desk: NotifyDesk,
) -> None:
    _queue(notify_desk, "m1")
    _queue(notify_desk, "m2")
    channels = Channels(notify_desk.sms)
    notify_desk.sms.script = ["transient", "ok"]
    first = dispatch(notify_desk.store, channels, "m1", POLICY)
    assert first is not None and first.status == "deferred" and first.retry_at is not None
    assert dispatch(notify_desk.store, channels, "m1", POLICY).status == "deferred"  # type: ignore[union-attr]
    retried = dispatch(notify_desk.store, channels, "m1", POLICY, now=first.retry_at)
    assert retried is not None and (retried.status, retried.attempts) == ("sent", 2)

    notify_desk.sms.script = ["transient"] * 3
    message = dispatch(notify_desk.store, channels, "m2", POLICY)
    while message is not None and message.status == "deferred":
        message = dispatch(notify_desk.store, channels, "m2", POLICY, now=message.retry_at)
    assert message is not None and (message.status, message.attempts) == ("technical_failure", 3)
    assert [c[0] for c in notify_desk.sms.calls].count("m2") == 3


def test_receipts_and_permanent_failures_are_recorded_once(notify_desk: NotifyDesk) -> None:
    _queue(notify_desk, "m1")
    _queue(notify_desk, "m2")
    channels = Channels(notify_desk.sms)
    notify_desk.sms.script = ["ok", "permanent"]
    dispatch(notify_desk.store, channels, "m1", POLICY)
    failed = dispatch(notify_desk.store, channels, "m2", POLICY)
    assert failed is not None and failed.status == "permanent_failure"
    assert "promotional" in (failed.reason or "")
    for _ in range(2):
        delivered = record_receipt(notify_desk.store, "m1", Receipt("delivered"))
    assert delivered is not None and delivered.status == "delivered"
    assert _types(notify_desk).count("SmsDelivered") == 1
    notify_desk.catch_up()
    with notify_desk.db.read.connect() as conn:
        statuses = dict(conn.exec_driver_sql("select message_id, status from notify_status").all())
    assert statuses == {"m1": "delivered", "m2": "permanent_failure"}


def test_old_versions_of_queued_and_failed_read_as_the_new_ones() -> None:
    assert registry.upcast("SmsFailed", 1, {"message_id": "m", "provider": "p", "reason": "r"})["status"] == (
        "permanent_failure"
    )
    old = {"message_id": "m", "to": "0912", "template": "t", "text": "x", "request_id": None}
    assert SmsQueued.model_validate(registry.upcast("SmsQueued", 1, old)).channel == "sms"


def test_the_sweeper_retries_what_is_due_and_polls_receipts(notify_desk: NotifyDesk) -> None:
    from services.notify.commands import poll_receipts, retry_due

    notify_desk.sms.script = ["transient"]
    _queue(notify_desk, "m1")
    channels, policy = Channels(notify_desk.sms), Policy()
    dispatch(notify_desk.store, channels, "m1", policy)  # tried once: deferred for five seconds
    notify_desk.catch_up()
    assert retry_due(notify_desk.store, notify_desk.db.read, channels, policy) == 0
    later = datetime.now(UTC) + timedelta(seconds=6)
    assert retry_due(notify_desk.store, notify_desk.db.read, channels, policy, now=later) == 1
    notify_desk.catch_up()
    assert _types(notify_desk)[-2:] == ["SmsDispatching", "SmsSent"]
    notify_desk.sms.receipts_by_id["p-m1"] = Receipt("failed", "undelivered")
    assert poll_receipts(notify_desk.store, notify_desk.db.read, channels, timedelta(days=1)) == 1
    notify_desk.catch_up()
    assert retry_due(notify_desk.store, notify_desk.db.read, channels, policy, now=later) == 0
    assert _types(notify_desk)[-1] == "SmsFailed"
    assert len(notify_desk.sms.calls) == 2


def test_a_code_abandoned_by_its_caller_ends_as_a_technical_failure_never_resent(
    notify_desk: NotifyDesk,
) -> None:
    code = SmsQueued(
        message_id="c1", to="09121234567", template="otp_login", text="کد: ******", one_time_code=True
    )
    notify_desk.store.append(message_stream("c1"), [new_event(code)], StreamState.NO_STREAM)
    notify_desk.catch_up()  # the planner sends what it queued; a code is its caller's to send
    assert notify_desk.sms.calls == []
    abandoned = dispatch(notify_desk.store, Channels(notify_desk.sms), "c1", POLICY)
    assert abandoned is not None and (abandoned.status, abandoned.reason) == (
        "technical_failure",
        "abandoned one-time code",
    )
    assert notify_desk.sms.calls == []


def test_two_instances_that_read_the_same_version_claim_it_once(
    notify_desk: NotifyDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    _queue(notify_desk)
    channels = Channels(notify_desk.sms)
    append = notify_desk.store.append
    raced: list[object] = []

    def append_after_the_other(stream: str, events: list[Any], expected: Any = StreamState.ANY) -> Any:
        if not raced and events[0].type == "SmsDispatching":
            raced.append("racing")  # the second instance read the same version and claims first
            raced.append(dispatch(notify_desk.store, channels, "m1", POLICY))
        return append(stream, events, expected)

    monkeypatch.setattr(notify_desk.store, "append", append_after_the_other)
    mine = dispatch(notify_desk.store, channels, "m1", POLICY)
    assert getattr(raced[1], "status", None) == "sent"
    assert mine is not None and mine.status == "sent"  # read back: the other instance's outcome
    assert len(notify_desk.sms.calls) == 1
    assert _types(notify_desk) == ["SmsQueued", "SmsDispatching", "SmsSent"]
