"""Audit across streams (by every name of a request, with roles, names and ids, in a table,
JSON lines, HTML and a right-to-left PDF); parked events; stats."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.envelope import NewEvent
from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.identity import RoleGranted, RoleRevoked, StaffCreated
from contracts.persian import persian_digits
from contracts.requests import TrackingCodeIssued
from infra import cli
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.ops import history, parked, report, stats
from infra.ops.history import find_history, with_causation
from infra.projections import Context, Projection, ProjectionRunner
from tests.audit_history import (
    CITIZEN_NAME,
    NATIONAL_CODE,
    PARTNER_NAME,
    UNKNOWN_PARTNER,
    History,
    PartnerFiled,
    record_history,
    record_partner_requests,
)

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
    assert 'dir="rtl"' in page and "ثبت در دفتر" in page and page.count('<tr class="event">') == 5

    if report.pdf_font() is None:
        pytest.skip("no font with Persian glyphs on this machine: the PDF report was not tested")
    cli.main(["audit", REQUEST, "--format", "pdf", "-o", str(tmp_path / "a.pdf")])
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.usefixtures("request_history")
def test_an_unknown_subject_says_so(store: SqlEventStore) -> None:
    with pytest.raises(SystemExit, match="no events") as stopped:
        cli.main(["audit", "nothing-like-it"])
    assert "هیچ رویدادی" in str(stopped.value.code)  # a message: the process exits with 1


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


# -- every name of a request, roles and names, the right-to-left PDF ---------------------------


@pytest.fixture
def recorded(store: SqlEventStore, monkeypatch: pytest.MonkeyPatch) -> History:
    """The full history of tests/audit_history.py in `store`, which `pishkhan` is pointed at."""
    monkeypatch.setenv("EVENTSTORE_URL", store.url)
    return record_history(store)


def _ids_by(store: SqlEventStore, subject: str) -> list[set[uuid.UUID]]:
    return [{e.id for e in group.events} for group in history.find_groups(store, subject)]


def test_every_name_of_a_request_finds_the_same_events(store: SqlEventStore, recorded: History) -> None:
    by_id = {e.id for e in find_history(store, recorded.request_id)}
    types = sorted(e.type for e in find_history(store, recorded.request_id))
    assert types == sorted(
        ["TrackingCodeIssued", "RequestSubmitted", "NumberAssigned", "CaseReferred", "ReplyPosted"]
        + ["SmsQueued", "SmsSent"] * 3
        + ["SurveyAnswered"]
    )
    code, number = recorded.tracking_code, recorded.registration_number
    for subject in (
        recorded.request_id,
        code,
        persian_digits(code),
        f"{code[:4]}-{code[4:8]}-{code[8:]}",
        number,
        persian_digits(number),
        f"request-{recorded.request_id}",
        f"case-{recorded.request_id}",
        f"survey-{recorded.request_id}",
        f"tracking-{code}",
    ):
        assert _ids_by(store, subject) == [by_id], subject
    # A national code names both of the citizen's requests and the account: the first group is
    # the same request's history.
    assert _ids_by(store, NATIONAL_CODE)[0] == by_id
    assert _ids_by(store, persian_digits(NATIONAL_CODE))[0] == by_id


def test_a_national_code_lists_each_request_of_the_person_and_the_account(
    store: SqlEventStore, recorded: History
) -> None:
    groups = history.find_groups(store, NATIONAL_CODE)
    assert [(g.subject.kind, g.subject.id, g.subject.via) for g in groups] == [
        ("request", recorded.request_id, ["national code"]),
        ("request", recorded.second_request, ["national code"]),
        ("account", recorded.account_id, ["national code"]),
    ]
    assert [e.type for e in groups[2].events] == ["CitizenRegistered"]
    everything = {e.id for g in groups for e in g.events}
    assert not everything & {e.id for e in find_history(store, recorded.stranger_request)}
    assert len(everything) == sum(len(g.events) for g in groups)  # no event in two groups


def test_a_subject_naming_nothing_exits_1_in_persian_and_english(recorded: History) -> None:
    for subject in ("999999999999", "1405/23/999", "0000000000"):
        with pytest.raises(SystemExit) as stopped:
            cli.main(["audit", subject])
        message = str(stopped.value.code)
        assert "هیچ رویدادی" in message and "no events" in message and subject in message


def test_rows_say_who_acted_by_name_and_role(store: SqlEventStore, recorded: History) -> None:
    rows = history.group_rows(history.find_groups(store, recorded.tracking_code), history.Actors(store))[0][
        "rows"
    ]
    who = {r["type"]: (r["actor"], r["actor_id"], r["actor_name"], r["role"]) for r in rows}
    assert who["NumberAssigned"] == ("staff:clerk-1", "clerk-1", "سارا دبیری", "clerk")
    assert who["CaseReferred"] == ("staff:clerk-1", "clerk-1", "سارا دبیری", "clerk")
    assert who["ReplyPosted"] == ("staff:rep-1", "rep-1", "رضا پیگیر", "representative")
    assert who["RequestSubmitted"][2:] == (CITIZEN_NAME, "citizen")
    assert who["SurveyAnswered"][2:] == (CITIZEN_NAME, "citizen")
    assert who["SmsQueued"] == ("service:notify", "notify", None, "service")
    assert who["TrackingCodeIssued"][3] == "system"
    assert all(r["group"] == f"request:{recorded.request_id}" for r in rows)


def test_a_staff_role_and_name_are_those_of_the_time_of_the_action(store: SqlEventStore) -> None:
    """No `actor_name` in the event: the account's stream names it; its roles are those granted
    and not revoked before the action; roles the command recorded come first."""
    account = [
        new_event(
            StaffCreated(
                account_id="s1",
                national_code="0010000001",
                full_name="نرگس امینی",
                mobile="09120000000",
                created_by="admin",
                created_at="2026-03-01",
            )
        ),
        new_event(RoleGranted(account_id="s1", role="clerk", province="tehran", granted_by="admin", at="x")),
    ]
    store.append("account-s1", account)
    store.append("case-r1", [NewEvent("CaseTaken", {"request_id": "r1"}, metadata={"actor": "staff:s1"})])
    store.append(
        "account-s1",
        [
            new_event(RoleGranted(account_id="s1", role="admin", granted_by="admin", at="x")),
            new_event(RoleRevoked(account_id="s1", role="clerk", revoked_by="admin", at="x")),
        ],
    )
    store.append("case-r1", [NewEvent("CaseReleased", {"request_id": "r1"}, metadata={"actor": "staff:s1"})])
    store.append(
        "case-r1",
        [
            NewEvent(
                "CaseTaken", {"request_id": "r1"}, metadata={"actor": "staff:s1", "roles": ["desk_officer"]}
            )
        ],
    )
    rows = history.with_causation(store.read_stream("case-r1"), history.Actors(store))
    assert [(r["actor_name"], r["role"]) for r in rows] == [
        ("نرگس امینی", "clerk"),
        ("نرگس امینی", "admin"),
        ("نرگس امینی", "desk_officer"),
    ]


@pytest.fixture
def partner_filed(store: SqlEventStore, monkeypatch: pytest.MonkeyPatch) -> PartnerFiled:
    """tests/audit_history.py's partner-filed requests in `store`, which `pishkhan` is pointed at."""
    monkeypatch.setenv("EVENTSTORE_URL", store.url)
    return record_partner_requests(store)


def _submitted(store: SqlEventStore, subject: str) -> dict[str, Any]:
    rows = history.group_rows(history.find_groups(store, subject), history.Actors(store))[0]["rows"]
    return next(r for r in rows if r["type"] == "RequestSubmitted")


def test_a_request_a_partner_filed_names_the_partner_in_its_role(
    store: SqlEventStore, partner_filed: PartnerFiled
) -> None:
    """The partner's name is the one its stream gave it (it was revoked since: the name stays),
    not the person it filed for; a partner id the store does not know shows as the id alone."""
    partner = partner_filed.partner_id
    row = _submitted(store, partner_filed.tracking_code)
    assert (row["actor"], row["actor_id"], row["actor_name"], row["role"], row["roles"]) == (
        f"partner:{partner}",
        partner,
        PARTNER_NAME,
        "partner",
        ["partner"],
    )
    stranger = _submitted(store, partner_filed.stranger_request)
    assert (stranger["actor"], stranger["actor_name"], stranger["role"]) == (
        f"partner:{UNKNOWN_PARTNER}",
        None,
        "partner",
    )


def test_the_table_json_lines_and_page_name_a_partner_and_its_role(
    partner_filed: PartnerFiled, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partner = f"partner:{partner_filed.partner_id}"
    cli.main(["audit", partner_filed.request_id, "--format", "jsonl"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    submitted = next(line for line in lines if line["type"] == "RequestSubmitted")
    assert (submitted["actor"], submitted["actor_name"], submitted["roles"]) == (
        partner,
        PARTNER_NAME,
        ["partner"],
    )
    cli.main(["audit", partner_filed.request_id])
    row = next(line for line in capsys.readouterr().out.splitlines() if "RequestSubmitted" in line)
    assert PARTNER_NAME in row and re.search(rf"{partner}\s+partner\s", row), row
    cli.main(["audit", partner_filed.request_id, "--format", "html", "-o", str(tmp_path / "a.html")])
    page = (tmp_path / "a.html").read_text()
    event_row = next(tr for tr in page.split('<tr class="event">') if "RequestSubmitted" in tr)
    assert f"<td>{PARTNER_NAME}</td>" in event_row and "<td>شریک سامانه</td>" in event_row


def test_the_table_and_json_lines_carry_names_roles_and_ids(
    recorded: History, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["audit", NATIONAL_CODE, "--format", "jsonl"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {line["group"] for line in lines} == {
        f"request:{recorded.request_id}",
        f"request:{recorded.second_request}",
        f"account:{recorded.account_id}",
    }
    cli.main(["audit", recorded.registration_number])
    table = capsys.readouterr().out
    assert table.startswith(f"== request {recorded.request_id} (found by registration number): 12 events")
    number = next(line for line in lines if line["type"] == "NumberAssigned")
    assert number["event_id"] in table and "سارا دبیری" in table and "staff:clerk-1" in table
    assert "representative" in table


def test_the_html_page_is_right_to_left_with_a_section_per_request_and_the_ids(
    recorded: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["audit", NATIONAL_CODE, "--format", "jsonl"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    cli.main(["audit", NATIONAL_CODE, "--format", "html", "-o", str(tmp_path / "a.html")])
    page = (tmp_path / "a.html").read_text()
    assert '<html lang="fa" dir="rtl">' in page
    assert page.count("<section") == 3 and page.count('<tr class="event">') == len(lines)
    assert page.index(recorded.request_id) < page.index(recorded.second_request)
    for line in lines:
        assert line["event_id"] in page
        assert line["causation_id"] is None or line["causation_id"] in page
    assert "کارشناس دبیرخانه" in page and "سارا دبیری" in page and "یافته با: کد ملی" in page


def _pdf_words(pdf: Path) -> list[tuple[float, float, str]]:
    """(x, y, word) of each word pdftotext finds, top to bottom."""
    if shutil.which("pdftotext") is None:
        pytest.fail("reading the PDF needs pdftotext: install Debian's poppler-utils (tests/run.sh does)")
    html = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return [
        (float(x), float(y), word)
        for x, y, word in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', html)
    ]


def test_the_pdf_reads_right_to_left_and_carries_every_event_and_causation_id(
    store: SqlEventStore, recorded: History, tmp_path: Path
) -> None:
    if report.pdf_font() is None:
        pytest.fail("no font with Persian glyphs: install fonts-dejavu-core")
    path = tmp_path / "audit.pdf"
    cli.main(["audit", persian_digits(recorded.tracking_code), "--format", "pdf", "-o", str(path)])
    rows = history.with_causation(find_history(store, recorded.request_id))
    words = _pdf_words(path)
    text = " ".join(w for _, _, w in words)
    for row in rows:
        assert row["event_id"] in text
        assert row["causation_id"] is None or row["causation_id"] in text
    # The columns run from the right: ISO time (3rd), stream (4th), event (5th), actor id (7th),
    # each cell's first line at the row's top.
    first = rows[1]  # the submission, by a citizen
    y = next(wy for _, wy, w in words if w == first["type"])
    on_line = [(x, w) for x, wy, w in words if abs(wy - y) < 1]

    def x_of(start: str) -> float:
        return next(x for x, w in on_line if w.startswith(start))

    x_iso, x_stream = x_of(first["recorded_at"][:19]), x_of(f"request-{recorded.request_id[:8]}")
    assert x_iso > x_stream > x_of(first["type"]) > x_of(first["actor"])
    plain = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True
    ).stdout
    assert CITIZEN_NAME in plain and "کارشناس دبیرخانه" in plain and "سارا دبیری" in plain


def test_a_pdf_named_after_a_registration_number_is_one_file_in_the_folder(
    recorded: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cli.main(["audit", recorded.registration_number, "--format", "pdf"])
    named = "audit-" + recorded.registration_number.replace("/", "-") + ".pdf"
    assert [p.name for p in tmp_path.glob("audit-*")] == [named]
    assert (tmp_path / named).read_bytes().startswith(b"%PDF")


def test_a_store_without_sql_resolves_every_name_the_same_way(memory_store: EventStore) -> None:
    """EventStoreDB's path (reading events of a type through the client), on the memory store."""
    recorded = record_history(memory_store)
    by_id = {e.id for e in find_history(memory_store, recorded.request_id)}
    assert len(by_id) == 12
    for subject in (recorded.tracking_code, persian_digits(recorded.registration_number), NATIONAL_CODE):
        assert {e.id for e in history.find_groups(memory_store, subject)[0].events} == by_id
