"""`gateway.async_rpc.AsyncRpc` against the machine's RabbitMQ and a real nameko service: the
reply decodes as through nameko's own proxy, a service's exception arrives as nameko's
`RemoteError`, a missing service and a lost broker connection end in `ServiceUnavailable`
(at once, at the time-out, or when the broker closes the connection), and the next call
connects again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.exceptions import RemoteError

from gateway.async_rpc import AsyncRpc, amqp_url
from gateway.rpc import RpcPool, ServiceUnavailable
from tests.rabbit import rabbit_available, scratch_vhost

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _rabbit() -> None:
    reason = rabbit_available()
    if reason is not None:
        pytest.fail(f"these tests need the machine's RabbitMQ: {reason}")


@pytest.fixture(scope="module")
def echo() -> Iterator[dict[str, Any]]:
    """A scratch vhost with the `echo` service running in a process of its own."""
    with scratch_vhost() as amqp_uri:
        config = {"AMQP_URI": amqp_uri, "rpc_exchange": "nameko-rpc"}
        process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--broker", amqp_uri, "tests.integration.rpc_echo"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            asyncio.run(_until_answered(config))
            yield config
        finally:
            process.terminate()
            _, errors = process.communicate(timeout=15)
            if process.returncode not in (0, -15):
                print(f"the echo service ended with {process.returncode}: {errors.decode()[-2000:]}")


async def _until_answered(config: dict[str, Any], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    client = AsyncRpc(config, timeout=1, confirms=True)
    await client.start()
    try:
        while True:
            try:
                await client.call("echo", "echo")
                return
            except ServiceUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await client.stop()


async def _with_client(config: dict[str, Any], work: Any, **options: Any) -> Any:
    client = AsyncRpc(config, **options)
    await client.start()
    try:
        return await work(client)
    finally:
        await client.stop()


def test_the_address_is_the_same_broker_and_vhost() -> None:
    assert amqp_url("pyamqp://guest:guest@127.0.0.1:5672/") == "amqp://guest:guest@127.0.0.1:5672/"
    assert amqp_url("pyamqp://u:p@h:1/desk_1") == "amqp://u:p@h:1/desk_1"
    assert amqp_url("amqps://u:p@h/v") == "amqps://u:p@h/v"


def test_a_reply_decodes_exactly_as_through_nameko(echo: dict[str, Any]) -> None:
    payload = {"subject": "درخواست صدور گواهی", "count": 3, "items": [1.5, None, True]}

    async def work(client: AsyncRpc) -> Any:
        return await client.call("echo", "echo", "یک", payload=payload)

    got = asyncio.run(_with_client(echo, work, confirms=False))
    pool = RpcPool(echo, size=1, timeout=10, confirms=False)
    pool.start()
    try:
        expected = pool.call("echo", "echo", "یک", payload=payload)
    finally:
        pool.stop()
    assert got == expected
    assert got["kwargs"]["payload"] == payload and got["at"].year == 2026


def test_many_calls_at_once_each_get_their_own_reply(echo: dict[str, Any]) -> None:
    async def work(client: AsyncRpc) -> list[Any]:
        return await asyncio.gather(*(client.call("echo", "echo", n) for n in range(200)))

    replies = asyncio.run(_with_client(echo, work, confirms=False))
    assert [reply["args"] for reply in replies] == [[n] for n in range(200)]


def test_a_services_exception_arrives_as_a_remote_error(echo: dict[str, Any]) -> None:
    async def work(client: AsyncRpc) -> None:
        await client.call("echo", "fail")

    with pytest.raises(RemoteError) as raised:
        asyncio.run(_with_client(echo, work, confirms=False))
    assert raised.value.exc_type == "ValueError" and "broken on purpose" in str(raised.value)


def test_with_confirms_a_service_never_started_is_reported_at_once(echo: dict[str, Any]) -> None:
    async def work(client: AsyncRpc) -> None:
        await client.call("nobody", "anything")

    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="no such service"):
        asyncio.run(_with_client(echo, work, timeout=5, confirms=True))
    assert time.monotonic() - started < 3


def test_without_confirms_the_same_call_ends_at_its_timeout(echo: dict[str, Any]) -> None:
    async def work(client: AsyncRpc) -> None:
        await client.call("nobody", "anything")

    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match=r"no answer in 1\.5s"):
        asyncio.run(_with_client(echo, work, timeout=1.5, confirms=False))
    took = time.monotonic() - started
    # nothing tells an unconfirmed call that nobody listens: it must wait out its time-out, and
    # end there rather than hang
    assert took >= 1.4, f"ended after {took:.2f}s, before its 1.5 s time-out"
    assert took < 5, f"ended only after {took:.2f}s"


def test_a_connection_the_broker_closes_fails_its_calls_and_the_next_call_reconnects(
    echo: dict[str, Any],
) -> None:
    vhost = echo["AMQP_URI"].rsplit("/", 1)[1]

    async def work(client: AsyncRpc) -> tuple[str, float, Any]:
        waiting = asyncio.ensure_future(client.call("echo", "slow", 5))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await asyncio.to_thread(
            subprocess.run,
            ["rabbitmqctl", "close_all_connections", "--vhost", vhost, "a test closes it"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        with pytest.raises(ServiceUnavailable) as raised:
            await waiting
        failed_after = time.monotonic() - started
        deadline = time.monotonic() + 20  # the service reconnects too
        while True:
            try:
                return str(raised.value), failed_after, await client.call("echo", "echo", "again")
            except ServiceUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    reason, failed_after, answer = asyncio.run(_with_client(echo, work, timeout=10, confirms=False))
    assert "closed" in reason or "lost" in reason, reason
    assert failed_after < 4  # when the broker closed it, not at the 10 s time-out
    assert answer["args"] == ["again"]
