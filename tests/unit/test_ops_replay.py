"""Replay into shadow tables: readers keep the old rows until the switch; resumable; verify."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.events import new_event
from contracts.requests import TrackingCodeIssued
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.ops.replay import replay_projection, verify_projection
from infra.projections import Context, Projection, ProjectionRunner, checkpoints_table

tally_metadata = sa.MetaData()
codes_table = sa.Table(
    "ops_test_codes",
    tally_metadata,
    sa.Column("tracking_code", sa.String(20), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Index("ix_ops_test_codes_request", "request_id"),
)


class Codes(Projection):
    """A small read model of our own, so these tests do not follow other areas' tables."""

    name = "ops_test.codes"
    handles = (TrackingCodeIssued,)
    metadata = tally_metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        conn.execute(
            codes_table.insert().values(
                tracking_code=event.tracking_code,
                request_id=event.request_id,
                position=context.recorded.position,
            )
        )


def _issue(store: SqlEventStore, count: int, first: int = 0) -> None:
    for number in range(first, first + count):
        code = f"{number:012d}"
        event = TrackingCodeIssued(tracking_code=code, request_id=uuid.uuid4().hex)
        store.append(f"tracking-{code}", [new_event(event)])


def _rows(db: Database) -> list[tuple[Any, ...]]:
    with db.read.connect() as conn:
        return [
            tuple(row) for row in conn.execute(sa.select(codes_table).order_by(codes_table.c.tracking_code))
        ]


@pytest.fixture
def world(store: SqlEventStore, tmp_path: Path) -> Iterator[tuple[SqlEventStore, Database]]:
    """Seven codes in `store` and their live read model in `ops.db`, whose shadow the replay
    tests look for by name beside it."""
    db = Database(f"sqlite:///{tmp_path / 'ops.db'}")
    _issue(store, 7)
    live = ProjectionRunner(store, db, [Codes()])
    live.setup()
    live.run_once()
    yield store, db
    db.dispose()


def test_readers_see_the_old_tables_until_the_switch(
    world: tuple[SqlEventStore, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, db = world
    with db.write.begin() as conn:  # damage the live read model: the replay must repair it
        conn.execute(codes_table.delete().where(codes_table.c.tracking_code == "000000000003"))
    damaged = _rows(db)
    seen_by_readers: list[list[tuple[Any, ...]]] = []
    apply_read = ProjectionRunner.apply_read

    def watched(runner: ProjectionRunner, projection: Projection, *args: Any) -> int | None:
        seen_by_readers.append(_rows(db))
        return apply_read(runner, projection, *args)

    monkeypatch.setattr(ProjectionRunner, "apply_read", watched)
    result = replay_projection(store, db, Codes(), batch=2)

    assert len(seen_by_readers) >= 4  # built in several batches...
    assert all(rows == damaged for rows in seen_by_readers)  # ...while readers saw the old rows
    assert len(_rows(db)) == 7 and "000000000003" in [row[0] for row in _rows(db)]
    assert (result.applied, result.switched_at) == (7, store.last_position())
    with sa.create_engine(
        f"sqlite:///{Path(db.url.removeprefix('sqlite:///')).with_name('ops.rebuild.db')}"
    ).connect() as conn:
        assert not sa.inspect(conn).has_table(codes_table.name)  # the shadow was moved in, not left behind


def test_an_interrupted_replay_resumes_from_the_shadow_checkpoint(
    world: tuple[SqlEventStore, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, db = world
    before = _rows(db)
    apply_read = ProjectionRunner.apply_read
    calls = {"n": 0}

    def interrupted(runner: ProjectionRunner, projection: Projection, *args: Any) -> int | None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return apply_read(runner, projection, *args)

    monkeypatch.setattr(ProjectionRunner, "apply_read", interrupted)
    with pytest.raises(KeyboardInterrupt):
        replay_projection(store, db, Codes(), batch=2)
    assert _rows(db) == before  # nothing switched

    monkeypatch.setattr(ProjectionRunner, "apply_read", apply_read)
    _issue(store, 1, first=7)  # the store moved on meanwhile
    result = replay_projection(store, db, Codes(), batch=2)
    assert result.resumed_from == 4  # two batches of two events were kept
    assert result.applied == 4  # the rest: three old events and the new one
    assert len(_rows(db)) == 8
    with db.read.connect() as conn:
        checkpoint = conn.execute(
            sa.select(checkpoints_table.c.position).where(checkpoints_table.c.name == Codes.name)
        ).scalar_one()
    assert checkpoint == store.last_position()


def test_a_fresh_replay_discards_an_interrupted_build(
    world: tuple[SqlEventStore, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, db = world
    apply_read = ProjectionRunner.apply_read
    calls = {"n": 0}

    def interrupted(runner: ProjectionRunner, projection: Projection, *args: Any) -> int | None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return apply_read(runner, projection, *args)

    monkeypatch.setattr(ProjectionRunner, "apply_read", interrupted)
    with pytest.raises(KeyboardInterrupt):
        replay_projection(store, db, Codes(), batch=2)
    monkeypatch.setattr(ProjectionRunner, "apply_read", apply_read)
    result = replay_projection(store, db, Codes(), batch=2, fresh=True)
    assert (result.resumed_from, result.applied) == (0, 7)


def test_verify_finds_nothing_on_a_faithful_read_model_and_names_the_first_changed_row(
    world: tuple[SqlEventStore, Database],
) -> None:
    store, db = world
    clean = verify_projection(store, db, Codes())
    assert clean.difference is None
    assert [(live.count, rebuilt.count) for live, rebuilt in clean.tables] == [(7, 7)]

    with db.write.begin() as conn:
        conn.execute(
            codes_table.update()
            .where(codes_table.c.tracking_code == "000000000005")
            .values(request_id="forged")
        )
    found = verify_projection(store, db, Codes())
    assert found.difference is not None
    assert found.difference.key == {"tracking_code": "000000000005"}
    assert "request_id: live='forged'" in found.difference.describe()
    assert found.tables[0][0].checksum != found.tables[0][1].checksum
