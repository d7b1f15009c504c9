"""Audit across streams; parked events; stats."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.envelope import NewEvent
from contracts.events import new_event
from contracts.requests import TrackingCodeIssued
from infra import cli
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.ops import parked, report, stats
from infra.ops.history import find_history, with_causation
from infra.projections import Context, Projection, ProjectionRunner

REQUEST = uuid.uuid4().hex


@pytest.fixture
def request_history(store: SqlEventStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request's history across streams in `store`, which `pishkhan` is pointed at: its
    submission and the SMS it caused, its registration number and the SMS that one caused, and
    another request beside it."""
    monkeypatch.setenv("EVENTSTORE_URL", store.url)
    submitted = NewEvent(
        "RequestSubmitted",
        {"request_id": REQUEST, "tracking_code": "1"},
        metadata={"actor": "citizen:0084575948"},
    )
    store.append(f"request-{REQUEST}", [submitted])
    queued = NewEvent(
        "SmsQueued", {"message_id": "m1"}, correlation_id=submitted.id, causation_id=submitted.id
    )
    store.append("sms-m1", [queued])
    store.append(
        "sms-m1",
        [NewEvent("SmsSent", {"message_id": "m1"}, correlation_id=submitted.id, causation_id=queued.id)],
    )
    # The book's entry names the request in its data only, under a conversation of its own.
    number = NewEvent(
        "NumberAssigned",
        {"request_id": REQUEST, "registration_number": "1403/tehran/1"},
        metadata={"actor": "clerk:7", "reason": "ثبت در دفتر"},
    )
    store.append("registry-tehran-1403", [number])
    store.append(
        "sms-m2",
        [NewEvent("SmsQueued", {"message_id": "m2"}, correlation_id=number.id, causation_id=number.id)],
    )
    store.append("request-other", [NewEvent("RequestSubmitted", {"request_id": "other"})])


@pytest.mark.usefixtures("request_history")
def test_a_requests_history_spans_its_streams_with_the_causation_chain(store: SqlEventStore) -> None:
    rows = with_causation(find_history(store, REQUEST))
    assert [(r["stream"], r["type"], r["depth"]) for r in rows] == [
        (f"request-{REQUEST}", "RequestSubmitted", 0),
        ("sms-m1", "SmsQueued", 1),
        ("sms-m1", "SmsSent", 2),
        ("registry-tehran-1403", "NumberAssigned", 0),
        ("sms-m2", "SmsQueued", 1),
    ]
    number = rows[3]
    assert (number["actor"], number["role"], number["reason"]) == ("clerk:7", "clerk", "ثبت در دفتر")
    assert number["jalali"].startswith("۱۴") and number["recorded_at"][:2] == "20"


@pytest.mark.usefixtures("request_history")
def test_an_accounts_history_is_found_by_its_national_code_in_actor_or_data(store: SqlEventStore) -> None:
    found = find_history(store, "0084575948")
    assert [(e.stream, e.type) for e in found][:3] == [
        (f"request-{REQUEST}", "RequestSubmitted"),
        ("sms-m1", "SmsQueued"),
        ("sms-m1", "SmsSent"),
    ]
    assert "request-other" not in {e.stream for e in found}


@pytest.mark.usefixtures("request_history")
def test_the_report_as_json_lines_table_html_and_pdf(
    store: SqlEventStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["audit", REQUEST, "--format", "jsonl"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 5 and lines[1]["causation_id"] == lines[0]["event_id"]

    cli.main(["audit", f"request-{REQUEST}", "--format", "table"])
    table = capsys.readouterr().out
    assert "└ SmsQueued v1" in table and "clerk:7" in table

    cli.main(["audit", REQUEST, "--format", "html", "-o", str(tmp_path / "a.html")])
    page = (tmp_path / "a.html").read_text()
    assert 'dir="rtl"' in page and "ثبت در دفتر" in page and page.count("<tr>") == 6

    if report.pdf_font() is None:
        pytest.skip("no font with Persian glyphs on this machine: the PDF report was not tested")
    cli.main(["audit", REQUEST, "--format", "pdf", "-o", str(tmp_path / "a.pdf")])
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.usefixtures("request_history")
def test_an_unknown_subject_says_so(store: SqlEventStore) -> None:
    with pytest.raises(SystemExit, match="no events"):
        cli.main(["audit", "nothing-like-it"])


class Fussy(Projection):
    """Refuses tracking codes that end in 7, until told otherwise."""

    name = "ops_test.fussy"
    handles = (TrackingCodeIssued,)
    metadata = sa.MetaData()
    seen: list[str] = []
    refuse = True

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        if self.refuse and event.tracking_code.endswith("7"):
            raise ValueError("no sevens")
        self.seen.append(event.tracking_code)


def test_parked_events_are_listed_inspected_retried_and_skipped(store: SqlEventStore, db: Database) -> None:
    for code in ("1", "7", "27", "3"):
        store.append(f"tracking-{code}", [new_event(TrackingCodeIssued(tracking_code=code, request_id=code))])
    fussy = Fussy()
    runner = ProjectionRunner(store, db, [fussy], backoff=0.001)
    runner.setup()
    runner.run_once()
    listed = parked.list_parked(db)
    assert [(r["event_type"], r["error"]) for r in listed] == [
        ("TrackingCodeIssued", "ValueError: no sevens")
    ] * 2
    shown = parked.inspect(store, db, listed[0]["id"])
    assert shown is not None and shown["event"]["data"] == {"tracking_code": "7", "request_id": "7"}

    assert parked.retry(store, db, [fussy], listed[0]["id"]) == (False, "ValueError: no sevens")
    Fussy.refuse = False
    assert parked.retry(store, db, [fussy], listed[0]["id"]) == (True, "")
    assert parked.skip(db, listed[1]["id"])
    assert parked.list_parked(db) == [] and "7" in Fussy.seen and "27" not in Fussy.seen

    lags = stats.lags(store, "test", db, [fussy])
    assert [(lag.checkpoint, lag.behind_positions, lag.pending_events) for lag in lags] == [(4, 0, 0)]
    counted = stats.store_stats(store)
    assert (counted.events, counted.per_type["TrackingCodeIssued"], sum(counted.per_day.values())) == (
        4,
        4,
        4,
    )
    assert counted.size_bytes and counted.size_bytes > 0
