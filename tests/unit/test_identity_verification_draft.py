"""Seed 004's «ثبت موقت» on the identity-verification form, as given events / when a command /
then events: a draft keeps part of the form and its scans, sends nothing to a desk officer, and
the «ثبت و ارسال» that follows starts from it."""

from __future__ import annotations

from contracts.identity import VerificationDraftSaved, VerificationRejected
from services.identity import verification
from services.identity.accounts import Account, evolve
from tests.scenario import scenario
from tests.unit.test_identity_decide import (
    AT,
    BIRTH,
    CASE,
    CITIZEN,
    OFFICER,
    REGISTERED,
    SCAN,
    submission,
    submitted,
)


def draft(*scans: object, province: str | None = "tehran") -> VerificationDraftSaved:
    return VerificationDraftSaved(
        case_id=CASE,
        account_id=CITIZEN,
        father_name="حسن",
        province=province,
        scans=scans,  # type: ignore[arg-type]
        saved_at=AT,
    )


def test_a_draft_keeps_the_form_as_filled_and_sends_nothing() -> None:
    command = submission(father_name="حسن")  # no scans yet: a draft needs none
    scenario(verification.SAVE_DRAFT).given(REGISTERED).when(command).then(draft())
    state = evolve(evolve(Account(), REGISTERED), draft())
    assert (state.case.status, state.case.draft) == ("none", draft())


def test_a_draft_s_scans_count_when_the_form_is_sent() -> None:
    kept = draft(SCAN, BIRTH)
    # The national card and birth certificate were kept by the draft: sending needs no new upload.
    event = scenario(verification.SUBMIT).given(REGISTERED, kept).when(submission()).event()
    assert (event.scans, event.round) == ((SCAN, BIRTH), 1)
    # Without the draft the same form is refused.
    scenario(verification.SUBMIT).given(REGISTERED).when(submission()).refused("scans_required")


def test_a_new_upload_replaces_the_draft_s_scan_of_the_same_purpose() -> None:
    newer = SCAN.model_copy(update={"file": SCAN.file.model_copy(update={"name": "card-2.pdf"})})
    assert verification.with_draft((newer,), evolve(evolve(Account(), REGISTERED), draft(SCAN, BIRTH))) == (
        BIRTH,
        newer,
    )


def test_a_submission_ends_the_draft_and_a_rejected_round_may_be_drafted_again() -> None:
    state = Account()
    for event in (REGISTERED, draft(SCAN), submitted()):
        state = evolve(state, event)
    assert state.case.draft is None and state.case.status == "submitted"
    rejected = VerificationRejected(
        case_id=CASE, account_id=CITIZEN, officer=OFFICER, round=1, reason="خوانا نیست", at=AT
    )
    scenario(verification.SAVE_DRAFT).given(REGISTERED, submitted(), rejected).when(submission()).then_types(
        "VerificationDraftSaved"
    )


def test_no_draft_while_a_round_waits_or_once_verified() -> None:
    scenario(verification.SAVE_DRAFT).given(REGISTERED, submitted()).when(submission()).refused(
        "verification_pending"
    )
    scenario(verification.SAVE_DRAFT).when(submission()).refused("account_not_found")


def test_a_desk_officer_finds_no_case_in_a_draft() -> None:
    from tests.unit.test_identity_decide import review

    scenario(verification.REVIEW).given(draft(SCAN)).when(review("approve")).refused("case_not_found")
