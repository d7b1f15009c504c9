"""Replay into shadow tables: readers keep the old rows until the switch; resumable; verify."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.events import new_event
from contracts.partners import PartnerWebhookResumed
from contracts.requests import TrackingCodeIssued
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.ops.replay import replay_projection, replay_projections, verify_projection
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


resumed_table = sa.Table(
    "ops_test_resumed",
    sa.MetaData(),
    sa.Column("partner_id", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)


class Resumed(Projection):
    """A second read model of another type, and of the codes' type too, built beside `Codes`."""

    name = "ops_test.resumed"
    handles = (PartnerWebhookResumed, TrackingCodeIssued)
    metadata = resumed_table.metadata

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        key = getattr(event, "partner_id", None) or event.tracking_code
        conn.execute(resumed_table.insert().values(partner_id=key, position=context.recorded.position))


def _resumed(db: Database) -> list[tuple[Any, ...]]:
    with db.read.connect() as conn:
        return [
            tuple(row) for row in conn.execute(sa.select(resumed_table).order_by(resumed_table.c.position))
        ]


def test_projections_replayed_together_read_the_history_once_and_each_ends_as_built_alone(
    world: tuple[SqlEventStore, Database], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, db = world
    for n in range(3):
        store.append(
            f"partner-p{n}", [new_event(PartnerWebhookResumed(partner_id=f"p{n}", resumed_by="admin"))]
        )
    _issue(store, 2, first=7)  # after the partners' events: the two types interleave
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")  # another service's read models
    ProjectionRunner(store, other, [Resumed()]).setup()
    reads: list[int] = []
    read_all = SqlEventStore.read_all

    def counted(self: SqlEventStore, after: int = 0, **options: Any) -> Any:
        reads.append(after)
        return read_all(self, after, **options)

    monkeypatch.setattr(SqlEventStore, "read_all", counted)
    codes, resumed = replay_projections(store, [(db, Codes()), (other, Resumed())], batch=4)

    # 12 events of either type in pages of 4: three full pages and an empty one, then the
    # empty page that finds nothing arrived meanwhile; one reading for both builds.
    assert reads == [0, 4, 8, 12, 12]
    assert (codes.applied, resumed.applied) == (9, 12)
    assert codes.switched_at == resumed.switched_at == store.last_position()
    together = (_rows(db), _resumed(other))
    monkeypatch.setattr(SqlEventStore, "read_all", read_all)
    replay_projection(store, db, Codes(), fresh=True)
    replay_projection(store, other, Resumed(), fresh=True)
    assert (_rows(db), _resumed(other)) == together
    assert [row[0] for row in _resumed(other)][7:10] == ["p0", "p1", "p2"]
    other.dispose()
