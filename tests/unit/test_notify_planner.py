"""The planner: one message per step, none for history it replays or that predates a rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.events import new_event, registry
from contracts.notify import ChangeTemplate
from contracts.requests import Applicant, RequestSubmitted
from contracts.secretariat import NumberAssigned, ReplyPosted
from infra.db import Database
from infra.projections import ProjectionRunner
from services.notify.commands import change_template
from services.notify.planner import RULES, RULES_STREAM, activate_rules
from services.notify.projections import Planner, Status
from services.notify.queries import messages
from tests.unit.test_notify_fakes import NotifyDesk, open_notify_desk


@pytest.fixture
def notify_desk(tmp_path: Path) -> Iterator[NotifyDesk]:
    with open_notify_desk(tmp_path) as desk:
        yield desk


def _submit(desk: NotifyDesk, request_id: str = "r1", email: str | None = None) -> None:
    applicant = Applicant(national_code="0084575948", full_name="مریم", mobile="09121234567", email=email)
    event = RequestSubmitted(
        request_id=request_id,
        tracking_code="140512345678",
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
        registration_number="1405/t/7",
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
    assert "۱۴۰۵/t/۷" in sent[1]["text"]
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
    assert (registered["text"], registered["template_version"]) == ("ثبت شد: ۱۴۰۵/t/۷", 1)
    assert notify_desk.sms.calls[-1][2] == "ثبت شد: ۱۴۰۵/t/۷"


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
