"""Operations on PostgreSQL: SQLite → PostgreSQL round trip, shadow replay with a reader, tampering."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench import history
from infra.db import Database, make_engine
from infra.eventstore.sql import SqlEventStore
from infra.ops import integrity, transfer
from infra.ops.replay import replay_projection, verify_projection
from infra.ops.shadow import Shadow
from infra.projections import ProjectionRunner
from tests.unit.test_ops_replay import Codes, _issue, codes_table
from tests.unit.test_ops_transfer import fill, snapshot

pytestmark = pytest.mark.integration


def test_sqlite_to_postgresql_keeps_ids_order_data_and_times(tmp_path: Path, scratch_pg_url: str) -> None:
    source = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    fill(source)
    _issue(source, 600)  # more than one import batch
    exported = io.StringIO()
    count = transfer.export(source, exported)
    target = SqlEventStore(scratch_pg_url)
    result = transfer.import_events(target, exported.getvalue().splitlines())
    assert (result.written, count) == (count, 606)
    assert snapshot(target) == snapshot(source)
    assert [e.position for e in target.read_all(limit=10_000)] == [
        e.position for e in source.read_all(limit=10_000)
    ]
    assert target.stream_version("gone") is None and [
        e.revision for e in target.read_stream("request-a")
    ] == [1, 2]
    assert integrity.check(target).findings == []
    again = io.StringIO()
    transfer.export(target, again)
    assert again.getvalue() == exported.getvalue()  # the same file back, byte for byte
    source.close()
    target.close()


def test_a_shadow_replay_on_postgresql_switches_under_a_reading_client(scratch_pg_url: str) -> None:
    store = SqlEventStore(scratch_pg_url)
    db = Database(scratch_pg_url)
    _issue(store, 40)
    live = ProjectionRunner(store, db, [Codes()])
    live.setup()
    live.run_once()
    with db.write.begin() as conn:
        conn.execute(codes_table.delete().where(codes_table.c.tracking_code < "000000000010"))

    seen: list[int] = []
    errors: list[BaseException] = []
    stop, first_read = threading.Event(), threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                with db.read.connect() as conn:
                    seen.append(
                        int(conn.execute(sa.select(sa.func.count()).select_from(codes_table)).scalar_one())
                    )
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)
                return
            finally:
                first_read.set()

    thread = threading.Thread(target=reader)
    thread.start()
    assert first_read.wait(30)
    try:
        result = replay_projection(store, db, Codes(), batch=5)
    finally:
        stop.set()
        thread.join()
    assert errors == []  # readers never found the table missing
    assert set(seen) <= {30, 40} and seen[0] == 30  # the old rows, then the new ones
    assert result.applied == 40
    with db.read.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(codes_table)).scalar_one() == 40
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes(codes_table.name)}
        assert "ix_ops_test_codes_request" in indexes  # moved with the table, under its own name
    assert verify_projection(store, db, Codes()).difference is None
    with db.write.begin() as conn:
        conn.execute(
            codes_table.update().where(codes_table.c.tracking_code == "000000000020").values(position=0)
        )
    difference = verify_projection(store, db, Codes()).difference
    assert difference is not None and difference.key == {"tracking_code": "000000000020"}
    db.dispose()
    store.close()


def test_tampering_on_postgresql_is_named(scratch_pg_url: str) -> None:
    store = SqlEventStore(scratch_pg_url)
    _issue(store, 5)
    with store.engine.begin() as conn:
        target: Any = conn.execute(sa.text("SELECT event_id FROM es_events WHERE position = 3")).scalar_one()
        conn.execute(
            sa.text(
                "UPDATE es_events SET data = replace(data, '000000000002', '000000000099') WHERE position = 3"
            )
        )
    assert [(f.problem, f.event_id) for f in integrity.check(store).broken] == [("tampered", target)]
    store.close()


def _indexes(conn: sa.Connection, schema: str) -> set[str]:
    query = sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = :schema")
    return set(conn.execute(query, {"schema": schema}).scalars())


def test_a_projection_that_reads_by_key_is_built_before_its_secondary_indexes(scratch_pg_url: str) -> None:
    from services.read_models import projection_named

    cases = projection_named("secretariat.cases")
    assert cases.reads_by_key
    declared = [index for table in cases.metadata.sorted_tables for index in table.indexes]
    held_back = {str(index.name) for index in declared if not index.unique}
    assert len(held_back) >= 10  # the cartable's filters and orders
    store = SqlEventStore(scratch_pg_url)
    engine = make_engine(scratch_pg_url)
    history.write(engine, 60)
    engine.dispose()
    db = Database(scratch_pg_url)
    ProjectionRunner(store, db, [cases]).setup()

    shadow = Shadow(scratch_pg_url)
    ProjectionRunner(store, shadow.db, [cases]).setup()
    shadow.hold_back_indexes(cases)
    with db.read.connect() as conn:
        building = _indexes(conn, "pishkhan_rebuild")
    shadow.dispose()
    assert building and not building & held_back  # keys and unique constraints stay

    result = replay_projection(store, db, cases, fresh=True)
    assert result.applied > 60
    with db.read.connect() as conn:
        live = _indexes(conn, "public")
        assert conn.execute(sa.text("SELECT count(*) FROM secretariat_cases")).scalar_one() == 60
    assert held_back | building <= live
    assert verify_projection(store, db, cases).difference is None
    db.dispose()
    store.close()


def test_replay_jobs_started_at_once_prepare_the_shadow_without_tripping(scratch_pg_url: str) -> None:
    """`pishkhan replay --jobs N` starts a job per projection in its own process, and each
    creates the shadow schema and its runner tables: PostgreSQL's IF NOT EXISTS races."""
    codes = Codes()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def job() -> None:
        start.wait()
        try:
            shadow = Shadow(scratch_pg_url, label="race")
            shadow.discard(codes)
            shadow.dispose()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=job) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
