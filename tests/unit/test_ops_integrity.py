"""The hash chain: computed on append, verified, tampering named, old events backfilled."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from contracts.envelope import NewEvent
from infra import cli
from infra.eventstore.schema import events_table, streams_table
from infra.eventstore.sql import SqlEventStore
from infra.ops import integrity
from infra.ops.hashchain import StoredLink


@pytest.fixture
def five_events(store: SqlEventStore) -> None:
    """Every test here starts from these: three events in `request-a`, two in `request-b`."""
    for number in range(3):
        store.append(
            "request-a",
            [NewEvent("Noted", {"n": number, "text": "یادداشت"}, metadata={"actor": "clerk:7"})],
        )
    store.append("request-b", [NewEvent("Noted", {"n": 9}), NewEvent("Noted", {"n": 10})])


pytestmark = pytest.mark.usefixtures("five_events")


def _event_id(store: SqlEventStore, stream: str, revision: int) -> str:
    with store.read_engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(events_table.c.event_id).where(
                    events_table.c.stream == stream, events_table.c.revision == revision
                )
            ).scalar_one()
        )


def test_an_untouched_store_verifies_and_every_event_has_a_hash(store: SqlEventStore) -> None:
    report = integrity.check(store)
    assert (report.events, report.streams, report.findings) == (5, 2, [])
    with store.read_engine.connect() as conn:
        heads = dict(conn.execute(sa.select(streams_table.c.stream, streams_table.c.last_hash)).all())
        last = conn.execute(
            sa.select(events_table.c.hash).where(
                events_table.c.stream == "request-a", events_table.c.revision == 2
            )
        ).scalar_one()
    assert heads["request-a"] == last and len(last) == 64


def test_a_row_changed_with_raw_sql_is_named(
    store: SqlEventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE es_events SET data = :data WHERE stream = 'request-a' AND revision = 1"),
            {"data": '{"n":1,"text":"جعلی"}'},
        )
    report = integrity.check(store)
    assert [(f.problem, f.event_id) for f in report.broken] == [
        ("tampered", _event_id(store, "request-a", 1))
    ]


def test_a_tamperer_who_recomputes_the_hash_breaks_the_next_link(store: SqlEventStore) -> None:
    from infra.ops.hashchain import event_hash

    with store.engine.begin() as conn:
        row = conn.execute(
            sa.select(events_table).where(events_table.c.stream == "request-a", events_table.c.revision == 1)
        ).one()
        previous = conn.execute(
            sa.select(events_table.c.hash).where(
                events_table.c.stream == "request-a", events_table.c.revision == 0
            )
        ).scalar_one()
        forged = event_hash(
            event_id=row.event_id,
            stream=row.stream,
            revision=1,
            type=row.type,
            version=row.version,
            data={"n": 1, "text": "جعلی"},
            metadata={"actor": "clerk:7"},
            correlation_id=row.correlation_id,
            causation_id=row.causation_id,
            previous=previous,
        )
        conn.execute(
            events_table.update()
            .where(events_table.c.event_id == row.event_id)
            .values(data='{"n":1,"text":"جعلی"}', hash=forged)
        )
    report = integrity.check(store)
    assert [(f.problem, f.event_id) for f in report.broken] == [
        ("ledger", _event_id(store, "request-a", 1)),  # its store-wide link covers the old hash
        ("tampered", _event_id(store, "request-a", 2)),
    ]


def test_a_deleted_event_leaves_a_gap(store: SqlEventStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM es_events WHERE stream = 'request-b' AND revision = 0"))
    problems = {f.problem for f in integrity.check(store).broken}
    assert "tampered" in problems  # revision 1's predecessor is gone


def test_events_stored_before_the_chain_are_backfilled(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with store.engine.begin() as conn:  # as an old store looks after migrations 2 and 7
        conn.execute(events_table.update().values(hash=None, chain=None))
        conn.execute(streams_table.update().values(last_hash=None))
    store.append("request-a", [NewEvent("Noted", {"n": 3})])  # appended before anyone backfilled
    assert integrity.check(store).unhashed == 5
    assert integrity.check(store).broken == []

    monkeypatch.setenv("EVENTSTORE_URL", store.url)
    cli.main(["integrity", "--backfill"])
    out = capsys.readouterr().out
    assert "backfilled 6 events" in out and "checked 6 events in 2 streams" in out
    assert integrity.check(store).findings == []
    store.append("request-a", [NewEvent("Noted", {"n": 4}, id=uuid.uuid4())])
    assert integrity.check(store).findings == []


def test_the_command_fails_and_names_the_event(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text('UPDATE es_events SET metadata = \'{"actor":"admin:1"}\' WHERE position = 2'))
    monkeypatch.setenv("EVENTSTORE_URL", store.url)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["integrity"])
    assert exit_.value.code == 1
    assert (
        f"tampered: event {_event_id(store, 'request-a', 1)} (request-a@1, position 2)"
        in capsys.readouterr().out
    )


def test_eventstoredb_events_carry_the_same_link_in_their_metadata(store: SqlEventStore) -> None:
    from infra.eventstore.esdb import encode_event
    from infra.ops.hashchain import chain_link

    event = NewEvent("Noted", {"n": 5}, metadata={"actor": "clerk:7"})
    store.append("request-c", [event])
    with store.read_engine.connect() as conn:
        stored = conn.execute(
            sa.select(events_table.c.hash).where(events_table.c.stream == "request-c")
        ).scalar_one()
    link = chain_link("request-c", 0, event, None)
    assert link == stored  # one definition for every adapter: an export moves between them
    envelope = json.loads(encode_event(event, link).metadata)
    assert (envelope["hash"], envelope["meta"]) == (link, {"actor": "clerk:7"})


class LinksOnly:
    """Our own fake of the EventStoreDB adapter's `read_links` (links as kept in metadata)."""

    def __init__(self, links: list[StoredLink]) -> None:
        self.links = links

    def read_links(self, after: int = 0, *, limit: int = 1000) -> list[StoredLink]:
        return [link for link in self.links if link.position > after][:limit]


def test_links_read_in_all_order_are_checked_stream_by_stream(store: SqlEventStore) -> None:
    with store.read_engine.connect() as conn:
        rows = conn.execute(sa.select(events_table).order_by(events_table.c.position)).all()
    links = [integrity._link(row) for row in rows]  # in $all order, as EventStoreDB reads them
    clean = integrity.check_esdb(LinksOnly(links), page=2)  # type: ignore[arg-type]
    assert (clean.events, clean.streams, clean.findings) == (5, 2, [])

    forged = dataclasses.replace(links[1], data={"n": 1, "text": "جعلی"})
    found = integrity.check_esdb(LinksOnly([links[0], forged, *links[2:]]), page=2)  # type: ignore[arg-type]
    assert [(f.problem, f.event_id) for f in found.broken] == [("tampered", links[1].event_id)]
