"""Submission to reply through both gateways, five service processes, RabbitMQ and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from services.notify.providers import OutboxProvider
from tests.desk import signed_in_client

pytestmark = pytest.mark.integration

T = TypeVar("T")

CLERK = Principal(
    account_id="clerk-7", kind="staff", display_name="کارشناس دبیرخانه", roles=("clerk",), province="isfahan"
)

CITIZEN = {
    "national_code": "0084575948",
    "full_name": "زهرا احمدی",
    "mobile": "0912 000 1122",
    "province": "isfahan",
    "subject": "درخواست پروانه",
    "text": "با سلام، درخواست صدور پروانه دارم.",
}


def eventually(check: Callable[[], T | None], timeout: float = 30) -> T:
    """Poll `check` until it returns something, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s")
        time.sleep(0.1)


@pytest.fixture
def citizen(desk: Desk) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=desk.url("citizen"), timeout=20) as client:
        yield client


@pytest.fixture
def office(desk: Desk) -> Iterator[httpx.Client]:
    """A clerk of Isfahan's secretariat, signed in."""
    with signed_in_client(desk, CLERK) as client:
        yield client


@pytest.fixture
def outbox(desk: Desk) -> Iterator[OutboxProvider]:
    provider = OutboxProvider(desk.env["SMS_OUTBOX_URL"])
    yield provider
    provider.db.dispose()


def test_request_to_reply_with_three_sms_despite_a_notify_restart(
    desk: Desk, citizen: httpx.Client, office: httpx.Client, outbox: OutboxProvider
) -> None:
    submitted = citizen.post("/api/requests", json=CITIZEN)
    assert submitted.status_code == 201, submitted.text
    request_id, code = submitted.json()["request_id"], submitted.json()["tracking_code"]

    def in_inbox() -> dict[str, Any] | None:
        items = office.get("/api/inbox").json()["items"]
        return next((i for i in items if i["request_id"] == request_id), None)

    assert eventually(in_inbox)["tracking_code"] == code
    eventually(lambda: len(outbox.messages()) == 1)

    desk.kill("notify")  # SIGKILL: no chance to tidy up
    number = office.post(f"/api/requests/{request_id}/number")
    assert number.status_code == 201, number.text
    again = office.post(f"/api/requests/{request_id}/number")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_numbered")
    desk.start_service("notify")

    eventually(lambda: in_inbox()["registration_number"])  # type: ignore[index]
    reply = office.post(f"/api/requests/{request_id}/replies", json={"body": "پروانه صادر شد."})
    assert reply.status_code == 201, reply.text

    def replied() -> dict[str, Any] | None:
        view = citizen.get(f"/api/requests/{code}", params={"national_code": "۰۰۸۴۵۷۵۹۴۸"}).json()
        done = view["status"] == "done" and [s["status"] for s in view["sms"]] == ["sent"] * 3
        return view if done else None

    view = eventually(replied, timeout=90)  # a killed notify is back and sends; slower when loaded
    assert view["registration_number"] == number.json()["registration_number"]
    assert [r["body"] for r in view["replies"]] == ["پروانه صادر شد."]

    sent = outbox.messages()
    assert [m["to"] for m in sent] == ["09120001122"] * 3
    assert len({m["message_id"] for m in sent}) == 3
    store = open_store(desk.env.get("EVENTSTORE_URL") or f"sqlite:///{desk.env['PISHKHAN_VAR']}/events.db")
    try:
        outcomes = [e for e in store.read_all(0, types=["SmsSent", "SmsFailed"], limit=100)]
    finally:
        store.close()
    assert sorted(e.data["message_id"] for e in outcomes) == sorted(m["message_id"] for m in sent)


def test_gateways_answer_health_openapi_and_clear_errors(citizen: httpx.Client, office: httpx.Client) -> None:
    for client in (citizen, office):
        health = client.get("/healthz")
        assert health.status_code == 200
        assert set(health.json()["services"].values()) == {"ok"}
        assert client.get("/openapi.json").json()["openapi"].startswith("3.")

    bad = citizen.post("/api/requests", json={**CITIZEN, "national_code": "0084575949"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_national_code")
    assert "کد ملی" in bad.json()["error"]["message"]
    mistyped = citizen.get("/api/requests/123456789012", params={"national_code": "0084575948"})
    assert (mistyped.status_code, mistyped.json()["error"]["code"]) == (422, "invalid_tracking_code")
    unknown = office.post("/api/requests/nope/number")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "request_not_found")
    with httpx.Client(base_url=office.base_url, timeout=20) as stranger:
        anonymous = stranger.post("/api/requests/nope/number")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "not_signed_in")
    not_json = citizen.post("/api/requests", content=b"{", headers={"content-type": "application/json"})
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "invalid_json")
