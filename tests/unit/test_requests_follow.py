"""The tracking limit, the receipt's SMS sentence and the workflow timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.citizen.requests_labels import sms_status, timeline
from gateway.citizen.requests_limits import AttemptLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_per_address_are_limited_in_a_sliding_window() -> None:
    clock = Clock()
    limiter = AttemptLimiter(3, 60, clock)
    for _ in range(3):
        assert not limiter.blocked("1.2.3.4")
        limiter.failed("1.2.3.4")
    assert limiter.blocked("1.2.3.4")
    assert not limiter.blocked("5.6.7.8")  # another address is not punished
    clock.now += 59
    assert limiter.blocked("1.2.3.4")
    clock.now += 2
    assert not limiter.blocked("1.2.3.4")
    assert limiter._failures == {}  # forgotten addresses take no memory


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
