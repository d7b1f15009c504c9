"""The projection runner: checkpoint with the effect, retry then park, wake-up, competing instances."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa

from contracts.envelope import TransientError
from contracts.events import Event, EventRegistry, new_event
from contracts.eventstore import EventStore
from contracts.notify import SmsDelivered, SmsDispatching, SmsQueued, SmsSent
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import Context, Projection, ProjectionRunner, start_in_thread
from services.notify.projections import Status, message_stream, status_table

local = EventRegistry()


@local.event("TestCounted", 1)
class Counted(Event):
    """A test-only event."""

    value: int


metadata = sa.MetaData()
seen_table = sa.Table(
    "test_seen",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)


class Seen(Projection):
    """Records every event; fails on values listed in `poison` (as often as `failures` says)."""

    name = "test.seen"
    handles: ClassVar[tuple[type[Event], ...]] = (Counted,)
    metadata = metadata

    def __init__(self, poison: set[int] | None = None, failures: int = 10**9) -> None:
        self.poison = poison or set()
        self.failures = failures
        self.calls: dict[int, int] = {}

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        self.calls[event.value] = self.calls.get(event.value, 0) + 1
        conn.execute(seen_table.insert().values(position=context.recorded.position, value=event.value))
        if event.value in self.poison and self.calls[event.value] <= self.failures:
            raise RuntimeError(f"cannot take {event.value}")


def _append(store: EventStore, *values: int) -> None:
    for value in values:
        store.append(f"count-{value}", [new_event(Counted(value=value))])


def _values(db: Database) -> list[int]:
    with db.read.connect() as conn:
        return [r.value for r in conn.execute(sa.select(seen_table).order_by(seen_table.c.position))]


def _runner(store: EventStore, db: Database, projection: Projection) -> ProjectionRunner:
    runner = ProjectionRunner(store, db, [projection], batch=3, backoff=0.01, events=local)
    runner.setup()
    return runner


def test_each_event_is_applied_once_and_the_checkpoint_moves_with_it(store: EventStore, db: Database) -> None:
    projection = Seen()
    runner = _runner(store, db, projection)
    _append(store, 1, 2, 3, 4, 5)
    assert runner.run_once() == 5
    assert runner.run_once() == 0
    assert _values(db) == [1, 2, 3, 4, 5]
    assert runner.checkpoint(projection) == store.last_position()


def test_a_failing_event_is_retried_then_parked_and_the_rest_goes_on(store: EventStore, db: Database) -> None:
    projection = Seen(poison={2})
    runner = _runner(store, db, projection)
    _append(store, 1, 2, 3)
    runner.run_once()
    assert _values(db) == [1, 3]  # the failed attempts left nothing behind
    (parked,) = runner.parked()
    assert (parked["event_type"], parked["attempts"]) == ("TestCounted", runner.attempts)
    assert "cannot take 2" in parked["error"]
    assert projection.calls[2] == 1 + runner.attempts  # once in the batch, then each retry


def test_a_passing_hiccup_is_retried_without_parking(store: EventStore, db: Database) -> None:
    projection = Seen(poison={2}, failures=2)
    runner = _runner(store, db, projection)
    _append(store, 1, 2, 3)
    runner.run_once()
    assert _values(db) == [1, 2, 3]
    assert runner.parked() == []


def test_the_runner_wakes_promptly_when_events_arrive(store: EventStore, db: Database) -> None:
    runner = _runner(store, db, Seen())
    runner.idle_timeout = 30  # only a wake-up, not the time-out, can make this quick
    thread, stop = start_in_thread(runner)
    try:
        time.sleep(0.2)
        started = time.monotonic()
        _append(store, 7)
        while _values(db) != [7]:
            assert time.monotonic() - started < 5, "the runner did not wake up"
            time.sleep(0.005)
    finally:
        stop.set()
        _append(store, 8)  # wakes it so it sees the stop
        thread.join(timeout=10)


def test_two_instances_of_a_service_never_apply_an_event_twice(store: EventStore, db: Database) -> None:
    _append(store, *range(60))
    runners = [_runner(store, db, Seen()) for _ in range(2)]
    threads = [threading.Thread(target=r.run_once) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _values(db) == list(range(60))


def test_rebuild_from_zero_gives_the_same_rows(store: EventStore, db: Database) -> None:
    projection = Seen()
    runner = _runner(store, db, projection)
    _append(store, 5, 6, 7)
    runner.run_once()
    before = _values(db)
    assert runner.rebuild(projection) == 3
    assert _values(db) == before


class Flaky(Seen):
    """Fails transiently a number of times on one value, then works."""

    def __init__(self, value: int, times: int) -> None:
        super().__init__()
        self.value, self.times = value, times

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        super().apply(conn, event, context)
        if event.value == self.value and self.calls[event.value] <= self.times:
            raise TransientError("the provider asked us to come back later")


def test_transient_failures_are_retried_beyond_the_attempts_and_never_parked(
    store: EventStore, db: Database
) -> None:
    projection = Flaky(value=2, times=6)
    runner = _runner(store, db, projection)
    _append(store, 1, 2, 3)
    runner.run_once()
    assert runner.attempts < 6
    assert _values(db) == [1, 2, 3]
    assert runner.parked() == []


def test_an_instance_whose_remembered_checkpoint_is_stale_goes_on_from_the_real_one(
    store: EventStore, db: Database
) -> None:
    first, second = _runner(store, db, Seen()), _runner(store, db, Seen())
    _append(store, 1, 2)
    assert first.run_once() == 2
    _append(store, 3, 4)
    assert second.run_once() == 2  # moves the checkpoint behind the first one's back
    _append(store, 5)
    first.run_once()
    assert _values(db) == [1, 2, 3, 4, 5]


class CountingStore(SqlEventStore):
    """The SQLite store, counting how often a projection reads from it."""

    reads = 0
    read_after: list[int]

    def read_all(self, after: int = 0, **kwargs: Any) -> Any:
        self.reads += 1
        self.read_after = [*getattr(self, "read_after", []), after]
        return super().read_all(after, **kwargs)


def test_a_pass_with_nothing_new_does_not_read_the_store(tmp_path: Path, db: Database) -> None:
    counting = CountingStore(f"sqlite:///{tmp_path / 'counted.db'}")
    try:
        runner = _runner(counting, db, Seen())
        _append(counting, 1)
        runner.run_once()
        reads = counting.reads
        assert runner.run_once() == 0
        assert counting.reads == reads
        _append(counting, 2)
        assert runner.run_once() == 1
    finally:
        counting.close()


def test_a_projection_whose_events_stopped_coming_reads_only_what_is_new(
    tmp_path: Path, db: Database
) -> None:
    counting = CountingStore(f"sqlite:///{tmp_path / 'counted.db'}")
    try:
        runner = _runner(counting, db, Seen())
        _append(counting, 1)
        runner.run_once()
        for n in range(3):  # events of other types only: the checkpoint stays at the first
            counting.append(
                f"sms-{n}",
                [new_event(SmsQueued(message_id=f"m{n}", to="09121234567", template="t", text="x"))],
            )
            runner.run_once()
        assert runner.checkpoint(Seen()) == 1
        assert counting.read_after[-3:] == [1, 2, 3]  # not 1, 1, 1: each pass from where the last ended
        _append(counting, 5)
        assert runner.run_once() == 1
        assert _values(db) == [1, 5]
    finally:
        counting.close()


class Slow(Seen):
    """Holds its pass until `go` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.go = threading.Event(), threading.Event()

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        self.inside.set()
        self.go.wait(10)
        super().apply(conn, event, context)


def test_a_graceful_stop_can_wait_for_the_pass_in_progress(store: EventStore, db: Database) -> None:
    projection = Slow()
    runner = _runner(store, db, projection)
    _append(store, 1)
    thread, stop = start_in_thread(runner)
    assert projection.inside.wait(10)
    stop.set()
    assert runner.wait_for_pass(0.1) is False  # the event is still being applied
    projection.go.set()
    assert runner.wait_for_pass(10) is True
    thread.join(5)
    assert _values(db) == [1]  # the pass ended with its event applied


def test_a_status_batch_does_not_query_rows_it_creates_and_a_second_creation_is_parked(
    store: EventStore, db: Database
) -> None:
    status = Status()
    runner = ProjectionRunner(store, db, [status], backoff=0.01, attempts=2)
    runner.setup()
    for message in ("m1", "m2"):
        queued = SmsQueued(message_id=message, to="09121234567", template="request_received", text="سلام")
        claim = SmsDispatching(message_id=message, attempt=1, provider="outbox")
        sent = SmsSent(message_id=message, provider="outbox", provider_message_id=f"p-{message}")
        store.append(message_stream(message), [new_event(e) for e in (queued, claim, sent)])
    statements: list[str] = []
    sa.event.listen(db.write, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert runner.run_once() == 6
    assert not [s for s in statements if s.startswith("SELECT") and "notify_status" in s]

    delivered = SmsDelivered(message_id="m1", provider="outbox", delivered_at="2026-12-03T10:00:00+00:00")
    again = SmsQueued(message_id="m2", to="09350000000", template="request_received", text="دوباره")
    store.append(message_stream("m1"), [new_event(delivered)])
    store.append(message_stream("m2"), [new_event(again)])
    del statements[:]
    assert runner.run_once() == 2  # the delivery applied, the second SmsQueued of m2 parked
    assert [s for s in statements if s.startswith("SELECT") and "notify_status" in s]  # m1 was read
    with db.read.connect() as conn:
        rows = {r.message_id: r for r in conn.execute(sa.select(status_table))}
    assert (rows["m1"].status, rows["m2"].status, rows["m2"].to) == ("delivered", "sent", "09121234567")
    assert [p["event_type"] for p in runner.parked()] == ["SmsQueued"]
    assert runner.checkpoint(status) == store.last_position()


def test_requests_submitted_through_the_api_cost_the_drafts_view_no_query(
    store: EventStore, db: Database
) -> None:
    from contracts.requests import Applicant, RequestSubmitted
    from services.requests.drafts_view import Drafts, drafts_table

    drafts = Drafts()
    runner = ProjectionRunner(store, db, [drafts])
    runner.setup()
    applicant = Applicant(national_code="0084575948", full_name="مریم کاظمی", mobile="09123456789")
    for n in range(3):
        submitted = RequestSubmitted(
            request_id=f"r{n}",
            tracking_code=f"T{n}",
            applicant=applicant,
            province="tehran",
            subject="s",
            text="t",
            submitted_at="2026-12-03T10:00:00+00:00",
        )
        store.append(f"request-r{n}", [new_event(submitted)])
    statements: list[str] = []
    sa.event.listen(db.write, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert runner.run_once() == 3
    assert not [s for s in statements if "requests_drafts" in s]
    assert runner.checkpoint(drafts) == store.last_position()
    with db.read.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(drafts_table)).scalar() == 0
