"""The secretariat's rules as given events / when a staff action / then events or a refusal:
every action on a case and the registry book, with no store and no read model; and, last, one
registration and reply through `handle` on a SQLite store with no projection running."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.errors import DomainError
from contracts.events import new_event
from contracts.requests import RequestResubmitted
from contracts.secretariat import (
    CaseArchived,
    CaseClosed,
    CaseReferred,
    CaseReleased,
    CaseReopened,
    CaseTaken,
    InternalNoteAdded,
    NumberAssigned,
    ReplyPosted,
    RequestStatusSet,
    ReturnedForCorrection,
)
from contracts.secretariat_rpc import (
    AddNote,
    CaseCommand,
    Refer,
    Reply,
    ReturnToApplicant,
    SetRequestStatus,
    Staff,
    WithReason,
)
from infra.eventstore.sql import SqlEventStore
from services.secretariat import commands, lifecycle, rules
from services.secretariat.case import CASE, Decision
from services.secretariat.numbering import BOOK, TakeNumber
from tests.case_history import ADMIN, CLERK, CLERK_2, NUMBERED, OTHER_CLERK, REFERRED, REP, RID, SUBMITTED
from tests.scenario import Scenario, scenario

AT = datetime(2026, 3, 21, 20, 45, tzinfo=UTC)  # already 1405/01/02 in Tehran (00:15)
REP_2 = Staff(account_id="rep-2", roles=("representative",), unit="permits")
TO_REP = REFERRED.model_copy(update={"representative": REP.account_id})
TAKEN = CaseTaken(request_id=RID, actor=CLERK.account_id)
RETURNED = ReturnedForCorrection(
    request_id=RID, reason="امضا ندارد", clerk=REP.account_id, holder="unit:permits:rep-1"
)
CLOSED = CaseClosed(request_id=RID, reason="تکراری", actor=CLERK.account_id)
FINAL = ReplyPosted(request_id=RID, reply_id="x", kind="final", body="پاسخ", clerk="clerk-1", posted_at="t")


def case(*history: Any) -> Scenario[Decision[Any], Any]:
    return scenario(CASE).given(*history)


def on(rule: Any, payload: CaseCommand, unit_name: str = "") -> Decision[Any]:
    return Decision(rule, payload, AT, unit_name=unit_name)


def cmd(staff: Staff = CLERK, **fields: Any) -> CaseCommand:
    return CaseCommand(request_id=RID, staff=staff, **fields)


def reason(staff: Staff = CLERK, text: str = "علت", **fields: Any) -> WithReason:
    return WithReason(request_id=RID, staff=staff, reason=text, **fields)


def answer(staff: Staff = CLERK, **fields: Any) -> Decision[Reply]:
    return on(rules.reply, Reply(request_id=RID, staff=staff, body="پاسخ", command_id="reply-0001", **fields))


# -- what every action checks first -----------------------------------------------------------


def test_a_request_nobody_submitted_is_not_found_whatever_the_action() -> None:
    for rule in (rules.take, rules.register, rules.close):
        case().when(on(rule, cmd(ADMIN))).refused("request_not_found")
    case(NUMBERED).when(answer(ADMIN)).refused("request_not_found")


def test_the_case_version_counts_its_own_stream_alone() -> None:
    history = case(
        SUBMITTED, NUMBERED, TAKEN, InternalNoteAdded(request_id=RID, note_id="n", text="x", actor="a")
    )
    assert history.state.version == 1  # the submission and the number live in other streams
    assert case(SUBMITTED).state.version is None
    history.when(on(rules.take, cmd(expected_version=1))).then_types("CaseTaken")


def test_a_page_that_showed_an_older_version_is_refused_with_conflict() -> None:
    case(SUBMITTED).when(on(rules.take, cmd(expected_version=-1))).then_types("CaseTaken")
    case(SUBMITTED, TAKEN).when(on(rules.take, cmd(expected_version=-1))).refused("conflict")
    case(SUBMITTED, NUMBERED, TAKEN).when(answer(expected_version=-1)).refused("conflict")


# -- take, release --------------------------------------------------------------------------


def test_take() -> None:
    case(SUBMITTED).when(on(rules.take, cmd())).then(
        CaseTaken(request_id=RID, actor=CLERK.account_id, actor_name=CLERK.name)
    )
    case(SUBMITTED).when(on(rules.take, cmd(OTHER_CLERK))).refused("request_not_found")
    case(SUBMITTED, CLOSED).when(on(rules.take, cmd())).refused("case_finished")
    case(SUBMITTED, TAKEN).when(on(rules.take, cmd(CLERK_2))).refused("held_by_other")
    case(SUBMITTED, TAKEN).when(on(rules.take, cmd(ADMIN))).then_types("CaseTaken")
    case(SUBMITTED, NUMBERED, TO_REP).when(on(rules.take, cmd(REP_2))).refused("not_at_your_desk")
    case(SUBMITTED, NUMBERED, TO_REP, RETURNED).when(on(rules.take, cmd(REP))).refused("waiting_for_citizen")


def test_release() -> None:
    case(SUBMITTED, TAKEN).when(on(rules.release, reason())).then(
        CaseReleased(request_id=RID, reason="علت", actor=CLERK.account_id, actor_name=CLERK.name)
    )
    case(SUBMITTED, TAKEN).when(on(rules.release, reason(ADMIN))).then_types("CaseReleased")
    case(SUBMITTED).when(on(rules.release, reason())).refused("not_holder")
    case(SUBMITTED, TAKEN).when(on(rules.release, reason(CLERK_2))).refused("not_holder")
    case(SUBMITTED, TAKEN).when(on(rules.release, reason(OTHER_CLERK))).refused("request_not_found")


# -- notes, status, return for correction ------------------------------------------------------


def test_add_note_even_when_finished_or_changed_since() -> None:
    note = AddNote(request_id=RID, staff=CLERK, text="نظر", expected_version=-1, command_id="note-0001")
    case(SUBMITTED, CLOSED).when(on(rules.add_note, note)).then(
        InternalNoteAdded(
            request_id=RID,
            note_id=note.derived("note").hex,
            text="نظر",
            actor=CLERK.account_id,
            actor_name=CLERK.name,
        )
    )
    by_rep = AddNote(request_id=RID, staff=REP, text="نظر")
    case(SUBMITTED).when(on(rules.add_note, by_rep)).refused("request_not_found")
    case(SUBMITTED, NUMBERED, REFERRED).when(on(rules.add_note, by_rep)).then_types("InternalNoteAdded")


def test_set_request_status() -> None:
    status = SetRequestStatus(request_id=RID, staff=CLERK, value="yes", reason="مدارک کامل")
    case(SUBMITTED).when(on(rules.set_request_status, status)).then(
        RequestStatusSet(
            request_id=RID, value="yes", reason="مدارک کامل", actor="clerk-1", actor_name=CLERK.name
        )
    )
    by_rep = status.model_copy(update={"staff": REP})
    case(SUBMITTED, NUMBERED, REFERRED).when(on(rules.set_request_status, by_rep)).refused("forbidden")
    case(SUBMITTED, CLOSED).when(on(rules.set_request_status, status)).refused("case_finished")


def test_return_to_applicant_comes_back_to_its_holder_on_resubmission() -> None:
    back = ReturnToApplicant(request_id=RID, staff=REP, reason="امضا ندارد")
    case(SUBMITTED, NUMBERED, TO_REP).when(on(rules.return_to_applicant, back)).then(
        ReturnedForCorrection(
            request_id=RID, reason="امضا ندارد", clerk=REP.account_id, holder="unit:permits:rep-1"
        )
    )
    at_desk = case(SUBMITTED, TAKEN).when(
        on(rules.return_to_applicant, back.model_copy(update={"staff": CLERK}))
    )
    assert at_desk.event().holder == "secretariat:tehran:clerk-1"
    returned = case(SUBMITTED, NUMBERED, TO_REP, RETURNED)
    returned.when(on(rules.return_to_applicant, back)).refused("waiting_for_citizen")
    returned.when(on(rules.return_to_applicant, back.model_copy(update={"staff": ADMIN}))).refused(
        "waiting_for_citizen"
    )
    corrected = RequestResubmitted(request_id=RID, subject="اصلاح‌شده", text="متن", resubmitted_at="x")
    state = returned.given(corrected).state
    assert (state.stage, state.holder_unit, state.taken_by) == ("unit", "permits", REP.account_id)
    returned.when(answer(REP)).then_types("ReplyPosted")


# -- register, refer, reply -----------------------------------------------------------------


def test_register_is_the_books_to_decide_once_the_case_allows_it() -> None:
    case(SUBMITTED).when(on(rules.register, cmd())).nothing()
    case(SUBMITTED, NUMBERED).when(on(rules.register, cmd())).refused("already_numbered")
    case(SUBMITTED).when(on(rules.register, cmd(OTHER_CLERK))).refused("request_not_found")
    case(SUBMITTED, NUMBERED, REFERRED).when(on(rules.register, cmd(REP))).refused("forbidden")
    case(SUBMITTED, CLOSED).when(on(rules.register, cmd())).refused("case_finished")


def test_the_book_gives_the_next_number_in_the_secretariats_format() -> None:
    take = TakeNumber(request_id=RID, secretariat="tehran", year=1405, clerk="clerk-1")
    scenario(BOOK).when(take).then(
        NumberAssigned(
            request_id=RID,
            secretariat="tehran",
            year=1405,
            sequence=1,
            registration_number="1405/23/1",  # the default format: the province's numeric code
            clerk="clerk-1",
        )
    )
    formatted = TakeNumber(
        request_id="r42", secretariat="tehran", year=1405, clerk="c", pattern="{yy}/T/{sequence:06d}"
    )
    later = scenario(BOOK).given(NUMBERED.model_copy(update={"sequence": 41})).when(formatted)
    assert (later.event().sequence, later.event().registration_number) == (42, "05/T/000042")


def test_refer_needs_a_number_and_a_clerk() -> None:
    refer = Refer(
        request_id=RID,
        staff=CLERK,
        unit="permits",
        representative="rep-1",
        representative_name="رضا",
        instruction="بررسی",
    )
    case(SUBMITTED, NUMBERED).when(on(rules.refer, refer, unit_name="صدور مجوز")).then(
        CaseReferred(
            request_id=RID,
            unit="permits",
            unit_name="صدور مجوز",
            representative="rep-1",
            representative_name="رضا",
            instruction="بررسی",
            actor=CLERK.account_id,
            actor_name=CLERK.name,
        )
    )
    case(SUBMITTED).when(on(rules.refer, refer)).refused("not_registered_yet")
    by_rep = refer.model_copy(update={"staff": REP})
    case(SUBMITTED, NUMBERED, REFERRED).when(on(rules.refer, by_rep)).refused("forbidden")
    case(SUBMITTED, NUMBERED, TAKEN, RETURNED).when(on(rules.refer, refer)).refused("waiting_for_citizen")


def test_reply_is_numbered_after_the_registration_number_and_dated_in_tehran() -> None:
    first = case(SUBMITTED, NUMBERED).when(answer(kind="interim"))
    assert first.event() == ReplyPosted(
        request_id=RID,
        reply_id=Reply(request_id=RID, staff=CLERK, body="x", command_id="reply-0001").derived("reply").hex,
        kind="interim",
        body="پاسخ",
        clerk=CLERK.account_id,
        posted_at=AT.isoformat(),
        reply_number="1405/tehran/7/1",
        reply_date="1405/01/02",
    )
    second = case(SUBMITTED, NUMBERED, first.event()).when(
        answer(reply_number="۱۲۳", reply_date="1405/01/05")
    )
    assert (second.event().reply_number, second.event().reply_date) == ("123", "1405/01/05")
    assert case(SUBMITTED, NUMBERED, first.event()).when(answer()).event().reply_number == "1405/tehran/7/2"


def test_reply_refusals() -> None:
    case(SUBMITTED).when(answer()).refused("not_numbered")
    case(SUBMITTED, NUMBERED, FINAL).when(answer()).refused("already_final")
    case(SUBMITTED, NUMBERED, FINAL).when(answer(OTHER_CLERK)).refused("request_not_found")
    case(SUBMITTED, NUMBERED, CLOSED).when(answer()).refused("case_finished")
    case(SUBMITTED, NUMBERED, TAKEN).when(answer(CLERK_2)).refused("held_by_other")
    case(SUBMITTED, NUMBERED, TO_REP).when(answer(REP_2)).refused("not_at_your_desk")
    case(SUBMITTED, NUMBERED, TO_REP, RETURNED).when(answer(REP)).refused("waiting_for_citizen")


# -- close, archive, reopen -----------------------------------------------------------------


def test_close() -> None:
    case(SUBMITTED).when(on(rules.close, reason(text="تکراری"))).then(
        CaseClosed(request_id=RID, reason="تکراری", actor=CLERK.account_id, actor_name=CLERK.name)
    )
    case(SUBMITTED).when(on(rules.close, reason(text=""))).refused("case_reason_required")
    case(SUBMITTED, CLOSED).when(on(rules.close, reason())).refused("case_finished")
    case(SUBMITTED, NUMBERED, REFERRED).when(on(rules.close, reason(REP))).refused("forbidden")


def test_archive() -> None:
    case(SUBMITTED, CLOSED).when(on(rules.archive, reason(text=""))).then(
        CaseArchived(request_id=RID, reason="", actor=CLERK.account_id, actor_name=CLERK.name)
    )
    case(SUBMITTED, NUMBERED, FINAL).when(on(rules.archive, reason())).then_types("CaseArchived")
    case(SUBMITTED).when(on(rules.archive, reason())).refused("case_open")
    archived = CaseArchived(request_id=RID, actor=CLERK.account_id)
    case(SUBMITTED, CLOSED, archived).when(on(rules.archive, reason())).refused("case_finished")


def test_reopen() -> None:
    case(SUBMITTED, CLOSED).when(on(rules.reopen, reason(text="اشتباه بسته شد"))).then(
        CaseReopened(request_id=RID, reason="اشتباه بسته شد", actor=CLERK.account_id, actor_name=CLERK.name)
    )
    case(SUBMITTED, CLOSED).when(on(rules.reopen, reason(text=""))).refused("case_reason_required")
    case(SUBMITTED).when(on(rules.reopen, reason())).refused("case_open")
    reopened = case(SUBMITTED, NUMBERED, FINAL).after(on(rules.reopen, reason()))
    assert (reopened.state.stage, reopened.state.finished, reopened.state.final_replied) == (
        "secretariat",
        False,
        False,
    )
    reopened.when(answer()).then_types("ReplyPosted")


# -- through the store: nothing asks the read model ---------------------------------------------


def test_a_reply_right_after_numbering_is_recorded_with_no_projection_running(store: SqlEventStore) -> None:
    """No read model exists here at all: the number comes from the book, the request from its stream."""
    with pytest.raises(DomainError) as missing:
        commands.register(store, cmd())
    assert missing.value.code == "request_not_found"
    store.append(f"request-{RID}", [new_event(SUBMITTED)])
    number = commands.register(store, cmd())
    answered = commands.reply(store, Reply(request_id=RID, staff=CLERK, kind="interim", body="پاسخ"))
    assert answered["version"] == 0
    assert answered["event"]["reply_number"] == f"{number['registration_number']}/1"
    assert [e.type for e in store.read_stream(f"case-{RID}")] == ["ReplyPosted"]
    with pytest.raises(DomainError) as again:
        commands.register(store, cmd())
    assert again.value.code == "already_numbered"
    closed = lifecycle.close(store, reason())
    assert closed["event"]["reason"] == "علت" and closed["version"] == 1


def test_a_repeated_registration_answers_its_number_again(store: SqlEventStore) -> None:
    store.append(f"request-{RID}", [new_event(SUBMITTED)])
    first = commands.register(store, cmd(command_id="number-key-1", fingerprint="1" * 64))
    assert commands.register(store, cmd(command_id="number-key-1", fingerprint="1" * 64)) == first
    with pytest.raises(DomainError) as reused:
        commands.register(store, cmd(command_id="number-key-1", fingerprint="2" * 64))
    assert reused.value.code == "idempotency_key_reused"
