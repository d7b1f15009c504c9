"""Never twice, in real processes: a redelivered event, a notify killed mid-batch, a replay of the
whole history and a read model moved elsewhere each send no SMS a second time; temporary failures
are retried with back-off and end in a final status; one-time codes go out within the call."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa

from contracts.eventstore import EventStore
from deploy.run import ROOT, Desk
from gateway.rpc import RpcPool
from gateway.web.auth import Principal
from infra.eventstore import open_store
from tests.desk import running_desk, session_cookie, signed_in_client

pytestmark = pytest.mark.integration

T = TypeVar("T")
ENV = {"SMS_PROVIDER": "http", "NOTIFY_FIRST_RETRY": "0.2", "NOTIFY_MAX_ATTEMPTS": "3", "NOTIFY_LEASE": "3"}
ADMIN = Principal(account_id="admin-1", kind="staff", display_name="مدیر", roles=("admin",))


def eventually(check: Callable[[], T | None], timeout: float = 60) -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("notify"), "postgresql", **ENV) as running:
        yield running


@pytest.fixture(scope="module")
def desk_store(desk: Desk) -> Iterator[EventStore]:
    """The running desk's own event store, opened from this process."""
    opened = open_store(desk.env["EVENTSTORE_URL"])
    yield opened
    opened.close()


@pytest.fixture
def sms(desk: Desk) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=desk.env["SMS_HTTP_URL"], timeout=10) as client:
        client.post("/admin/mode", json={"fail": 0, "down": False, "slow": 0, "blocked": []})
        yield client
        client.post("/admin/mode", json={"fail": 0, "down": False, "slow": 0, "blocked": []})


def _submit(desk: Desk, mobile: str = "09120001122") -> str:
    body = {
        "national_code": "0084575948",
        "full_name": "زهرا احمدی",
        "mobile": mobile,
        "province": "isfahan",
        "subject": "درخواست پروانه",
        "text": "با سلام، درخواست صدور پروانه دارم.",
    }
    answer = httpx.post(desk.url("citizen") + "/api/requests", json=body, timeout=20)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["request_id"])


def message_lives(store: EventStore, request_id: str) -> dict[str, list[str]]:
    """Each message about the request: its stream's event types."""
    queued = [
        e for e in store.read_all(0, types=["SmsQueued"], limit=10000) if e.data["request_id"] == request_id
    ]
    return {e.data["message_id"]: [r.type for r in store.read_stream(e.stream)] for e in queued}


def settled_as(store: EventStore, request_id: str, final: str) -> dict[str, list[str]] | None:
    life = message_lives(store, request_id)
    return life if life and all(types[-1] == final for types in life.values()) else None


def _handed(sms: httpx.Client) -> dict[str, int]:
    return {m["key"]: m["requests"] for m in sms.get("/admin/messages").json()["messages"]}


def _settled(desk: Desk, store: EventStore, sms: httpx.Client) -> dict[str, int]:
    """After one more request's SMS went out: everything before it was dealt with too."""
    marker = _submit(desk)
    eventually(lambda: settled_as(store, marker, "SmsDelivered"))
    return _handed(sms)


def test_a_message_goes_out_once_is_delivered_and_shows_in_the_back_office(
    desk: Desk, desk_store: EventStore, sms: httpx.Client
) -> None:
    request_id = _submit(desk)
    life = eventually(lambda: settled_as(desk_store, request_id, "SmsDelivered"))
    (types,) = life.values()
    assert types == ["SmsQueued", "SmsDispatching", "SmsSent", "SmsDelivered"]
    (message_id,) = life
    assert _handed(sms)[message_id] == 1
    cookie = session_cookie(desk, ADMIN)
    cookies = {cookie["name"]: cookie["value"]}

    def shown() -> list[str] | None:  # the status read model follows the store a moment later
        office = httpx.get(
            desk.url("backoffice") + "/api/notify/messages",
            params={"request_id": request_id},
            cookies=cookies,
        )
        statuses = [m["status"] for m in office.json()["items"]]
        return statuses if statuses == ["delivered"] else None

    assert eventually(shown) == ["delivered"]
    page = httpx.get(
        desk.url("backoffice") + f"/notify/requests/{request_id}", cookies={cookie["name"]: cookie["value"]}
    )
    assert page.status_code == 200 and "رسیده به گیرنده" in page.text


def test_temporary_failures_are_retried_then_end_in_a_final_status(
    desk: Desk, desk_store: EventStore, sms: httpx.Client
) -> None:
    sms.post("/admin/mode", json={"fail": 2})
    retried = _submit(desk)
    (types,) = eventually(lambda: settled_as(desk_store, retried, "SmsDelivered")).values()
    assert types.count("SmsDeferred") == 2 and types.count("SmsDispatching") == 3

    sms.post("/admin/mode", json={"down": True})
    given_up = _submit(desk)
    (types,) = eventually(lambda: settled_as(desk_store, given_up, "SmsFailed")).values()
    assert types.count("SmsDispatching") == 3  # NOTIFY_MAX_ATTEMPTS
    failed = [e for e in desk_store.read_all(0, types=["SmsFailed"], limit=10000)]
    assert failed[-1].data["status"] == "technical_failure"

    sms.post("/admin/mode", json={"down": False, "blocked": ["09351112233"]})
    blocked = _submit(desk, mobile="09351112233")
    eventually(lambda: settled_as(desk_store, blocked, "SmsFailed"))
    last = desk_store.read_all(0, types=["SmsFailed"], limit=10000)[-1]
    assert (last.data["status"], last.data["reason"]) == ("permanent_failure", "promotional_blocked")


def test_a_notify_killed_mid_batch_sends_nothing_twice(
    desk: Desk, desk_store: EventStore, sms: httpx.Client
) -> None:
    sms.post("/admin/mode", json={"slow": 1.0})
    before = len(_handed(sms))
    requests = [_submit(desk, mobile=f"0912000{n:04d}") for n in range(4)]
    eventually(lambda: len(_handed(sms)) > before)  # the batch has started
    desk.kill("notify")
    sms.post("/admin/mode", json={"slow": 0})
    desk.start_service("notify")
    for request_id in requests:
        life = eventually(lambda r=request_id: settled_as(desk_store, r, "SmsDelivered"))  # type: ignore[misc]
        (types,) = life.values()
        assert types.count("SmsSent") == 1
    handed = _handed(sms)
    assert len(handed) == before + 4  # one SMS per message, even for the one in flight at the kill


def _notify_checkpoints(desk: Desk, position: int) -> None:
    engine = sa.create_engine(desk.env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "update projection_checkpoints set position = :p"
                " where name in ('notify.planner', 'notify.sender')"
            ),
            {"p": position},
        )
    engine.dispose()


def test_redelivery_replay_and_a_moved_read_model_send_nothing_again(
    desk: Desk, desk_store: EventStore, sms: httpx.Client, tmp_path: Path
) -> None:
    _settled(desk, desk_store, sms)
    desk.kill("notify")
    _notify_checkpoints(desk, 0)  # every event delivered again to the planner and the sender
    desk.start_service("notify")
    before = _handed(sms)
    after = _settled(desk, desk_store, sms)
    assert len(after) == len(before) + 1 and all(after[k] == v for k, v in before.items())

    desk.kill("notify")
    replay = subprocess.run(
        [sys.executable, "-m", "infra.cli", "replay", "notify"],
        cwd=ROOT,
        env=dict(desk.env),
        capture_output=True,
    )
    assert replay.returncode == 0, replay.stderr.decode()
    desk.start_service("notify")
    before = after
    after = _settled(desk, desk_store, sms)
    assert len(after) == len(before) + 1 and all(after[k] == v for k, v in before.items())

    desk.kill("notify")
    desk.env = {**desk.env, "READMODEL_URL": f"sqlite:///{tmp_path / 'moved-notify.db'}"}
    desk.start_service("notify")
    before = after
    after = _settled(desk, desk_store, sms)
    assert len(after) == len(before) + 1 and all(after[k] == v for k, v in before.items())


def test_one_time_codes_are_sent_within_the_call_and_limited(
    desk: Desk, desk_store: EventStore, sms: httpx.Client
) -> None:
    pool = RpcPool({"AMQP_URI": desk.env["AMQP_URI"], "rpc_exchange": "nameko-rpc"}, size=1, timeout=30)
    pool.start()
    try:
        answers = [
            pool.call(
                "notify",
                "send_code",
                {
                    "mobile": "09127776655",
                    "code": "731904",
                    "purpose": "login",
                    "message_id": uuid.uuid4().hex,
                },
            )
            for _ in range(4)
        ]
    finally:
        pool.stop()
    assert [a["ok"] and a["result"]["status"] for a in answers[:3]] == ["sent"] * 3
    assert (
        answers[3] == {"ok": False, "error": answers[3]["error"]}
        and answers[3]["error"]["code"] == "too_many_requests"
    )
    texts = [m["text"] for m in sms.get("/admin/messages").json()["messages"] if m["to"] == "09127776655"]
    assert len(texts) == 3 and all("731904" in t for t in texts)
    stored: list[Any] = [e.data for e in desk_store.read_all(0, limit=100000)]
    assert "731904" not in str(stored)


def test_an_administrator_edits_a_template_and_new_messages_use_it(
    desk: Desk, desk_store: EventStore, sms: httpx.Client
) -> None:
    with signed_in_client(desk, ADMIN) as office:
        text = "درخواست شما با کد {tracking_code} در پیشخوان ثبت شد."
        bad = office.post("/api/notify/templates", json={"template": "request_received", "text": "کد {code}"})
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_template")
        changed = office.post("/api/notify/templates", json={"template": "request_received", "text": text})
        assert changed.status_code == 201 and changed.json()["template_version"] == 1
        eventually(lambda: "نسخه ۱" in office.get("/notify/templates").text)
        request_id = _submit(desk)
        eventually(lambda: settled_as(desk_store, request_id, "SmsDelivered"))
        (message_id,) = message_lives(desk_store, request_id)
        handed = {m["key"]: m["text"] for m in sms.get("/admin/messages").json()["messages"]}
        assert (
            handed[message_id].startswith("درخواست شما با کد ۹") or "در پیشخوان ثبت شد." in handed[message_id]
        )
        filters = {"template": "request_received", "status": "delivered"}
        eventually(lambda: message_id in office.get("/notify/messages", params=filters).text)
        forbidden = httpx.get(desk.url("backoffice") + "/notify/templates", follow_redirects=False)
        assert forbidden.status_code in (303, 401)
