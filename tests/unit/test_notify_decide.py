"""Notify's rules as given events / when a command / then events, with no store: a message's
life cycle (queue, claim, the provider's answer, the delivery receipt), a template's texts and
the planner's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.notify import (
    ChangeTemplate,
    SmsDeferred,
    SmsDelivered,
    SmsDispatching,
    SmsFailed,
    SmsQueued,
    SmsRulesActivated,
    SmsSent,
    SmsTemplateChanged,
)
from services.notify.lifecycle import (
    Accepted,
    Claim,
    Policy,
    Queue,
    RecordAnswer,
    RecordReceipt,
    Refused,
    Unavailable,
    messages,
)
from services.notify.planner import Activate, activations
from services.notify.templates import texts
from tests.scenario import scenario

NOW = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
POLICY = Policy(max_attempts=3, first_retry=10, factor=2, lease=60)
PROVIDERS = {"sms": "kavenegar", "email": "smtp"}
QUEUED = SmsQueued(message_id="m1", to="09121234567", template="reply_posted", text="سلام")
CODE = SmsQueued(
    message_id="c1", to="09121234567", template="otp_login", text="کد: ******", one_time_code=True
)
MAIL = SmsQueued(
    message_id="e1", to="maryam@example.ir", template="reply_posted", text="سلام", channel="email"
)


def claimed(attempt: int = 1, at: datetime = NOW, message_id: str = "m1") -> SmsDispatching:
    return SmsDispatching(
        message_id=message_id, attempt=attempt, provider="kavenegar", claimed_at=at.isoformat()
    )


def sent(message_id: str = "m1") -> SmsSent:
    return SmsSent(message_id=message_id, provider="kavenegar", provider_message_id="700000001")


def claim(at: datetime = NOW, holds_code: bool = False) -> Claim:
    return Claim(at, POLICY, PROVIDERS, holds_code)


def answer(result: Accepted | Refused | Unavailable, attempt: int = 1) -> RecordAnswer:
    return RecordAnswer(attempt, result, NOW, POLICY)


# -- queue -----------------------------------------------------------------------------------


def test_the_planner_queues_a_message_and_claims_its_first_attempt_in_one_go() -> None:
    scenario(messages).when(Queue(QUEUED, NOW, claim_for="kavenegar")).then(QUEUED, claimed())


def test_a_one_time_code_is_queued_for_its_caller_to_claim() -> None:
    scenario(messages).when(Queue(CODE, NOW)).then(CODE)


def test_a_message_queued_before_is_not_queued_again() -> None:
    scenario(messages).given(QUEUED, claimed()).when(Queue(QUEUED, NOW, claim_for="kavenegar")).nothing()


def test_a_stream_starts_with_its_message() -> None:
    with pytest.raises(ValueError, match="starts with SmsQueued"):
        messages.fold([sent()])


# -- claim -----------------------------------------------------------------------------------


def test_a_queued_message_is_claimed_through_its_channels_provider() -> None:
    scenario(messages).given(QUEUED).when(claim()).then(claimed())
    mail = SmsDispatching(message_id="e1", attempt=1, provider="smtp", claimed_at=NOW.isoformat())
    scenario(messages).given(MAIL).when(claim()).then(mail)


def test_a_message_never_queued_is_not_claimed() -> None:
    scenario(messages).when(claim()).nothing()


def test_a_claim_protects_its_message_until_its_lease_ends() -> None:
    scenario(messages).given(QUEUED, claimed()).when(claim(NOW + timedelta(seconds=59))).nothing()
    later = NOW + timedelta(seconds=60)
    scenario(messages).given(QUEUED, claimed()).when(claim(later)).then(claimed(2, later))


def test_a_claim_that_does_not_say_when_it_was_made_counts_as_abandoned() -> None:
    old = SmsDispatching(message_id="m1", attempt=1, provider="kavenegar")  # v1, upcast
    scenario(messages).given(QUEUED, old).when(claim()).then(claimed(2))


def test_a_deferred_message_is_claimed_again_once_its_retry_is_due() -> None:
    deferred = SmsDeferred(
        message_id="m1",
        provider="kavenegar",
        attempt=1,
        reason="down",
        retry_at=(NOW + timedelta(seconds=10)).isoformat(),
    )
    history = scenario(messages).given(QUEUED, claimed(), deferred)
    history.when(claim(NOW + timedelta(seconds=9))).nothing()
    history.when(claim(NOW + timedelta(seconds=10))).then(claimed(2, NOW + timedelta(seconds=10)))


def test_a_message_done_with_its_provider_is_never_claimed_again() -> None:
    later = NOW + timedelta(days=1)
    scenario(messages).given(QUEUED, claimed(), sent()).when(claim(later)).nothing()
    failed = SmsFailed(message_id="m1", provider="kavenegar", reason="blocked")
    scenario(messages).given(QUEUED, claimed(), failed).when(claim(later)).nothing()


def test_a_one_time_code_is_claimed_only_by_its_caller() -> None:
    scenario(messages).given(CODE).when(claim(holds_code=True)).then(claimed(message_id="c1"))
    abandoned = SmsFailed(
        message_id="c1",
        provider="kavenegar",
        reason="abandoned one-time code",
        status="technical_failure",
        attempts=0,
    )
    scenario(messages).given(CODE).when(claim()).then(abandoned)


def test_a_one_time_code_its_caller_still_retries_is_left_to_it() -> None:
    retry_at = NOW.isoformat()
    deferred = SmsDeferred(message_id="c1", provider="kavenegar", attempt=1, reason="down", retry_at=retry_at)
    history = scenario(messages).given(CODE, claimed(message_id="c1"), deferred)
    history.when(claim(NOW + timedelta(seconds=59))).nothing()
    history.when(claim(NOW + timedelta(seconds=60))).then_types("SmsFailed")


# -- the provider's answer -------------------------------------------------------------------


def test_an_accepted_message_is_sent() -> None:
    scenario(messages).given(QUEUED, claimed()).when(answer(Accepted("700000001"))).then(sent())


def test_a_refusal_is_a_permanent_failure() -> None:
    refused = SmsFailed(message_id="m1", provider="kavenegar", reason="invalid_recipient", attempts=1)
    scenario(messages).given(QUEUED, claimed()).when(answer(Refused("invalid_recipient"))).then(refused)


def test_a_temporary_failure_is_tried_again_later_until_the_last_attempt() -> None:
    retry_at = (NOW + timedelta(seconds=20)).isoformat()
    deferred = SmsDeferred(
        message_id="m1", provider="kavenegar", attempt=2, reason="HTTP 503", retry_at=retry_at
    )
    scenario(messages).given(QUEUED, claimed(2)).when(answer(Unavailable("HTTP 503"), 2)).then(deferred)
    last = SmsFailed(
        message_id="m1", provider="kavenegar", reason="HTTP 503", status="technical_failure", attempts=3
    )
    scenario(messages).given(QUEUED, claimed(3)).when(answer(Unavailable("HTTP 503"), 3)).then(last)


def test_an_answer_after_another_instance_took_the_attempt_over_records_nothing() -> None:
    history = scenario(messages).given(QUEUED, claimed(1), claimed(2, NOW + timedelta(minutes=2)))
    history.when(answer(Accepted("700000001"), 1)).nothing()
    scenario(messages).given(QUEUED, claimed(), sent()).when(answer(Accepted("700000001"))).nothing()


# -- the delivery receipt --------------------------------------------------------------------


def test_a_receipt_says_whether_a_sent_message_arrived() -> None:
    delivered = SmsDelivered(message_id="m1", provider="kavenegar", delivered_at=NOW.isoformat())
    history = scenario(messages).given(QUEUED, claimed(), sent())
    history.when(RecordReceipt("delivered", "", NOW)).then(delivered)
    undelivered = SmsFailed(message_id="m1", provider="kavenegar", reason="undelivered", attempts=1)
    history.when(RecordReceipt("failed", "", NOW)).then(undelivered)
    history.when(RecordReceipt("pending", "", NOW)).nothing()


def test_a_receipt_of_a_message_not_sent_or_already_settled_records_nothing() -> None:
    scenario(messages).given(QUEUED, claimed()).when(RecordReceipt("delivered", "", NOW)).nothing()
    delivered = SmsDelivered(message_id="m1", provider="kavenegar", delivered_at=NOW.isoformat())
    settled = scenario(messages).given(QUEUED, claimed(), sent(), delivered)
    settled.when(RecordReceipt("failed", "blocked", NOW)).nothing()
    assert settled.state is not None and settled.state.status == "delivered"


# -- a template's texts ----------------------------------------------------------------------


def change(text: str, template: str = "request_registered") -> ChangeTemplate:
    return ChangeTemplate(organisation="u1", template=template, text=text, admin="a")


def changed(text: str, version: int) -> SmsTemplateChanged:
    return SmsTemplateChanged(
        organisation="u1", template="request_registered", template_version=version, text=text, admin="a"
    )


def test_an_administrators_text_is_a_new_version() -> None:
    scenario(texts).when(change("ثبت شد: {registration_number}")).then(
        changed("ثبت شد: {registration_number}", 1)
    )
    first = changed("ثبت شد: {registration_number}", 1)
    scenario(texts).given(first).when(change("شماره {registration_number}")).then(
        changed("شماره {registration_number}", 2)
    )


def test_the_text_a_template_has_already_is_no_new_version() -> None:
    scenario(texts).given(changed("ثبت شد: {registration_number}", 1)).when(
        change("ثبت شد: {registration_number}")
    ).nothing()


def test_a_template_that_does_not_exist_is_refused() -> None:
    scenario(texts).when(change("سلام", template="nope")).refused("unknown_template")


def test_a_text_with_values_its_template_does_not_offer_is_refused() -> None:
    scenario(texts).when(change("کد {code}")).refused("invalid_template")
    scenario(texts).when(change("شماره {registration_number")).refused("invalid_template")


# -- the planner's rules ---------------------------------------------------------------------


def test_rules_never_activated_start_after_the_position_given() -> None:
    activated = SmsRulesActivated(rules=("reply_posted", "email:reply_posted"), from_position=40)
    scenario(activations).when(Activate(("reply_posted", "email:reply_posted"), 40)).then(activated)
    scenario(activations).when(Activate(("reply_posted",), -1)).then(
        SmsRulesActivated(rules=("reply_posted",), from_position=0)
    )


def test_an_active_rule_keeps_its_first_position() -> None:
    earlier = SmsRulesActivated(rules=("reply_posted",), from_position=10)
    history = scenario(activations).given(earlier)
    history.when(Activate(("reply_posted",), 99)).nothing()
    history.when(Activate(("reply_posted", "email:reply_posted"), 99)).then(
        SmsRulesActivated(rules=("email:reply_posted",), from_position=99)
    )
    assert dict(history.state) == {"reply_posted": 10}
