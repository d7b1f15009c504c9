"""A recipient whose provider call hangs holds no one else's SMS: while it hangs, the planner's
pass commits and every other recipient's message is handed over; only that recipient's next
message waits behind it. On PostgreSQL, with the planner in a runner of its own as in the
service; the hanging call waits on an event the test sets, so nothing here depends on timing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.requests import Applicant, RequestSubmitted
from contracts.secretariat import NumberAssigned
from infra.db import Database
from infra.eventstore import open_store
from infra.projections import ProjectionRunner, start_in_thread
from services.notify.dispatch import Channels, message_stream
from services.notify.planner import Planner
from services.notify.providers import Delivery, SmsProvider
from tests.pg import required_database

pytestmark = pytest.mark.integration

T = TypeVar("T")
SLOW = "09120000000"
OTHERS = [f"0912000{n:04d}" for n in range(1, 11)]


@dataclass
class HangingForOne(SmsProvider):
    """Hands messages over at once, except to `slow`, whose call waits until `release` is set."""

    slow: str = SLOW
    name: str = "hanging"
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message_id: str, to: str, text: str) -> Delivery:
        with self.lock:
            self.calls.append((message_id, to))
        if to == self.slow:
            self.reached.set()
            assert self.release.wait(120), "the test never let the slow recipient's call end"
        return Delivery(provider_message_id=f"p-{message_id}")

    def to(self, mobile: str) -> list[str]:
        """The message ids handed over for `mobile`, in order."""
        with self.lock:
            return [message_id for message_id, to in self.calls if to == mobile]


def eventually(check: Callable[[], T | None], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s")
        time.sleep(0.05)


def submit(store: EventStore, request_id: str, mobile: str) -> int:
    applicant = Applicant(national_code="0084575948", full_name="مریم", mobile=mobile)
    event = RequestSubmitted(
        request_id=request_id,
        tracking_code=f"1405{abs(hash(request_id)) % 10**8:08d}",
        applicant=applicant,
        province="tehran",
        subject="s",
        text="t",
        submitted_at="2026-01-01T00:00:00+00:00",
    )
    return store.append(f"request-{request_id}", [new_event(event)]).position


def number(store: EventStore, request_id: str) -> int:
    event = NumberAssigned(
        request_id=request_id,
        secretariat="tehran",
        year=1405,
        sequence=1,
        registration_number="1405/t/1",
        clerk="c",
    )
    return store.append(f"book-{request_id}", [new_event(event)]).position


@pytest.fixture
def pg_url() -> Iterator[str]:
    with required_database() as url:
        yield url


def test_a_hanging_recipient_holds_neither_the_pass_nor_the_others(pg_url: str) -> None:
    store = open_store(pg_url)
    db = Database(pg_url)
    sms = HangingForOne()
    planner = Planner(channels=Channels(sms))
    runner = ProjectionRunner(store, db, [planner])
    runner.setup()
    assert planner.sender is not None
    submit(store, "slow", SLOW)
    for n, mobile in enumerate(OTHERS[:5]):
        submit(store, f"early-{n}", mobile)  # in the slow one's batch
    thread, stop = start_in_thread(runner)
    try:
        assert sms.reached.wait(60), "the slow recipient's message never reached its provider"
        for n, mobile in enumerate(OTHERS[5:]):
            submit(store, f"late-{n}", mobile)  # planned while the slow call hangs
        last = number(store, "slow")  # the slow recipient's second message

        # Every other recipient's message goes out while the slow call still hangs, and the
        # planner's checkpoint passes the last event: its pass does not wait for the provider.
        eventually(lambda: all(len(sms.to(mobile)) == 1 for mobile in OTHERS))
        eventually(lambda: runner.checkpoint(planner) >= last)
        assert not sms.release.is_set()
        assert len(sms.to(SLOW)) == 1  # its second message waits behind its first

        sms.release.set()
        (first, second) = eventually(lambda: sms.to(SLOW) if len(sms.to(SLOW)) == 2 else None)
        assert planner.sender.drain(60)
    finally:
        sms.release.set()
        stop.set()
        thread.join(10)
    lives = {
        message_id: [event.type for event in store.read_stream(message_stream(message_id))]
        for message_id, _ in sms.calls
    }
    assert len(lives) == len(sms.calls) == len(OTHERS) + 2  # each message handed over once
    assert all(types == ["SmsQueued", "SmsDispatching", "SmsSent"] for types in lives.values())
    templates = [store.read_stream(message_stream(m))[0].data["template"] for m in (first, second)]
    assert templates == ["request_received", "request_registered"]  # in the order they were claimed
    db.dispose()
    store.close()
