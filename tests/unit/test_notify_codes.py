"""One-time codes: sent at once, never stored, rate-limited per number, de-duplicated by id."""

from __future__ import annotations

import json
import uuid

import pytest

from contracts.errors import DomainError
from contracts.notify import SendCode, SendLink
from services.notify.dispatch import Channels
from services.notify.one_time import CodeLimit, send_code, send_link
from tests.fakes import FakeEmailProvider
from tests.unit.test_notify_fakes import NotifyDesk


def _code(mobile: str = "۰۹۱۲ ۱۲۳ ۴۵۶۷", code: str = "482913", message_id: str | None = None) -> SendCode:
    return SendCode.model_validate(
        {"mobile": mobile, "code": code, "purpose": "login", "message_id": message_id or uuid.uuid4().hex}
    )


def _send(desk: NotifyDesk, command: SendCode, limit: CodeLimit | None = None) -> dict[str, object]:
    answer = send_code(desk.store, desk.db.read, Channels(desk.sms), limit or CodeLimit(), command)
    desk.catch_up()
    return answer


def test_a_code_is_sent_at_once_and_no_event_holds_it(notify_desk: NotifyDesk) -> None:
    command = _code()
    assert _send(notify_desk, command) == {"message_id": command.message_id, "status": "sent"}
    ((message_id, to, text),) = notify_desk.sms.calls
    assert (message_id, to) == (command.message_id, "09121234567")
    assert "482913" in text
    stored = json.dumps([e.data for e in notify_desk.store.read_all(0)], ensure_ascii=False)
    assert "482913" not in stored and "otp_login" in stored


def test_the_same_message_id_sends_nothing_twice(notify_desk: NotifyDesk) -> None:
    command = _code()
    limit = CodeLimit()
    for _ in range(4):  # a caller retrying is neither a second SMS nor a strike against the limit
        assert _send(notify_desk, command, limit)["status"] == "sent"
    assert len(notify_desk.sms.calls) == 1


def test_at_most_three_codes_per_number_in_ten_minutes(notify_desk: NotifyDesk) -> None:
    for _ in range(3):
        _send(notify_desk, _code())
    with pytest.raises(DomainError) as refused:
        _send(notify_desk, _code(mobile="+989121234567"))
    assert refused.value.code == "too_many_requests"
    # Another instance (a fresh limit) sees the same three codes in the read model.
    with pytest.raises(DomainError):
        _send(notify_desk, _code(), CodeLimit())
    assert _send(notify_desk, _code(mobile="09129999999"))["status"] == "sent"


def test_a_provider_hiccup_is_retried_within_the_call_and_a_refusal_answers_failed(
    notify_desk: NotifyDesk,
) -> None:
    notify_desk.sms.script = ["transient", "ok"]
    assert _send(notify_desk, _code())["status"] == "sent"
    notify_desk.sms.script = ["permanent"]
    refused = _send(notify_desk, _code())
    assert refused["status"] == "failed" and "promotional" in str(refused["reason"])
    notify_desk.sms.script = ["transient"] * 3
    assert _send(notify_desk, _code(mobile="09120000001"))["status"] == "failed"


def test_codes_are_validated() -> None:
    with pytest.raises(ValueError):
        _code(code="12ab")
    with pytest.raises(ValueError):
        _code(message_id="not hex!")
    assert _code(code="۱۲۳۴۵۶").code == "123456"


def test_a_one_time_link_goes_by_e_mail_and_is_not_stored(notify_desk: NotifyDesk) -> None:
    mailer = FakeEmailProvider()
    command = SendLink(
        email="maryam@example.ir",
        link="https://pishkhan.example/activate?token=s3cr3t",
        purpose="activate_account",
        message_id=uuid.uuid4().hex,
    )
    channels = Channels(notify_desk.sms, mailer)
    answer = send_link(notify_desk.store, notify_desk.db.read, channels, CodeLimit(), command)
    assert answer["status"] == "sent"
    ((to, subject, text),) = mailer.sent
    assert (to, subject) == ("maryam@example.ir", "پیشخوان خدمت: فعال‌سازی حساب کاربری")
    assert "https://pishkhan.example/activate?token=s3cr3t" in text
    assert "s3cr3t" not in json.dumps([e.data for e in notify_desk.store.read_all(0)])
    assert notify_desk.sms.calls == []
