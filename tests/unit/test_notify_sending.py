"""The sender: claimed messages handed over outside the planner's pass, each recipient's in
order, a claim that waited past its lease left to the retries, and a drain that says whether
everything went out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts.envelope import RecordedEvent
from contracts.events import derived_id, new_event
from contracts.eventstore import EventStore
from contracts.notify import SmsQueued
from contracts.secretariat import CaseTaken
from infra.eventstore import open_store
from services.notify.dispatch import Channels, Claimed, claim, message_stream, queue
from services.notify.lifecycle import Policy
from services.notify.providers import Delivery, SmsProvider
from services.notify.sending import Sender

POLICY = Policy(max_attempts=3, first_retry=10, factor=2, lease=60)


@dataclass
class Gated(SmsProvider):
    """Records each hand-over; a call to a number in `held` waits until `open` is set."""

    name: str = "gated"
    held: set[str] = field(default_factory=set)
    open: threading.Event = field(default_factory=threading.Event)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def send(self, message_id: str, to: str, text: str) -> Delivery:
        self.calls.append((to, text))
        if to in self.held:
            assert self.open.wait(30)
        return Delivery(provider_message_id=f"p-{message_id}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'events.db'}")
    yield opened
    opened.close()


def _claimed(store: EventStore, channels: Channels, message_id: str, to: str, text: str) -> Claimed:
    queued = SmsQueued(message_id=message_id, to=to, template="reply_posted", text=text)
    queue(store, queued, _cause(store, message_id), "queued", None)
    taken = claim(store, channels, message_id, POLICY)
    assert isinstance(taken, Claimed)
    return taken


def _cause(store: EventStore, message_id: str) -> RecordedEvent:
    """An event for the message to be caused by."""
    store.append(f"cause-{message_id}", [new_event(CaseTaken(request_id=message_id, actor="c"))])
    return store.read_stream(f"cause-{message_id}")[0]


def _types(store: EventStore, message_id: str) -> list[str]:
    return [event.type for event in store.read_stream(message_stream(message_id))]


def test_one_recipient_waits_for_its_own_earlier_message_and_no_one_else_does(store: EventStore) -> None:
    sms = Gated(held={"09120000000"})
    channels = Channels(sms)
    sender = Sender(channels, POLICY, width=4)
    sender.submit(store, _claimed(store, channels, "a1", "09120000000", "first"), "first")
    sender.submit(store, _claimed(store, channels, "a2", "09120000000", "second"), "second")
    for n in range(5):
        sender.submit(store, _claimed(store, channels, f"b{n}", f"0912000000{n + 1}", "other"), "other")
    others = [f"0912000000{n + 1}" for n in range(5)]
    deadline = time.monotonic() + 30
    while sorted(to for to, _ in sms.calls if to != "09120000000") != others:
        assert time.monotonic() < deadline, "the other recipients waited for the held one"
        time.sleep(0.01)
    assert not sender.drain(0.1)  # the held call is still out
    assert ("09120000000", "second") not in sms.calls  # behind its recipient's first message
    sms.open.set()
    assert sender.drain(30)
    assert [text for to, text in sms.calls if to == "09120000000"] == ["first", "second"]
    assert all(_types(store, m)[-1] == "SmsSent" for m in ("a1", "a2", *(f"b{n}" for n in range(5))))


def test_a_claim_that_waited_past_its_lease_is_left_to_the_retries(store: EventStore) -> None:
    sms = Gated()
    channels = Channels(sms)
    queued = SmsQueued(message_id="m1", to="09121234567", template="reply_posted", text="سلام")
    queue(store, queued, _cause(store, "m1"), "queued", None)
    long_ago = datetime.now(UTC) - timedelta(seconds=POLICY.lease + 1)
    taken = claim(store, channels, "m1", POLICY, now=long_ago)
    assert isinstance(taken, Claimed)
    sender = Sender(channels, POLICY)
    sender.submit(store, taken, "سلام")
    assert sender.drain(30)
    assert sms.calls == []
    assert _types(store, "m1") == ["SmsQueued", "SmsDispatching"]  # its lease is over: retry_due's


def test_every_record_after_the_first_is_caused_by_it_and_named_after_it(store: EventStore) -> None:
    sms = Gated()
    channels = Channels(sms)
    cause = _cause(store, "m1")
    queued = SmsQueued(message_id="m1", to="09121234567", template="reply_posted", text="سلام")
    taken = queue(store, queued, cause, "queued:reply_posted", "gated")  # queued and claimed at once
    assert taken is not None
    sender = Sender(channels, POLICY)
    sender.submit(store, taken, "سلام")
    assert sender.drain(30)
    first, claimed, sent = store.read_stream(message_stream("m1"))
    assert (first.id, first.causation_id) == (derived_id(cause.id, "queued:reply_posted"), cause.id)
    assert claimed.causation_id == sent.causation_id == first.id
    assert sent.id == derived_id(first.id, "outcome:1")
    assert {first.correlation_id, claimed.correlation_id, sent.correlation_id} == {cause.correlation_id}
    assert queue(store, queued, cause, "queued:reply_posted", "gated") is None  # planned again: not sent
    assert len(store.read_stream(message_stream("m1"))) == 3 and len(sms.calls) == 1
