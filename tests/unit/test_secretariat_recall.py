"""The referring secretariat recalls a referral (بازپس‌گیری ارجاع), and a case offers each staff
member only the actions its rules would accept: given events / when a staff action / then events
or a refusal, with no store; last, a recall through the command handler on a SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.errors import DomainError
from contracts.events import new_event
from contracts.requests import RequestResubmitted
from contracts.secretariat import (
    CaseClosed,
    ReferralRecalled,
    ReplyPosted,
    ReturnedForCorrection,
)
from contracts.secretariat_rpc import CaseCommand, Recall, Refer, Reply, Staff
from infra.eventstore.sql import SqlEventStore
from services.secretariat import commands, rules
from services.secretariat.allowed import allowed_actions
from services.secretariat.case import CASE, Decision
from tests.case_history import ADMIN, CLERK, CLERK_2, NUMBERED, OTHER_CLERK, REFERRED, REP, RID, SUBMITTED
from tests.scenario import Scenario, scenario
from tests.units import define_units

AT = datetime(2026, 3, 21, 9, 0, tzinfo=UTC)
TO_UNIT = REFERRED
TO_REP = TO_UNIT.model_copy(update={"representative": REP.account_id, "representative_name": REP.name})
RECALLED = ReferralRecalled(
    request_id=RID, unit="permits", unit_name="صدور مجوز", reason="ارجاع اشتباه", actor=CLERK.account_id
)
RETURNED = ReturnedForCorrection(
    request_id=RID, reason="امضا ندارد", clerk=REP.account_id, holder="unit:permits:rep-1"
)
FINAL = ReplyPosted(
    request_id=RID, reply_id="x", kind="final", body="پاسخ", clerk=REP.account_id, posted_at="t"
)
CLOSED = CaseClosed(request_id=RID, reason="تکراری", actor=CLERK.account_id)


def case(*history: Any) -> Scenario[Decision[Any], Any]:
    return scenario(CASE).given(*history)


def recall(staff: Staff = CLERK, reason: str = "ارجاع اشتباه", **fields: Any) -> Decision[Recall]:
    return Decision(rules.recall, Recall(request_id=RID, staff=staff, reason=reason, **fields), AT)


def answer(staff: Staff) -> Decision[Reply]:
    return Decision(rules.reply, Reply(request_id=RID, staff=staff, body="پاسخ"), AT)


def offered(staff: Staff, *history: Any) -> set[str]:
    return set(allowed_actions(case(*history).state, staff, AT))


# -- recall ---------------------------------------------------------------------------------


def test_the_referring_clerk_recalls_a_referral_held_by_a_representative() -> None:
    case(SUBMITTED, NUMBERED, TO_REP).when(recall()).then(
        ReferralRecalled(
            request_id=RID,
            unit="permits",
            unit_name="صدور مجوز",
            reason="ارجاع اشتباه",
            actor=CLERK.account_id,
            actor_name=CLERK.name,
        )
    )


def test_any_clerk_of_the_secretariat_or_an_administrator_may_recall() -> None:
    case(SUBMITTED, NUMBERED, TO_UNIT).when(recall(CLERK_2)).then_types("ReferralRecalled")
    case(SUBMITTED, NUMBERED, TO_REP).when(recall(ADMIN)).then_types("ReferralRecalled")


def test_after_a_recall_the_request_is_at_the_secretariats_desk_and_the_unit_still_reads_it() -> None:
    state = case(SUBMITTED, NUMBERED, TO_REP, RECALLED).state
    assert (state.stage, state.holder_unit, state.holder_person, state.taken_by) == (
        "secretariat",
        None,
        None,
        None,
    )
    assert state.visible_to(REP) and not state.at_desk_of(REP)
    recalled = case(SUBMITTED, NUMBERED, TO_REP, RECALLED)
    recalled.when(answer(CLERK)).then_types("ReplyPosted")
    recalled.when(answer(REP)).refused("not_at_your_desk")
    again = Refer(request_id=RID, staff=CLERK, unit="licences", instruction="به پروانه‌ها")
    recalled.when(Decision(rules.refer, again, AT, unit_name="پروانه‌ها")).then_types("CaseReferred")


def test_recall_refusals() -> None:
    case(SUBMITTED, NUMBERED).when(recall()).refused("not_referred")
    case(SUBMITTED, NUMBERED, TO_REP, RECALLED).when(recall()).refused("not_referred")
    case(SUBMITTED, NUMBERED, TO_REP).when(recall(REP)).refused("forbidden")
    case(SUBMITTED, NUMBERED, TO_REP).when(recall(OTHER_CLERK)).refused("request_not_found")
    case(SUBMITTED, NUMBERED, TO_REP, FINAL).when(recall()).refused("case_finished")
    case(SUBMITTED, NUMBERED, TO_UNIT, CLOSED).when(recall(ADMIN)).refused("case_finished")
    case(SUBMITTED, NUMBERED, TO_REP).when(recall(reason="")).refused("case_reason_required")
    case(SUBMITTED, NUMBERED, TO_REP).when(recall(expected_version=-1)).refused("conflict")
    case(SUBMITTED, NUMBERED, TO_REP, RETURNED).when(recall()).refused("waiting_for_citizen")


def test_a_correction_after_a_recall_comes_back_to_the_secretariat() -> None:
    back = RequestResubmitted(request_id=RID, subject="اصلاح‌شده", text="متن", resubmitted_at="x")
    returned = ReturnedForCorrection(
        request_id=RID, reason="امضا ندارد", clerk=CLERK.account_id, holder="secretariat:tehran"
    )
    state = case(SUBMITTED, NUMBERED, TO_REP, RECALLED, returned, back).state
    assert (state.stage, state.holder_unit) == ("secretariat", None)


# -- what the page offers: exactly what the rules accept ----------------------------------------


def test_a_referral_to_a_representative_leaves_the_clerk_recall_and_notes_only() -> None:
    assert offered(CLERK, SUBMITTED, NUMBERED, TO_REP) == {"recall", "add_note"}
    assert offered(REP, SUBMITTED, NUMBERED, TO_REP) == {
        "release",
        "reply",
        "return_to_applicant",
        "add_note",
    }


def test_after_the_recall_the_clerk_has_every_form_back_and_the_representative_none_but_notes() -> None:
    at_desk = {"refer", "take", "reply", "return_to_applicant", "set_request_status", "close", "add_note"}
    assert offered(CLERK, SUBMITTED, NUMBERED, TO_REP, RECALLED) == at_desk
    assert offered(REP, SUBMITTED, NUMBERED, TO_REP, RECALLED) == {"add_note"}


def test_what_is_offered_follows_the_case() -> None:
    fresh = {"register", "take", "return_to_applicant", "set_request_status", "close", "add_note"}
    assert offered(CLERK, SUBMITTED) == fresh  # no referral nor reply before a number
    assert offered(CLERK, SUBMITTED, NUMBERED, TO_REP, FINAL) == {"archive", "reopen", "add_note"}
    assert offered(REP, SUBMITTED, NUMBERED, TO_REP, RETURNED) == {"release", "add_note"}
    assert offered(OTHER_CLERK, SUBMITTED, NUMBERED) == set()
    assert offered(CLERK) == set()  # nobody submitted it


def test_whoever_holds_the_request_is_not_offered_to_take_it_again() -> None:
    """Taking it again is accepted (a form sent twice) but changes nothing: not offered."""
    assert "take" not in offered(REP, SUBMITTED, NUMBERED, TO_REP)
    assert "take" in offered(ADMIN, SUBMITTED, NUMBERED, TO_REP)  # an administrator takes it over


# -- through the store ------------------------------------------------------------------------


def test_a_recall_through_the_handler_gives_the_clerk_the_forms_back(store: SqlEventStore) -> None:
    define_units(store)
    store.append(f"request-{RID}", [new_event(SUBMITTED)])
    commands.register(store, CaseCommand(request_id=RID, staff=CLERK))
    refer = Refer(
        request_id=RID, staff=CLERK, unit="permits", representative=REP.account_id, instruction="بررسی"
    )
    commands.refer(store, refer)
    assert set(commands.allowed_actions(store, RID, CLERK)) == {"recall", "add_note"}
    with pytest.raises(DomainError) as held:
        commands.reply(store, Reply(request_id=RID, staff=CLERK, body="پاسخ"))
    assert held.value.code == "held_by_other"

    recalled = commands.recall(store, Recall(request_id=RID, staff=CLERK, reason="ارجاع اشتباه"))
    assert recalled["version"] == 1
    assert recalled["event"] == RECALLED.model_copy(update={"actor_name": CLERK.name}).model_dump(mode="json")
    assert "reply" in commands.allowed_actions(store, RID, CLERK)
    assert commands.allowed_actions(store, RID, REP) == ["add_note"]
    assert commands.allowed_actions(store, "nobody", CLERK) == []
