"""A whole desk on Kavenegar's API (the simulator's Kavenegar face) with e-mail to the test SMTP
server: the real request shapes, the de-duplication key, receipts and the second channel."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.requests import Applicant, RequestSubmitted
from deploy.run import Desk
from gateway.rpc import RpcPool
from infra.eventstore import open_store
from tests.desk import running_desk
from tests.integration.test_notify_idempotency import eventually, message_lives, settled_as

pytestmark = pytest.mark.integration

ENV = {"SMS_PROVIDER": "kavenegar", "KAVENEGAR_API_KEY": "TEST-API-KEY", "KAVENEGAR_SENDER": "10004346"}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("channels"), "postgresql", **ENV) as running:
        yield running


@pytest.fixture(scope="module")
def desk_store(desk: Desk) -> Iterator[EventStore]:
    """The running desk's own event store, opened from this process."""
    opened = open_store(desk.env["EVENTSTORE_URL"])
    yield opened
    opened.close()


def _submit(store: EventStore, mobile: str, email: str | None = None) -> str:
    """A request as the citizen's wizard records it (with an e-mail address when given)."""
    request_id = uuid.uuid4().hex
    applicant = Applicant(national_code="0084575948", full_name="مریم کاظمی", mobile=mobile, email=email)
    submitted = RequestSubmitted(
        request_id=request_id,
        tracking_code=f"{uuid.uuid4().int % 10**12:012d}",
        applicant=applicant,
        province="isfahan",
        subject="درخواست پروانه",
        text="متن",
        submitted_at=datetime.now(UTC).isoformat(),
        form="wizard",
    )
    store.append(f"request-{request_id}", [new_event(submitted, actor="citizen")])
    return request_id


def test_kavenegar_sends_with_local_id_and_reports_delivery_and_blocking(
    desk: Desk, desk_store: EventStore
) -> None:
    sms = httpx.Client(base_url=desk.env["SMS_HTTP_URL"], timeout=10)
    with sms:
        sms.post("/admin/mode", json={"blocked": ["09351112233"]})
        delivered = _submit(desk_store, "09121234567")
        blocked = _submit(desk_store, "09351112233")
        eventually(lambda: settled_as(desk_store, delivered, "SmsDelivered"))
        eventually(lambda: settled_as(desk_store, blocked, "SmsFailed"))
        handed = {m["key"]: m for m in sms.get("/admin/messages").json()["messages"]}
    (message_id,) = message_lives(desk_store, delivered)
    assert handed[message_id]["face"] == "kavenegar" and handed[message_id]["requests"] == 1
    failure = desk_store.read_all(0, types=["SmsFailed"], limit=1000)[-1].data
    assert failure["status"] == "permanent_failure" and failure["reason"].startswith("blocked")


def test_an_address_known_gets_an_e_mail_too(desk: Desk, desk_store: EventStore) -> None:
    request_id = _submit(desk_store, "09121230000", email="maryam@example.ir")

    def both() -> dict[str, list[str]] | None:
        life = message_lives(desk_store, request_id)
        done = len(life) == 2 and all(types[-1] in ("SmsSent", "SmsDelivered") for types in life.values())
        return life if done else None

    eventually(both)
    mails = httpx.get(desk.env["SMTP_SIMULATOR_URL"] + "/messages", timeout=10).json()["messages"]
    (mail,) = [m for m in mails if m["to"] == ["maryam@example.ir"]]
    assert mail["subject"] == "پیشخوان خدمت: ثبت درخواست"
    assert "کد رهگیری" in mail["text"]
    assert any(message_id in mail["message_id"] for message_id in message_lives(desk_store, request_id))


def test_a_one_time_link_is_e_mailed_within_the_call(desk: Desk, desk_store: EventStore) -> None:
    pool = RpcPool({"AMQP_URI": desk.env["AMQP_URI"], "rpc_exchange": "nameko-rpc"}, size=1, timeout=30)
    pool.start()
    link = "https://pishkhan.example/activate?token=0c1d2e3f"
    payload = {
        "email": "ali@example.ir",
        "link": link,
        "purpose": "activate_account",
        "message_id": uuid.uuid4().hex,
    }
    try:
        answer = pool.call("notify", "send_link", payload)
    finally:
        pool.stop()
    assert answer == {"ok": True, "result": {"message_id": payload["message_id"], "status": "sent"}}
    mails = httpx.get(desk.env["SMTP_SIMULATOR_URL"] + "/messages", timeout=10).json()["messages"]
    (mail,) = [m for m in mails if m["to"] == ["ali@example.ir"]]
    assert link in mail["text"]
    assert "0c1d2e3f" not in str([e.data for e in desk_store.read_all(0, limit=100000)])
