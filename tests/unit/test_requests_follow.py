"""The tracking limit, the receipt's SMS sentence and the workflow timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from contracts.errors import DomainError
from gateway.citizen.requests_labels import sms_status, timeline
from infra.db import Database
from services.requests import lookups
from tests.fakes import FakeClock


def _look_up(found: bool) -> Callable[[], str]:
    def look_up() -> str:
        if not found:
            raise DomainError("request_not_found")
        return "the request"

    return look_up


def test_failed_look_ups_per_address_are_limited_in_a_sliding_window(db: Database) -> None:
    lookups.setup(db)
    clock, limit = FakeClock(1000.0), lookups.TrackLimit(failures=3, seconds=60)

    def ask(client: str, found: bool) -> str:
        return lookups.limited(db, limit, client, _look_up(found), clock)

    for _ in range(3):
        with pytest.raises(DomainError, match="request_not_found"):
            ask("1.2.3.4", found=False)
    with pytest.raises(DomainError, match="track_limited"):
        ask("1.2.3.4", found=True)  # even the right code: the address used up its failures
    assert ask("5.6.7.8", found=True) == "the request"  # another address is not punished
    assert ask("", found=True) == "the request"  # a caller that is no gateway is not limited
    clock.now += 59
    with pytest.raises(DomainError, match="track_limited"):
        ask("1.2.3.4", found=True)
    clock.now += 2
    assert ask("1.2.3.4", found=True) == "the request"
    other_instance = Database(db.url)  # a second process
    for _ in range(3):
        with pytest.raises(DomainError):
            lookups.limited(other_instance, limit, "1.2.3.4", _look_up(False), clock)
    with pytest.raises(DomainError, match="track_limited"):
        ask("1.2.3.4", found=True)  # the count is the database's, not a process's
    clock.now += 86401
    with pytest.raises(DomainError):
        ask("9.9.9.9", found=False)
    with db.read.connect() as conn:  # a day-old failure is deleted at the next one
        keys = conn.execute(sa.select(lookups.failures_table.c.key)).scalars().all()
    assert keys == ["client:9.9.9.9"]
    other_instance.dispose()


def test_a_solved_captcha_lets_a_look_up_through_past_the_limit_and_its_failures_still_count(
    db: Database,
) -> None:
    lookups.setup(db)
    clock, limit = FakeClock(1000.0), lookups.TrackLimit(failures=2, seconds=60)

    def ask(found: bool, captcha_passed: bool = False) -> str:
        return lookups.limited(db, limit, "1.2.3.4", _look_up(found), clock, captcha_passed=captcha_passed)

    for _ in range(2):
        with pytest.raises(DomainError, match="request_not_found"):
            ask(found=False)
    assert lookups.is_limited(db, limit, "1.2.3.4", clock)
    with pytest.raises(DomainError, match="track_limited"):
        ask(found=True)
    assert ask(found=True, captcha_passed=True) == "the request"
    clock.now += 30
    for _ in range(2):
        with pytest.raises(DomainError, match="request_not_found"):
            ask(found=False, captcha_passed=True)
    clock.now += 31  # the first two failures left the window; the two with a captcha did not
    assert lookups.is_limited(db, limit, "1.2.3.4", clock)
    with pytest.raises(DomainError, match="track_limited"):
        ask(found=True)


def test_the_limit_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACK_ATTEMPTS", "5/30")
    assert lookups.TrackLimit.from_env() == lookups.TrackLimit(5, 30.0)
    monkeypatch.delenv("TRACK_ATTEMPTS")
    assert lookups.TrackLimit.from_env() == lookups.TrackLimit(20, 600.0)


def test_the_receipt_says_whether_the_confirmation_sms_was_sent() -> None:
    now = datetime.now(UTC)  # taken here: the receipt's wording depends on the submission's age
    old = (now - timedelta(hours=1)).isoformat()
    sent = [{"template": "request_received", "status": "sent"}]
    assert sms_status(sent, old) == ("پیامک تأیید ثبت درخواست برای شهروند ارسال شد", "green")
    failed = [{"template": "request_received", "status": "permanent_failure", "failed": True}]
    assert sms_status(failed, now.isoformat())[0] == "پیامکی برای شهروند ارسال نشد"
    assert sms_status([], old)[0] == "پیامکی برای شهروند ارسال نشد"
    assert sms_status([], now.isoformat())[1] == "blue"  # just submitted: not planned yet
    other = [{"template": "request_registered", "status": "sent"}]
    assert sms_status(other, old)[0] == "پیامکی برای شهروند ارسال نشد"


def test_the_timeline_marks_each_step_with_its_first_date() -> None:
    history = [
        {"step": "submitted", "at": "t1"},
        {"step": "registered", "at": "t2"},
        {"step": "interim_reply", "at": "t3"},
    ]
    steps = timeline(history)
    assert [(s["label"], s["at"]) for s in steps] == [
        ("ثبت درخواست", "t1"),
        ("ثبت در دبیرخانه", "t2"),
        ("بررسی و پاسخ", "t3"),
        ("پاسخ نهایی", None),
    ]


def test_the_json_api_documents_every_route() -> None:
    from starlette.schemas import SchemaGenerator

    from gateway.citizen import requests_api

    generator = SchemaGenerator({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}})
    paths = generator.get_schema(routes=requests_api.routes)["paths"]
    assert paths["/api/catalogue/{service_id}"]["get"]["parameters"][0]["schema"]["pattern"] == "^[0-9]{11}$"
    assert 429 in paths["/api/requests/{tracking_code}"]["get"]["responses"]
