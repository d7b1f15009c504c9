"""A history no one can quietly rewrite: each way of tampering with the database is found by
`pishkhan integrity` (naming the first bad position) or refused by export and import — on
SQLite and on PostgreSQL, whose `es_append` links events itself."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from contracts.envelope import NewEvent
from infra import cli
from infra.eventstore.sql import SqlEventStore
from infra.ops import heads, integrity, transfer
from infra.ops.hashchain import event_hash, ledger_link
from tests.pg import pg_available, scratch_database

pytestmark = pytest.mark.integration

KEY = "11" * 32
"""A signing key's seed (a test's: any 32 bytes)."""


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlEventStore]:
    """A store holding a small desk's history: three requests, each with a case stream, and
    one request whose stream holds a single event (between the others in `$all`)."""
    if request.param == "sqlite":
        opened = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
        yield from _filled(opened)
        return
    if reason := pg_available():
        pytest.fail(f"PostgreSQL is needed for the integration tests: {reason}")
    with scratch_database("pishkhan_evidence") as url:
        yield from _filled(SqlEventStore(url, pool_size=2))


def _filled(store: SqlEventStore) -> Iterator[SqlEventStore]:
    for n in range(3):
        store.append(f"request-{n}", [NewEvent("RequestSubmitted", {"n": n, "text": "پلاک ۷"})])
        store.append(f"case-{n}", [NewEvent("NumberAssigned", {"n": n}), NewEvent("Referred", {"n": n})])
        if n == 1:
            store.append("request-lonely", [NewEvent("RequestSubmitted", {"n": 99})])
    store.append("request-0", [NewEvent("ReplyPosted", {"n": 0})])
    try:
        yield store
    finally:
        store.close()


def _sql(store: SqlEventStore, text: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(text), params)


def _position(store: SqlEventStore, stream: str, revision: int = 0) -> int:
    with store.read_engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT position FROM es_events WHERE stream = :s AND revision = :r"),
                {"s": stream, "r": revision},
            ).scalar_one()
        )


def _problems(report: integrity.IntegrityReport) -> list[tuple[str, int]]:
    return [(f.problem, f.position) for f in report.broken]


def test_an_untouched_history_verifies_and_every_event_is_linked(store: SqlEventStore) -> None:
    report = integrity.check(store)
    assert (report.events, report.findings, report.last_position) == (11, [], 11)
    with store.read_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT position, hash, chain FROM es_events ORDER BY position")).all()
    previous = None
    for row in rows:  # PostgreSQL's es_append and the Python store link alike
        previous = ledger_link(previous, row.position, row.hash)
        assert row.chain == previous


def test_deleting_a_whole_stream_is_found_at_its_position(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = _position(store, "request-lonely")
    _sql(store, "DELETE FROM es_events WHERE stream = 'request-lonely'")
    found = _problems(integrity.check(store))
    assert found[0] == ("missing", gone)
    assert ("ledger", gone + 1) in found
    # …and with its stream's row, too: the hole in positions and the broken link remain.
    _sql(store, "DELETE FROM es_streams WHERE stream = 'request-lonely'")
    assert _problems(integrity.check(store))[:2] == [("missing", gone), ("ledger", gone + 1)]
    monkeypatch.setenv("EVENTSTORE_URL", store.url)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["integrity"])
    assert exit_.value.code == 1
    assert f"first at position {gone}" in capsys.readouterr().out


def test_events_swapped_in_all_break_the_store_wide_chain(store: SqlEventStore) -> None:
    first, second = _position(store, "request-0"), _position(store, "case-0")
    _sql(store, "UPDATE es_events SET position = -1 WHERE position = :p", p=first)
    _sql(store, "UPDATE es_events SET position = :a WHERE position = :b", a=first, b=second)
    _sql(store, "UPDATE es_events SET position = :b WHERE position = -1", b=second)
    assert _problems(integrity.check(store))[0] == ("ledger", first)


def _rewrite_from(store: SqlEventStore, position: int, data: dict[str, object]) -> None:
    """What an administrator with bad intent does to leave no broken link: change the event at
    `position`, then recompute every stream hash, every stream head and every store-wide link
    after it — everything but a signature."""
    with store.engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT * FROM es_events ORDER BY position")).all()
        heads_: dict[str, str] = {}
        link = None
        for row in rows:
            content = json.loads(row.data) if row.position != position else data
            value = event_hash(
                event_id=row.event_id,
                stream=row.stream,
                revision=row.revision,
                type=row.type,
                version=row.version,
                data=content,
                metadata=json.loads(row.metadata),
                correlation_id=row.correlation_id,
                causation_id=row.causation_id,
                previous=heads_.get(row.stream, ""),
            )
            heads_[row.stream] = value
            link = ledger_link(link, row.position, value)
            conn.execute(
                sa.text("UPDATE es_events SET data = :d, hash = :h, chain = :c WHERE position = :p"),
                {
                    "d": json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
                    "h": value,
                    "c": link,
                    "p": row.position,
                },
            )
        for stream, value in heads_.items():
            conn.execute(
                sa.text("UPDATE es_streams SET last_hash = :h WHERE stream = :s"), {"h": value, "s": stream}
            )


def _published_head(store: SqlEventStore, tmp_path: Path) -> Path:
    """A head signed now and kept outside the database, as `pishkhan heads` prints it."""
    head = heads.record(store.engine, heads.private_key(KEY))
    assert head is not None and head.signed_by(head.key_id)
    published = tmp_path / "heads.jsonl"
    published.write_text(head.as_line() + "\n", encoding="utf-8")
    return published


def test_an_edit_with_every_hash_recomputed_fails_against_a_head_signed_before(
    store: SqlEventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    published = _published_head(store, tmp_path)
    edited = _position(store, "case-1", 1)
    _rewrite_from(store, edited, {"n": 1, "unit": "جعلی"})
    _sql(store, "DELETE FROM es_heads")  # the database's own copy goes too
    assert integrity.check(store).broken == []  # the chains alone cannot tell…
    against = integrity.check(store, against=heads.read_heads(published))
    assert _problems(against) == [("ledger", 11)]  # …the head signed before can
    monkeypatch.setenv("EVENTSTORE_URL", store.url)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["integrity", "--against", str(published)])
    assert exit_.value.code == 1
    assert "is not the one the head signed" in capsys.readouterr().out


def test_cutting_every_streams_tail_fails_against_a_head_signed_before(
    store: SqlEventStore, tmp_path: Path
) -> None:
    published = _published_head(store, tmp_path)
    kept = integrity.check(store)
    assert kept.heads == 1 and kept.broken == []
    # Every stream's last event removed together, the streams' rows made to match, the heads gone.
    with store.engine.begin() as conn:
        lasts = conn.execute(
            sa.text("SELECT stream, max(revision) AS r FROM es_events GROUP BY stream")
        ).all()
        for stream, revision in lasts:
            conn.execute(
                sa.text("DELETE FROM es_events WHERE stream = :s AND revision = :r"),
                {"s": stream, "r": revision},
            )
    _sql(store, "DELETE FROM es_heads")
    cut = integrity.check(store, against=heads.read_heads(published))
    assert [f.problem for f in cut.broken if f.problem == "cut"] == ["cut"]
    assert any("events were cut from its end" in f.describe() for f in cut.broken)


def test_a_head_with_a_forged_signature_is_refused(store: SqlEventStore) -> None:
    head = heads.record(store.engine, heads.private_key(KEY))
    assert head is not None
    _sql(store, "UPDATE es_heads SET signature = :s", s="00" * 64)
    assert [f.problem for f in integrity.check(store).broken] == ["signature"]


def test_the_store_signs_heads_as_it_appends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTSTORE_SIGNING_KEY", KEY)
    monkeypatch.setenv("HEAD_EVERY_EVENTS", "10")
    store = SqlEventStore(f"sqlite:///{tmp_path / 'signed.db'}")
    for n in range(25):
        store.append(f"request-{n % 4}", [NewEvent("Noted", {"n": n})])
    kept = heads.stored(store.read_engine)
    assert [h.position for h in kept] == [10, 20]
    public = heads.public_key_of(heads.private_key(KEY))
    assert all(h.key_id == public and h.signed_by(public) for h in kept)
    assert integrity.check(store).heads == 2 and integrity.check(store).broken == []
    store.close()


def test_an_edited_event_cannot_be_laundered_through_an_export(store: SqlEventStore, tmp_path: Path) -> None:
    edited = _position(store, "case-2", 0)
    _sql(store, "UPDATE es_events SET data = :d WHERE position = :p", d='{"n":7}', p=edited)
    with pytest.raises(transfer.ExportRefused, match=f"position {edited}"):
        transfer.export(store, io.StringIO())
    marked = io.StringIO()
    transfer.export(store, marked, allow_broken=True)
    lines = marked.getvalue().splitlines()
    bad = [json.loads(line) for line in lines if '"broken"' in line]
    assert [(line["position"], line["broken"]) for line in bad] == [(edited, "tampered")]
    target = SqlEventStore(f"sqlite:///{tmp_path / 'copy.db'}")
    with pytest.raises(transfer.ImportRefused, match="marked 'tampered'"):
        transfer.import_events(target, lines)
    assert target.last_position() == 0
    target.close()


def test_an_export_carries_hashes_as_stored_and_its_copy_verifies(
    store: SqlEventStore, tmp_path: Path
) -> None:
    heads.record(store.engine, heads.private_key(KEY))
    out = io.StringIO()
    assert transfer.export(store, out) == 11
    lines = out.getvalue().splitlines()
    with store.read_engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT event_id, hash FROM es_events")).all())
    events = [
        json.loads(line) for line in lines if line.startswith('{"causation_id"') or '"kind":"event"' in line
    ]
    assert {e["event_id"]: e["hash"] for e in events} == stored
    assert [json.loads(line)["kind"] for line in lines[-2:]] == ["head", "end"]
    copy = SqlEventStore(f"sqlite:///{tmp_path / 'copy.db'}")
    assert transfer.import_events(copy, lines).written == 11
    verified = integrity.check(copy)
    assert (verified.events, verified.heads, verified.broken) == (11, 1, [])
    copy.close()


def _exported(store: SqlEventStore) -> list[str]:
    out = io.StringIO()
    transfer.export(store, out)
    return out.getvalue().splitlines()


def test_a_line_without_a_hash_is_refused_and_nothing_written(store: SqlEventStore, tmp_path: Path) -> None:
    lines = _exported(store)
    line = json.loads(lines[4])
    line["hash"] = None
    lines[4] = json.dumps(line, ensure_ascii=False)
    target = SqlEventStore(f"sqlite:///{tmp_path / 'copy.db'}")
    with pytest.raises(transfer.ImportRefused, match=f"line 5: event {line['event_id']} .* carries no hash"):
        transfer.import_events(target, lines)
    assert target.last_position() == 0
    target.close()


def test_a_file_bad_far_down_writes_nothing(tmp_path: Path) -> None:
    source = SqlEventStore(f"sqlite:///{tmp_path / 'big.db'}")
    for n in range(700):
        source.append(f"request-{n % 50}", [NewEvent("Noted", {"n": n})])
    lines = _exported(source)
    line = json.loads(lines[600])
    line["data"]["n"] = -1
    lines[600] = json.dumps(line, ensure_ascii=False)
    target = SqlEventStore(f"sqlite:///{tmp_path / 'copy.db'}")
    with pytest.raises(transfer.ImportRefused, match="line 601"):
        transfer.import_events(target, lines)
    assert target.last_position() == 0
    cut_short = _exported(source)[:-1]  # the end line lost: a file cut short
    with pytest.raises(transfer.ImportRefused, match="cut short"):
        transfer.import_events(target, cut_short)
    assert target.last_position() == 0
    source.close()
    target.close()


def test_ctrl_c_ends_a_command_with_one_line(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setenv("EVENTSTORE_URL", store.url)
    monkeypatch.setattr(integrity, "check", interrupted)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["integrity"])
    assert exit_.value.code == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


def test_a_store_older_than_the_chains_is_backfilled_once(store: SqlEventStore) -> None:
    _sql(store, "UPDATE es_events SET hash = NULL, chain = NULL")
    _sql(store, "UPDATE es_streams SET last_hash = NULL")
    store.append("request-new", [NewEvent("Noted", {"n": 1}, id=uuid.uuid4())])  # before anyone backfilled
    before = integrity.check(store)
    assert (before.unhashed, before.unlinked, before.broken) == (11, 11, [])
    assert integrity.backfill(store) == 12
    assert integrity.check(store).findings == []
    assert integrity.backfill(store) == 0


def test_the_embedded_desk_makes_its_signing_key_once(tmp_path: Path) -> None:
    from deploy.run import signing_key

    env = {"PISHKHAN_VAR": str(tmp_path)}
    line = signing_key(env)
    key = env["EVENTSTORE_SIGNING_KEY"]
    assert line is not None and (tmp_path / "head-signing-key").stat().st_mode & 0o777 == 0o600
    again = {"PISHKHAN_VAR": str(tmp_path)}
    signing_key(again)
    assert again["EVENTSTORE_SIGNING_KEY"] == key  # the same key on every start
    assert signing_key({"EVENTSTORE_SIGNING_KEY": KEY}) is None  # a configured key wins
