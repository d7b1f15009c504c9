"""What must hold after the faults: nothing acknowledged is lost, nothing happens twice, and
every projection has caught up with the store."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa

from infra.eventstore import open_store
from infra.eventstore.schema import events_table
from infra.projections import checkpoints_table, parked_table
from services.notify.projections import status_table
from services.notify.providers import OutboxProvider
from services.read_models import read_models
from services.requests.projections import requests_table
from services.secretariat.tables import cases_table
from tests.faults.load import Ledger

OUTCOMES = ("SmsSent", "SmsFailed")


def projections() -> dict[str, list[str]]:
    """Every running projection's name → the stored types it reads."""
    return {p.name: p.type_names() for group in read_models().values() for p in group}


def behind(engine: sa.Engine, target: int) -> dict[str, int]:
    """Projection → how many of its events up to position `target` it has not dealt with yet."""
    with engine.connect() as conn:
        marks = dict(conn.execute(sa.select(checkpoints_table.c.name, checkpoints_table.c.position)).all())
        lagging = {}
        for name, types in projections().items():
            pending = conn.execute(
                sa.select(sa.func.count())
                .select_from(events_table)
                .where(
                    events_table.c.type.in_(types),
                    events_table.c.position > marks.get(name, 0),
                    events_table.c.position <= target,
                )
            ).scalar_one()
            if pending:
                lagging[name] = int(pending)
        return lagging


def wait_caught_up(url: str, timeout: float = 120) -> float:
    """Seconds until every projection has dealt with everything stored when this was called."""
    started = time.monotonic()
    target = _head(url)
    engine = sa.create_engine(url, pool_pre_ping=True)
    try:
        while lagging := behind(engine, target):
            if time.monotonic() - started > timeout:
                raise AssertionError(
                    f"projections still behind position {target} after {timeout}s: {lagging}"
                )
            time.sleep(0.2)
        return time.monotonic() - started
    finally:
        engine.dispose()


def wait_settled(url: str, timeout: float = 120) -> float:
    """Seconds until the projections have caught up and appended nothing more themselves (the
    planner's SMS, the sender's outcomes): the desk is quiet."""
    started = time.monotonic()
    while True:
        head = _head(url)
        wait_caught_up(url, timeout=max(1.0, timeout - (time.monotonic() - started)))
        if _head(url) == head and not (open_messages := _unfinished(url)):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not quiet after {timeout}s; messages without an outcome: {open_messages}")
        time.sleep(0.2)


def _unfinished(url: str) -> list[str]:
    """Messages still waiting for the provider: a claim a crash abandoned is taken up again once
    its lease (NOTIFY_LEASE) runs out."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            waiting = status_table.c.status.in_(("queued", "dispatching", "deferred"))
            return [row[0] for row in conn.execute(sa.select(status_table.c.message_id).where(waiting))]
    finally:
        engine.dispose()


def _head(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(events_table.c.position))).scalar() or 0)
    finally:
        engine.dispose()


def _all_events(url: str) -> list[Any]:
    store = open_store(url)
    try:
        events: list[Any] = []
        while page := store.read_all(events[-1].position if events else 0, limit=5000):
            events += page
        return events
    finally:
        store.close()


def _ids(engine: sa.Engine, column: sa.Column[Any]) -> set[str]:
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(sa.select(column))}


def _histories(events: list[Any], message_ids: dict[str, int]) -> dict[str, list[str]]:
    """Each message's own events, to tell what went wrong."""
    return {
        m: [
            f"{e.position} {e.type} {e.data.get('attempt', '')}"
            for e in events
            if e.data.get("message_id") == m
        ]
        for m in list(message_ids)[:5]
    }


def _stories(events: list[Any], request_ids: set[str]) -> dict[str, list[str]]:
    """A few requests' events, to tell what went wrong."""
    sample = set(list(request_ids)[:3])
    return {
        rid: [
            f"{e.position} {e.type} {e.data.get('template', '')}"
            for e in events
            if e.data.get("request_id") == rid
        ]
        for rid in sample
    }


def check(url: str, outbox_url: str, ledger: Ledger) -> dict[str, int]:
    """Assert every invariant over the quiet desk; return counts for the report."""
    events = _all_events(url)
    of: dict[str, list[Any]] = defaultdict(list)
    for event in events:
        of[event.type].append(event)
    acknowledged = set(ledger.submitted)

    # Every acknowledged submission is in the store once, and in every read model.
    stored = Counter(e.data["request_id"] for e in of["RequestSubmitted"])
    assert acknowledged - set(stored) == set(), "acknowledged submissions missing from the store"
    assert [rid for rid, n in stored.items() if n != 1] == []
    engine = sa.create_engine(url)
    try:
        for view, column in (
            ("requests view", requests_table.c.request_id),
            ("secretariat inbox", cases_table.c.request_id),
            ("notify status", status_table.c.request_id),
        ):
            missing = acknowledged - _ids(engine, column)
            assert missing == set(), f"{len(missing)} missing in {view}: {_stories(events, missing)}"
        with engine.connect() as conn:
            parked = conn.execute(sa.select(parked_table.c.projection, parked_table.c.error)).all()
        assert parked == [], parked
    finally:
        engine.dispose()

    # One registration number per request; each book counts 1..n without a gap or a repeat.
    numbers = of["NumberAssigned"]
    per_request = Counter(e.data["request_id"] for e in numbers)
    assert [rid for rid, n in per_request.items() if n != 1] == []
    assert set(ledger.numbers) - set(per_request) == set(), "acknowledged numbers missing from the store"
    given = {e.data["request_id"]: e.data["registration_number"] for e in numbers}
    assert {rid: ns for rid, ns in ledger.numbers.items() if ns - {given[rid]}} == {}, "two numbers answered"
    books: dict[tuple[str, int], list[int]] = defaultdict(list)
    for e in numbers:
        books[(e.data["secretariat"], e.data["year"])].append(e.data["sequence"])
    for book, sequences in books.items():
        assert sorted(sequences) == list(range(1, len(sequences) + 1)), f"gap or repeat in {book}"
    replies = Counter(e.data["request_id"] for e in of["ReplyPosted"])
    assert ledger.replied - set(replies) == set(), "acknowledged replies missing from the store"

    # No SMS twice: one message per (request, template), handed over once, one outcome each.
    queued = [e for e in of["SmsQueued"] if not e.data.get("one_time_code")]
    # A request's messages are one per (request, template); an account's (a registration, a
    # verification) one per event that caused it: signed-in test users are real accounts.
    per_step = Counter((e.data["request_id"] or str(e.causation_id), e.data["template"]) for e in queued)
    assert [step for step, n in per_step.items() if n != 1] == []
    message_ids = {e.data["message_id"] for e in queued}
    assert len(message_ids) == len(queued)
    outbox = OutboxProvider(outbox_url)
    try:
        sent = outbox.messages()
    finally:
        outbox.db.dispose()
    in_outbox = Counter(str(m["message_id"]) for m in sent)
    assert [m for m, n in in_outbox.items() if n != 1] == []
    assert set(in_outbox) == message_ids, "queued and handed-over messages differ"
    outcomes = Counter(e.data["message_id"] for kind in OUTCOMES for e in of[kind])
    odd = {m: outcomes[m] for m in message_ids | set(outcomes) if outcomes[m] != 1}
    assert odd == {}, f"messages without, or with two, outcomes: {_histories(events, odd)}"
    return {
        "events": len(events),
        "acknowledged submissions": len(acknowledged),
        "numbered": len(numbers),
        "replies": len(replies),
        "sms": len(sent),
        "sms handed over more than once (de-duplicated)": sum(1 for m in sent if int(str(m["requests"])) > 1),
    }
