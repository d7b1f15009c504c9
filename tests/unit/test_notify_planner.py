"""The planner: one message per step, none for history it replays or that predates a rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.events import new_event, registry
from contracts.notify import ChangeTemplate
from contracts.requests import Applicant, RequestSubmitted
from contracts.secretariat import NumberAssigned, ReplyPosted
from infra.db import Database
from infra.projections import ProjectionRunner
from services.notify import sending as sending_module
from services.notify.commands import change_template, retry_due
from services.notify.dispatch import Channels, message_stream
from services.notify.lifecycle import Policy
from services.notify.planner import RULES, RULES_STREAM, activate_rules
from services.notify.projections import Planner, Status
from services.notify.queries import messages
from tests.unit.test_notify_fakes import NotifyDesk


def _submit(
    desk: NotifyDesk,
    request_id: str = "r1",
    email: str | None = None,
    mobile: str = "09121234567",
    tracking_code: str = "140512345678",
) -> None:
    applicant = Applicant(national_code="0084575948", full_name="مریم", mobile=mobile, email=email)
    event = RequestSubmitted(
        request_id=request_id,
        tracking_code=tracking_code,
        applicant=applicant,
        province="tehran",
        subject="s",
        text="t",
        submitted_at="2026-01-01T00:00:00+00:00",
        unit="u1",
    )
    desk.store.append(f"request-{request_id}", [new_event(event)])


def _number(desk: NotifyDesk, request_id: str = "r1") -> None:
    event = NumberAssigned(
        request_id=request_id,
        secretariat="tehran",
        year=1405,
        sequence=7,
        registration_number="1405/23/7",
        clerk="c",
    )
    desk.store.append(f"book-{request_id}", [new_event(event)])


def _reply(desk: NotifyDesk, request_id: str = "r1", kind: str = "final") -> None:
    event = ReplyPosted(request_id=request_id, reply_id="x", kind=kind, body="b", clerk="c", posted_at="t")  # type: ignore[arg-type]
    desk.store.append(f"case-{request_id}", [new_event(event)])


def test_each_step_is_told_once_in_persian(notify_desk: NotifyDesk) -> None:
    _submit(notify_desk)
    _number(notify_desk)
    _reply(notify_desk)
    notify_desk.catch_up()
    notify_desk.catch_up()
    sent = messages(notify_desk.db.read, "r1")
    assert [m["template"] for m in sent] == ["request_received", "request_registered", "final_reply_posted"]
    assert {m["status"] for m in sent} == {"sent"}
    assert "\u2066۱۴۰۵/۲۳/۷\u2069" in sent[1]["text"]
    assert len(notify_desk.sms.calls) == 3


def test_a_replay_of_the_whole_history_queues_and_sends_nothing(notify_desk: NotifyDesk) -> None:
    _submit(notify_desk)
    _number(notify_desk)
    notify_desk.catch_up()
    before = notify_desk.store.last_position()
    for projection in notify_desk.runner.projections:
        notify_desk.runner.rebuild(projection)
    assert notify_desk.store.last_position() == before
    assert len(notify_desk.sms.calls) == 2
    assert [m["status"] for m in messages(notify_desk.db.read, "r1")] == ["sent", "sent"]


def test_a_rule_activated_later_never_writes_to_the_past(notify_desk: NotifyDesk, tmp_path: Path) -> None:
    def runner(name: str, planner: Planner) -> ProjectionRunner:
        made = ProjectionRunner(
            notify_desk.store, Database(f"sqlite:///{tmp_path / name}.db"), [planner, Status()]
        )
        made.setup()
        return made

    sms_rules = tuple(rule for rule in RULES if not rule.startswith("email:"))
    old = runner("old", Planner(rules=sms_rules))  # an older notify that sent no e-mail
    _submit(notify_desk, email="maryam@example.ir")
    old.run_once()
    assert [m["channel"] for m in messages(old.db.read, "r1")] == ["sms"]

    # The new version starts, with a fresh read model that goes through the whole history.
    activate_rules(notify_desk.store, RULES, notify_desk.store.last_position())
    new = runner("new", Planner())
    new.run_once()
    assert [m["channel"] for m in messages(new.db.read, "r1")] == ["sms"]  # no e-mail to the past

    _number(notify_desk)
    new.run_once()
    channels = sorted(m["channel"] for m in messages(new.db.read, "r1")[1:])
    assert channels == ["email", "sms"]  # from now on the address known gets an e-mail too
    assert len(list(notify_desk.store.read_stream(RULES_STREAM))) == 2
    old.db.dispose()
    new.db.dispose()


def test_an_administrators_text_applies_from_then_on_with_its_version(notify_desk: NotifyDesk) -> None:
    _submit(notify_desk)
    notify_desk.catch_up()
    command = ChangeTemplate(
        organisation="u1", template="request_registered", text="ثبت شد: {registration_number}", admin="a"
    )
    changed = change_template(notify_desk.store, command)
    assert changed["template_version"] == 1
    assert change_template(notify_desk.store, command)["template_version"] == 1  # same text: no new version
    _number(notify_desk)
    notify_desk.catch_up()
    registered = messages(notify_desk.db.read, "r1")[1]
    assert (registered["text"], registered["template_version"]) == ("ثبت شد: \u2066۱۴۰۵/۲۳/۷\u2069", 1)
    assert notify_desk.sms.calls[-1][2] == "ثبت شد: \u2066۱۴۰۵/۲۳/۷\u2069"


@pytest.mark.skipif(
    "VerificationRejected" not in registry.types, reason="identity's events are not defined yet"
)
def test_identity_verification_results_are_told(notify_desk: NotifyDesk) -> None:
    model = registry.types
    registered: dict[str, Any] = {
        "account_id": "a1",
        "national_code": "0084575948",
        "mobile": "09121234567",
        "kind": "natural",
        "full_name": "مریم کاظمی",
        "first_name": "مریم",
        "last_name": "کاظمی",
        "birth_date": "1370/01/01",
        "method": "mobile",
        "registered_at": "t",
    }
    fields = model["CitizenRegistered"].model_fields
    notify_desk.store.append(
        "account-a1",
        [
            new_event(
                model["CitizenRegistered"].model_validate(
                    {k: v for k, v in registered.items() if k in fields}
                )
            )
        ],
    )
    rejected = {
        "case_id": "c1",
        "account_id": "a1",
        "officer": "o",
        "round": 1,
        "reason": "تصویر کارت ملی خوانا نیست",
        "at": "t",
    }
    fields = model["VerificationRejected"].model_fields
    notify_desk.store.append(
        "case-c1",
        [
            new_event(
                model["VerificationRejected"].model_validate(
                    {k: v for k, v in rejected.items() if k in fields}
                )
            )
        ],
    )
    notify_desk.catch_up()
    texts = [call[2] for call in notify_desk.sms.calls]
    assert len(texts) == 2 and "تصویر کارت ملی خوانا نیست" in texts[1]


def _streams(desk: NotifyDesk, request_id: str) -> list[list[str]]:
    return [
        [e.type for e in desk.store.read_stream(message_stream(m["message_id"]))]
        for m in messages(desk.db.read, request_id)
    ]


def test_the_planner_queues_claims_and_sends_in_one_go_in_order_per_number(
    notify_desk: NotifyDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = ["09121234567", "09351234567", "09901234567"]
    for n in range(12):
        _submit(notify_desk, f"r{n}", mobile=numbers[n % 3], tracking_code=f"1405{n:08d}")
    reads: list[str] = []
    read_stream = notify_desk.store.read_stream
    monkeypatch.setattr(
        notify_desk.store,
        "read_stream",
        lambda stream, **kw: reads.append(stream) or read_stream(stream, **kw),
    )
    notify_desk.catch_up()
    notify_desk.catch_up()
    assert [r for r in reads if r.startswith("sms-")] == []  # claimed in the append that queued it
    monkeypatch.undo()
    assert len(notify_desk.sms.calls) == 12 and len(notify_desk.sms.sent_ids) == 12
    for number in numbers:
        codes = [text for _, to, text in notify_desk.sms.calls if to == number]
        assert codes == sorted(codes) and len(codes) == 4  # tracking codes grow with n
    for n in range(12):
        assert _streams(notify_desk, f"r{n}") == [["SmsQueued", "SmsDispatching", "SmsSent"]]
        assert [m["status"] for m in messages(notify_desk.db.read, f"r{n}")] == ["sent"]


def _second_planner(desk: NotifyDesk, folder: Path) -> ProjectionRunner:
    """Another notify instance's planner, whose read model starts from the beginning (as after a
    crash that lost the first one's checkpoint): it plans the same messages again."""
    runner = ProjectionRunner(
        desk.store, Database(f"sqlite:///{folder / 'again'}.db"), [Planner(channels=Channels(desk.sms))]
    )
    runner.setup()
    return runner


def test_a_plan_made_again_sends_nothing_twice(notify_desk: NotifyDesk, tmp_path: Path) -> None:
    _submit(notify_desk)
    notify_desk.catch_up()
    assert len(notify_desk.sms.calls) == 1
    again = _second_planner(notify_desk, tmp_path)
    before = notify_desk.store.last_position()
    again.run_once()
    assert len(notify_desk.sms.calls) == 1
    assert notify_desk.store.last_position() == before  # the same ids: nothing appended
    assert _streams(notify_desk, "r1") == [["SmsQueued", "SmsDispatching", "SmsSent"]]
    again.db.dispose()


def test_a_message_whose_process_died_before_the_hand_over_goes_once_its_lease_ends(
    notify_desk: NotifyDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _submit(notify_desk)
    monkeypatch.setattr(sending_module, "deliver", lambda *args: None)  # queued and claimed, then the end
    notify_desk.catch_up()
    monkeypatch.undo()
    assert notify_desk.sms.calls == []
    assert _streams(notify_desk, "r1") == [["SmsQueued", "SmsDispatching"]]
    again = _second_planner(notify_desk, tmp_path)
    again.run_once()  # the repeated append is not a claim of its own: it sends nothing
    again.db.dispose()
    assert notify_desk.sms.calls == []
    channels, policy = Channels(notify_desk.sms), Policy()
    assert retry_due(notify_desk.store, notify_desk.db.read, channels, policy) == 0  # the lease holds
    later = datetime.now(UTC) + timedelta(seconds=policy.lease + 1)
    assert retry_due(notify_desk.store, notify_desk.db.read, channels, policy, now=later) == 1
    notify_desk.catch_up()
    assert retry_due(notify_desk.store, notify_desk.db.read, channels, policy, now=later) == 0
    assert len(notify_desk.sms.calls) == 1
    assert _streams(notify_desk, "r1") == [["SmsQueued", "SmsDispatching", "SmsDispatching", "SmsSent"]]
