"""The relay's projection applies a whole batch with a few statements, and leaves what applying
its events one by one would: a partner added or revoked inside a batch counts from its place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from contracts import integration as ie
from contracts.envelope import StreamState
from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.partners import PartnerRevoked, partner_stream
from infra.db import Database
from infra.eventstore import open_store
from infra.projections import ProjectionRunner
from services.relay.outbox import Relay, create_outbox, deliveries_table, events_table, requests_table
from tests.pg import scratch_database
from tests.unit.test_relay_outbox import FakeBroker, _partner, _submit


def _relay(tmp_path: Path, store: EventStore, name: str) -> tuple[ProjectionRunner, FakeBroker, Database]:
    broker = FakeBroker()
    db = Database(f"sqlite:///{tmp_path / name}")
    runner = ProjectionRunner(store, db, [Relay(broker)], backoff=0.01)
    runner.setup()
    create_outbox(db)
    return runner, broker, db


def _deliveries(db: Database) -> list[tuple[Any, ...]]:
    with db.read.connect() as conn:
        query = sa.select(
            deliveries_table.c.delivery_id,
            deliveries_table.c.partner_id,
            deliveries_table.c.event_id,
            deliveries_table.c.status,
        ).order_by(deliveries_table.c.position, deliveries_table.c.partner_id)
        return [tuple(row) for row in conn.execute(query)]


def test_partners_changed_inside_a_batch_count_from_their_place(tmp_path: Path, store: EventStore) -> None:
    first = _partner(store, "استانداری", webhook="http://hooks.example/a")
    one, _ = _submit(store, None)
    second = _partner(store, "شهرداری", webhook="http://hooks.example/b")
    two, _ = _submit(store, None)
    revoked = PartnerRevoked(partner_id=first, reason="پایان", revoked_by="admin")
    store.append(partner_stream(first), [new_event(revoked)], StreamState.STREAM_EXISTS)
    three, _ = _submit(store, None)

    runner, broker, db = _relay(tmp_path, store, "batch.db")
    runner.run_once()  # every event above in one batch
    assert [e.type for e in broker.published] == [ie.SUBMITTED] * 3
    events = dict(zip((one, two, three), (e.id for e in broker.published), strict=True))
    # Rows come in event order; two partners of one event in the order of their (random) ids.
    assert sorted((p, e, s) for _, p, e, s in _deliveries(db)) == sorted(
        [
            (first, events[one], "cancelled"),  # queued before the revocation in the same batch
            (first, events[two], "cancelled"),
            (second, events[two], "pending"),  # the partner added in the batch gets what follows it
            (second, events[three], "pending"),
        ]
    )

    # The same history applied one event at a time leaves the same rows, ids included.
    single = Database(f"sqlite:///{tmp_path / 'single.db'}")
    one_by_one = ProjectionRunner(store, single, [Relay(FakeBroker())], batch=1)
    one_by_one.setup()
    create_outbox(single)
    one_by_one.run_once()
    assert _deliveries(single) == _deliveries(db)


def test_a_batch_costs_the_same_few_statements_however_many_events_it_holds(
    tmp_path: Path, store: EventStore
) -> None:
    _partner(store, "استانداری", webhook="http://hooks.example/a")
    _partner(store, "شهرداری", unit="u-1", webhook="http://hooks.example/b")
    runner, broker, db = _relay(tmp_path, store, "count.db")
    runner.run_once()  # the partners
    counts = []
    for size in (1, 40):
        for i in range(size):
            _submit(store, "u-1" if i % 2 else "u-2")
        statements: list[str] = []

        def count(*args: Any, _seen: list[str] = statements) -> None:
            _seen.append(args[2])

        sa.event.listen(db.write, "before_cursor_execute", count)
        runner.run_once()
        sa.event.remove(db.write, "before_cursor_execute", count)
        counts.append(len(statements))
    assert len(broker.published) == 41
    assert counts[1] == counts[0], counts  # per batch, not per event
    assert counts[0] <= 10, counts


def _contents(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the relay's tables, less the deliveries' clock readings."""
    clock = {"created_at", "due_at"}
    with db.read.connect() as conn:
        return {
            table.name: sorted(
                tuple(v for c, v in row._mapping.items() if c not in clock)
                for row in conn.execute(sa.select(table))
            )
            for table in (requests_table, events_table, deliveries_table)
        }


def test_on_postgresql_a_large_batch_leaves_what_one_event_at_a_time_leaves(scratch_pg_url: str) -> None:
    """PostgreSQL writes a batch's many rows with COPY (`infra.rows`): the same rows as one by one."""
    store = open_store(scratch_pg_url)
    try:
        _partner(store, "استانداری", webhook="http://hooks.example/a")
        _partner(store, "شهرداری", unit="u-1", webhook="http://hooks.example/b")
        for i in range(60):
            _submit(store, "u-1" if i % 2 else "u-2")
        tables = []
        for batch in (500, 1):
            with scratch_database("relay_batch") as url:
                db = Database(url)
                runner = ProjectionRunner(store, db, [Relay(FakeBroker())], batch=batch)
                runner.setup()
                create_outbox(db)
                runner.run_once()
                tables.append(_contents(db))
                db.dispose()
        assert tables[0] == tables[1]
        assert len(tables[0]["relay_events"]) == 60 and len(tables[0]["relay_deliveries"]) == 90
    finally:
        store.close()
