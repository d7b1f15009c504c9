"""What staff do with a request, through the real commands and read model in one process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.errors import DomainError
from contracts.events import new_event
from contracts.requests import Applicant, RequestResubmitted, RequestSubmitted
from contracts.secretariat_rpc import (
    AddNote,
    CartableQuery,
    CaseCommand,
    Refer,
    Reply,
    ReturnToApplicant,
    SetRequestStatus,
    Staff,
    WithReason,
)
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.secretariat import commands, lifecycle, queries
from services.secretariat.overview import overview
from services.secretariat.projections import Inbox
from services.secretariat.workdays import to_jalali
from tests.units import define_units

CLERK = Staff(account_id="clerk-1", name="سارا دبیری", roles=("clerk",), province="tehran")
CLERK_2 = Staff(account_id="clerk-2", name="علی منشی", roles=("clerk",), province="tehran")
OTHER_CLERK = Staff(account_id="clerk-9", name="کارشناس اصفهان", roles=("clerk",), province="isfahan")
REP = Staff(account_id="rep-1", name="رضا پیگیر", roles=("representative",), unit="permits")
REP_2 = Staff(account_id="rep-2", name="نرگس پیگیر", roles=("representative",), unit="permits")
OTHER_REP = Staff(account_id="rep-9", name="پیگیر دیگر", roles=("representative",), unit="finance")


@dataclass
class Desk:
    store: SqlEventStore
    runner: ProjectionRunner

    @property
    def db(self) -> Any:
        return self.runner.db.read

    def submit(self, province: str = "tehran", national_code: str = "0084575948", at: str = "") -> str:
        request_id = uuid.uuid4().hex
        event = RequestSubmitted(
            request_id=request_id,
            tracking_code=str(uuid.uuid4().int)[:12],
            applicant=Applicant(national_code=national_code, full_name="مریم کاظمی", mobile="09123456789"),
            province=province,
            subject="درخواست مجوز",
            text="متن",
            submitted_at=at or datetime.now(UTC).isoformat(),
        )
        self.store.append(f"request-{request_id}", [new_event(event)])
        self.runner.run_once()
        return request_id

    def resubmit(self, request_id: str) -> None:
        event = RequestResubmitted(
            request_id=request_id, subject="درخواست اصلاح‌شده", text="متن", resubmitted_at="x"
        )
        self.store.append(f"request-{request_id}", [new_event(event)])
        self.runner.run_once()

    def do(self, action: Any, command: Any) -> dict[str, Any]:
        answer: dict[str, Any] = action(self.store, command)
        self.runner.run_once()
        return answer

    def row(self, request_id: str, staff: Staff = CLERK) -> dict[str, Any]:
        case: dict[str, Any] = queries.case_file(self.db, request_id, staff)["case"]
        return case

    def folder(self, staff: Staff, folder: str, **filters: Any) -> list[str]:
        page = queries.cartable(self.db, CartableQuery(staff=staff, folder=folder, **filters))  # type: ignore[arg-type]
        return [item["request_id"] for item in page["items"]]


@pytest.fixture
def desk(store: SqlEventStore, db: Database) -> Desk:
    runner = ProjectionRunner(store, db, [Inbox()])
    runner.setup()
    define_units(store)
    return Desk(store, runner)


def _registered_and_referred(desk: Desk, representative: Staff | None = None) -> str:
    request_id = desk.submit()
    desk.do(commands.register, CaseCommand(request_id=request_id, staff=CLERK))
    refer = Refer(
        request_id=request_id,
        staff=CLERK,
        unit="permits",
        unit_name="صدور مجوز",
        representative=representative.account_id if representative else None,
        representative_name=representative.name if representative else None,
        instruction="لطفاً بررسی و پاسخ دهید.",
    )
    desk.do(commands.refer, refer)
    return request_id


def test_a_clerk_sees_only_their_secretariat(desk: Desk) -> None:
    tehran, isfahan = desk.submit("tehran"), desk.submit("isfahan")
    assert desk.folder(CLERK, "awaiting") == [tehran]
    assert desk.folder(OTHER_CLERK, "awaiting") == [isfahan]
    with pytest.raises(DomainError) as hidden:
        queries.case_file(desk.db, tehran, OTHER_CLERK)
    assert hidden.value.code == "request_not_found"
    with pytest.raises(DomainError) as refused:
        commands.register(desk.store, CaseCommand(request_id=tehran, staff=OTHER_CLERK))
    assert refused.value.code == "request_not_found"
    admin = Staff(account_id="admin", roles=("admin",))
    assert set(desk.folder(admin, "all")) == {tehran, isfahan}


def test_a_referral_to_a_unit_the_catalogue_does_not_define_is_refused_and_records_nothing(
    desk: Desk,
) -> None:
    request_id = desk.submit()
    desk.do(commands.register, CaseCommand(request_id=request_id, staff=CLERK))
    before = desk.store.stream_version(f"case-{request_id}")
    refer = Refer(request_id=request_id, staff=CLERK, unit="atlantis-office", instruction="بررسی شود")
    with pytest.raises(DomainError) as refused:
        desk.do(commands.refer, refer)
    assert refused.value.code == "unknown_unit"
    assert desk.store.stream_version(f"case-{request_id}") == before
    named = desk.do(
        commands.refer, Refer(request_id=request_id, staff=CLERK, unit="permits", instruction="x")
    )
    assert named["event"]["unit_name"] == "صدور مجوز"  # the catalogue's name when the form sends none


def test_a_representative_sees_only_what_was_referred_to_their_unit(desk: Desk) -> None:
    request_id = desk.submit()
    desk.submit()
    assert desk.folder(REP, "all") == []
    with pytest.raises(DomainError):
        queries.case_file(desk.db, request_id, REP)
    desk.do(commands.register, CaseCommand(request_id=request_id, staff=CLERK))
    refer = Refer(request_id=request_id, staff=CLERK, unit="permits", instruction="بررسی شود")
    desk.do(commands.refer, refer)
    assert desk.folder(REP, "awaiting") == [request_id]
    assert desk.folder(OTHER_REP, "all") == []
    assert desk.folder(CLERK, "in_progress") == [request_id]
    with pytest.raises(DomainError) as refused:
        commands.take(desk.store, CaseCommand(request_id=request_id, staff=OTHER_REP))
    assert refused.value.code == "request_not_found"
    with pytest.raises(DomainError) as not_theirs:
        commands.refer(desk.store, refer.model_copy(update={"staff": REP, "command_id": "x" * 10}))
    assert not_theirs.value.code == "forbidden"


def test_register_refer_take_reply_with_history(desk: Desk) -> None:
    request_id = _registered_and_referred(desk)
    desk.do(commands.take, CaseCommand(request_id=request_id, staff=REP))
    assert desk.row(request_id)["holder_name"] == REP.name
    with pytest.raises(DomainError) as held:
        commands.reply(desk.store, Reply(request_id=request_id, staff=REP_2, body="پاسخ"))
    assert held.value.code == "held_by_other"
    desk.do(commands.add_note, AddNote(request_id=request_id, staff=REP_2, text="نظر همکار"))
    desk.do(commands.reply, Reply(request_id=request_id, staff=REP, kind="interim", body="در حال بررسی"))
    desk.do(
        commands.reply,
        Reply(
            request_id=request_id,
            staff=REP,
            body="مجوز صادر شد.",
            legal_basis="ماده ۱",
            appeal_deadline="۲۰ روز",
        ),
    )
    file = queries.case_file(desk.db, request_id, CLERK)
    assert file["case"]["status"] == "done" and file["case"]["reply_days"] == 0
    assert desk.folder(CLERK, "done") == [request_id] and desk.folder(REP, "done") == [request_id]
    actions = [h["action"] for h in file["history"]]
    assert actions == ["submitted", "numbered", "referred", "taken", "note", "reply_interim", "reply_final"]
    assert [h["actor_name"] for h in file["history"]][1:4] == [CLERK.name, CLERK.name, REP.name]
    assert file["replies"][1]["legal_basis"] == "ماده ۱"  # free text keeps the digits typed
    assert file["replies"][1]["reply_number"].startswith("14")
    assert "نظر همکار" in [h["text"] for h in file["report"]]
    with pytest.raises(DomainError) as finished:
        commands.reply(desk.store, Reply(request_id=request_id, staff=CLERK, body="دوباره"))
    assert finished.value.code == "already_final"


def test_the_clerks_folder_counts_follow_each_request_through_its_stages(desk: Desk) -> None:
    def counts() -> dict[str, int]:
        page = queries.cartable(desk.db, CartableQuery(staff=CLERK, folder="all"))
        counted: dict[str, int] = page["counts"]
        return counted

    late = desk.submit(at="2020-01-05T08:00:00+00:00")  # long past its due date
    request_id = _registered_and_referred(desk, representative=REP)
    desk.submit(province="isfahan")
    assert counts() == {"awaiting": 1, "in_progress": 1, "done": 0, "overdue": 1}
    desk.do(
        commands.return_to_applicant, ReturnToApplicant(request_id=request_id, staff=REP, reason="امضا ندارد")
    )
    assert counts() == {"awaiting": 1, "in_progress": 1, "done": 0, "overdue": 1}  # with the citizen
    desk.resubmit(request_id)
    desk.do(commands.reply, Reply(request_id=request_id, staff=REP, body="مجوز صادر شد."))
    desk.do(commands.register, CaseCommand(request_id=late, staff=CLERK))
    desk.do(commands.reply, Reply(request_id=late, staff=CLERK, body="پاسخ"))
    assert counts() == {"awaiting": 0, "in_progress": 0, "done": 2, "overdue": 0}
    admin = Staff(account_id="admin", roles=("admin",))
    everywhere = queries.cartable(desk.db, CartableQuery(staff=admin, folder="all"))["counts"]
    assert (everywhere["awaiting"], everywhere["done"]) == (1, 2)
    for folder, expected in counts().items():  # the counts agree with the folders themselves
        if folder != "overdue":
            assert len(desk.folder(CLERK, folder)) == expected


def test_two_staff_at_the_same_moment_one_wins_the_other_gets_a_conflict(desk: Desk) -> None:
    request_id = _registered_and_referred(desk)
    seen = desk.row(request_id)["version"]
    first = ReturnToApplicant(request_id=request_id, staff=CLERK, reason="مدارک ناقص", expected_version=seen)
    second = Reply(request_id=request_id, staff=CLERK_2, body="پاسخ", expected_version=seen)
    desk.do(commands.return_to_applicant, first)
    with pytest.raises(DomainError) as conflict:
        commands.reply(desk.store, second)
    assert conflict.value.code == "conflict"
    assert "هم‌زمان" in conflict.value.message
    again = desk.do(commands.return_to_applicant, first)  # the same command again: its first answer
    assert again["version"] == seen + 1


def test_a_corrected_request_comes_back_to_the_same_holder_and_the_clock_pauses(desk: Desk) -> None:
    request_id = _registered_and_referred(desk, representative=REP)
    assert desk.row(request_id)["holder_name"] == REP.name
    due = desk.row(request_id)["due_on"]
    desk.do(
        commands.return_to_applicant, ReturnToApplicant(request_id=request_id, staff=REP, reason="امضا ندارد")
    )
    returned = desk.row(request_id)
    assert (returned["stage"], returned["due_on"], returned["paused"]) == ("citizen", None, True)
    with pytest.raises(DomainError) as waiting:
        commands.reply(desk.store, Reply(request_id=request_id, staff=REP, body="پاسخ"))
    assert waiting.value.code == "waiting_for_citizen"
    desk.resubmit(request_id)
    back = desk.row(request_id)
    assert (back["stage"], back["holder_name"], back["taken_by"]) == ("unit", REP.name, REP.account_id)
    assert back["due_on"] == due  # resubmitted the same day: no working day was paused
    assert desk.folder(REP, "awaiting") == [request_id]
    with pytest.raises(DomainError) as held:
        commands.take(desk.store, CaseCommand(request_id=request_id, staff=REP_2))
    assert held.value.code == "not_at_your_desk"


def test_request_status_close_archive_reopen(desk: Desk) -> None:
    request_id = desk.submit()
    status = SetRequestStatus(request_id=request_id, staff=CLERK, value="yes")
    desk.do(commands.set_request_status, status)
    assert desk.row(request_id)["request_status"] == "yes"
    with pytest.raises(DomainError) as early:
        lifecycle.archive(desk.store, WithReason(request_id=request_id, staff=CLERK))
    assert early.value.code == "case_open"
    desk.do(lifecycle.close, WithReason(request_id=request_id, staff=CLERK, reason="تکراری"))
    desk.do(lifecycle.archive, WithReason(request_id=request_id, staff=CLERK))
    assert desk.row(request_id)["status"] == "archived" and desk.folder(CLERK, "done") == [request_id]
    desk.do(lifecycle.reopen, WithReason(request_id=request_id, staff=CLERK, reason="اشتباه بسته شد"))
    assert desk.row(request_id)["stage"] == "secretariat" and desk.folder(CLERK, "awaiting") == [request_id]


def test_search_filters_and_keyset_pages(desk: Desk) -> None:
    ids = [desk.submit(national_code="0084575948" if n % 2 else "1111111111") for n in range(7)]
    seen: list[str] = []
    after = None
    while True:
        query = CartableQuery(staff=CLERK, folder="all", limit=3, after=after)
        page = queries.cartable(desk.db, query)
        seen += [item["request_id"] for item in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == list(reversed(ids))
    assert len(desk.folder(CLERK, "all", national_code="۰۰۸۴۵۷۵۹۴۸")) == 3
    desk.do(commands.register, CaseCommand(request_id=ids[0], staff=CLERK))
    number = desk.row(ids[0])["registration_number"]
    assert desk.folder(CLERK, "all", registration_number=number) == [ids[0]]
    assert desk.folder(CLERK, "all", status="registered") == [ids[0]]
    assert len(desk.folder(CLERK, "all", date_from="1300/01/01", date_to="1500/01/01")) == 7
    assert desk.folder(CLERK, "all", date_to="1300/01/01") == []
    with pytest.raises(DomainError) as bad:
        desk.folder(CLERK, "all", date_from="1405/13/40")
    assert bad.value.code == "invalid_jalali_date"


def test_overview_counts_and_times(desk: Desk) -> None:
    request_id = _registered_and_referred(desk)
    desk.submit()
    desk.do(commands.reply, Reply(request_id=request_id, staff=CLERK, body="پاسخ"))
    rows = {(r["group"], r["key"]): r for r in overview(desk.db, CLERK)["rows"]}
    tehran = rows[("secretariat", "tehran")]
    assert (tehran["open"], tehran["replied"], tehran["average_days"], tehran["p90_days"]) == (1, 1, 0.0, 0.0)
    assert rows[("unit", "permits")]["replied"] == 1
    assert overview(desk.db, OTHER_CLERK)["rows"] == []


def test_the_date_range_is_in_tehran_days(desk: Desk) -> None:
    request_id = desk.submit(at="2026-11-18T21:00:00+00:00")  # 00:30 on the 19th in Tehran
    tehran_day = to_jalali(date(2026, 11, 19))
    assert desk.folder(CLERK, "all", date_from=tehran_day, date_to=tehran_day) == [request_id]
    assert desk.folder(CLERK, "all", date_to=to_jalali(date(2026, 11, 18))) == []


def test_a_reply_right_after_numbering_is_recorded_before_the_inbox_sees_the_number(desk: Desk) -> None:
    request_id = desk.submit()
    number = commands.register(desk.store, CaseCommand(request_id=request_id, staff=CLERK))
    assert desk.row(request_id)["registration_number"] is None  # the inbox has not seen it yet
    answer = commands.reply(desk.store, Reply(request_id=request_id, staff=CLERK, body="پاسخ"))
    assert answer["event"]["reply_number"].startswith(number["registration_number"])
    desk.runner.run_once()
    assert desk.row(request_id)["registration_number"] == number["registration_number"]


def test_a_reply_to_a_request_never_numbered_is_refused(desk: Desk) -> None:
    request_id = desk.submit()
    with pytest.raises(DomainError) as refused:
        commands.reply(desk.store, Reply(request_id=request_id, staff=CLERK, body="پاسخ"))
    assert refused.value.code == "not_numbered"
