"""The provider adapters against the simulators, each running as its own HTTP service."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from deploy.run import ROOT, uvicorn_command
from services.notify.email import SimulatedSmtpProvider
from services.notify.http_providers import HttpSmsProvider, KavenegarProvider
from services.notify.providers import PermanentFailure, SmsProvider, TransientFailure
from tests.desk import free_port

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def simulator(module: str) -> Iterator[str]:
    """One simulator in its own uvicorn process; its base URL."""
    port = free_port()
    process = subprocess.Popen(uvicorn_command(module, port), cwd=ROOT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def sms_url() -> Iterator[str]:
    with simulator("deploy.simulators.sms_provider:app") as url:
        yield url


@pytest.fixture(params=["http", "kavenegar"])
def provider(request: pytest.FixtureRequest, sms_url: str) -> Iterator[SmsProvider]:
    httpx.post(sms_url + "/admin/reset")
    if request.param == "http":
        yield HttpSmsProvider(sms_url, timeout=1.0)
    else:
        yield KavenegarProvider(sms_url, "TEST-API-KEY", "10004346", timeout=1.0)
    httpx.post(sms_url + "/admin/reset")


def _mode(url: str, **mode: object) -> None:
    httpx.post(url + "/admin/mode", json=mode).raise_for_status()


def _handed(url: str) -> list[dict[str, object]]:
    return list(httpx.get(url + "/admin/messages").json()["messages"])


def test_a_message_handed_over_twice_is_sent_once_and_delivered(provider: SmsProvider, sms_url: str) -> None:
    message_id = uuid.uuid4().hex
    first = provider.send(message_id, "09121234567", "پاسخ ثبت شد")
    again = provider.send(message_id, "09121234567", "پاسخ ثبت شد")  # a crash before recording
    assert first == again
    (handed,) = _handed(sms_url)
    assert (handed["key"], handed["requests"], handed["text"]) == (message_id, 2, "پاسخ ثبت شد")
    assert provider.receipts([first.provider_message_id])[first.provider_message_id].status == "delivered"


def test_down_busy_and_slow_are_temporary(provider: SmsProvider, sms_url: str) -> None:
    _mode(sms_url, fail=1)
    with pytest.raises(TransientFailure):
        provider.send(uuid.uuid4().hex, "09121234567", "x")
    _mode(sms_url, down=True)
    with pytest.raises(TransientFailure):
        provider.send(uuid.uuid4().hex, "09121234567", "x")
    _mode(sms_url, down=False, slow=2.0)
    with pytest.raises(TransientFailure):
        provider.send(uuid.uuid4().hex, "09121234567", "x")
    _mode(sms_url, slow=0)
    assert provider.send(uuid.uuid4().hex, "09121234567", "x").provider_message_id


def test_a_bad_number_is_refused_and_a_blocked_one_reported_undeliverable(
    provider: SmsProvider, sms_url: str
) -> None:
    with pytest.raises(PermanentFailure):
        provider.send(uuid.uuid4().hex, "12345", "x")
    _mode(sms_url, blocked=["09351112233"])
    sent = provider.send(uuid.uuid4().hex, "09351112233", "x")
    receipt = provider.receipts([sent.provider_message_id])[sent.provider_message_id]
    assert receipt.status == "failed" and "block" in receipt.reason


def test_kavenegar_shape_and_lookup_by_local_id(sms_url: str) -> None:
    provider = KavenegarProvider(sms_url, "TEST-API-KEY", "10004346")
    local_id = uuid.uuid4().hex
    sent = provider.send(local_id, "09121234567", "سلام")
    by_local = httpx.post(
        f"{sms_url}/v1/TEST-API-KEY/sms/statuslocalmessageid.json", data={"localid": local_id}
    ).json()
    assert by_local["return"]["status"] == 200
    assert str(by_local["entries"][0]["messageid"]) == sent.provider_message_id
    assert by_local["entries"][0]["status"] == 10


def test_e_mail_reaches_the_test_smtp_server_with_its_message_id() -> None:
    with simulator("deploy.simulators.smtp:app") as url:
        mailer = SimulatedSmtpProvider(url, "no-reply@pishkhan.local")
        mailer.send("abc123", "maryam@example.ir", "پیشخوان خدمت: ثبت درخواست", "درخواست شما ثبت شد.")
        (mail,) = httpx.get(url + "/messages").json()["messages"]
    assert mail["to"] == ["maryam@example.ir"]
    assert mail["subject"] == "پیشخوان خدمت: ثبت درخواست"
    assert "abc123" in mail["message_id"] and "درخواست شما ثبت شد." in mail["text"]
