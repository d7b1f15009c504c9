"""Two processes of every service on one RabbitMQ share the work and keep every invariant.

Phase one drives load through the gateways while both replicas of each service consume the same
RPC queue and compete for the same projection checkpoints; then the first replica of every
service is killed and phase two runs on the second replicas alone. The store must then show
no lost request, one registration number per request with no duplicate or gap in the book,
and exactly one SMS per step, kept once by the provider (handed over again only by a replica
killed while sending it).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from deploy.run import SERVICES, Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from services.notify.providers import OutboxProvider
from tests.desk import running_desk, signed_in_client

pytestmark = pytest.mark.integration

T = TypeVar("T")
PER_PHASE = 8
CLERK = Principal(
    account_id="clerk-9", kind="staff", display_name="کارشناس دبیرخانه", roles=("clerk",), province="isfahan"
)


def eventually(check: Callable[[], T | None], timeout: float = 60) -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s")
        time.sleep(0.2)


def consumers(desk: Desk) -> dict[str, int]:
    """RPC queue → number of consumers, from the broker itself."""
    vhost = desk.env["AMQP_URI"].rsplit("/", 1)[1]
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "consumers", "--no-table-headers"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return {
        name: int(count) for name, count in (line.split() for line in listed.splitlines() if line.strip())
    }


def citizen_payload(number: int) -> dict[str, str]:
    return {
        "national_code": "0084575948",
        "full_name": "زهرا احمدی",
        "mobile": f"0912000{number:04d}",
        "province": "isfahan",
        "subject": f"درخواست شماره {number}",
        "text": "متن درخواست",
    }


def drive(desk: Desk, first: int) -> list[str]:
    """Submit, number (twice at once: one must win) and reply to PER_PHASE requests."""
    with (
        httpx.Client(base_url=desk.url("citizen"), timeout=30) as citizen,
        signed_in_client(desk, CLERK, timeout=30) as office,
        ThreadPoolExecutor(max_workers=6) as pool,
    ):
        submitted = list(
            pool.map(
                lambda n: citizen.post("/api/requests", json=citizen_payload(n)),
                range(first, first + PER_PHASE),
            )
        )
        assert [r.status_code for r in submitted] == [201] * PER_PHASE, [r.text for r in submitted]
        ids = [r.json()["request_id"] for r in submitted]

        def in_inbox() -> bool:
            listed = {item["request_id"] for item in office.get("/api/inbox").json()["items"]}
            return set(ids) <= listed

        eventually(in_inbox)
        numbered = list(pool.map(lambda rid: office.post(f"/api/requests/{rid}/number"), ids + ids))
        # Two clerks' clicks at once: each answer is the one number (a repeat may be answered as
        # the same success, or refused as already numbered), never a second number.
        assert {r.status_code for r in numbered} <= {201, 409}, [r.text for r in numbered]
        given: dict[str, set[str]] = {}
        for rid, answer in zip(ids + ids, numbered, strict=True):
            if answer.status_code == 201:
                given.setdefault(rid, set()).add(answer.json()["registration_number"])
        assert sorted(given) == sorted(ids) and all(len(n) == 1 for n in given.values()), given
        replies = list(
            pool.map(
                lambda rid: office.post(f"/api/requests/{rid}/replies", json={"body": "پاسخ نهایی."}), ids
            )
        )
        assert [r.status_code for r in replies] == [201] * PER_PHASE, [r.text for r in replies]
    return ids


def outcomes(desk: Desk) -> int:
    """How many `SmsSent` the store holds."""
    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        return len(store.read_all(0, types=["SmsSent"], limit=100_000))
    finally:
        store.close()


def test_two_replicas_of_every_service_share_the_work_and_keep_the_invariants(tmp_path: Path) -> None:
    with running_desk(tmp_path, "postgresql") as desk:
        for service in SERVICES:
            desk.start_extra(f"{service}-2", service)
        eventually(lambda: all(consumers(desk).get(f"rpc-{s}") == 2 for s in SERVICES))

        ids = drive(desk, 0)
        for service in SERVICES:  # the first replicas go; the second ones carry on alone
            desk.kill(service)
        assert all(consumers(desk).get(f"rpc-{s}", 0) <= 1 for s in SERVICES)
        ids += drive(desk, PER_PHASE)

        outbox = OutboxProvider(desk.env["SMS_OUTBOX_URL"])
        try:
            eventually(lambda: len(outbox.messages()) >= 3 * len(ids), timeout=90)
            sent = outbox.messages()
            eventually(lambda: outcomes(desk) >= len(sent), timeout=60)  # and recorded each outcome
        finally:
            outbox.db.dispose()
        # Operations on the cluster's store: rebuild every read model beside the live one, switch
        # it in, and compare each with a scratch rebuild; nothing is planned or sent again. (The
        # processes stop first: PostgreSQL's connection limit is shared with other test runs.)
        desk.stop()
        before = open_store(desk.env["EVENTSTORE_URL"])
        head = before.last_position()
        before.close()
        for command in (["replay"], ["verify"]):
            done = subprocess.run(
                [sys.executable, "-m", "infra.cli", *command],
                env=dict(desk.env),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stdout + done.stderr
        assert "DIFFERS" not in done.stdout and "secretariat" in done.stdout
        store = open_store(desk.env["EVENTSTORE_URL"])
        try:
            events = []
            position = 0
            while page := store.read_all(position, limit=1000):
                events += page
                position = page[-1].position
        finally:
            store.close()

    assert events[-1].position == head  # the replay appended nothing (no SMS planned again)

    def of(kind: str) -> list[Any]:
        return [e for e in events if e.type == kind]

    # No lost event: every acknowledged request, number and reply is in the store, once.
    assert sorted(e.data["request_id"] for e in of("RequestSubmitted")) == sorted(ids)
    assert sorted(e.data["request_id"] for e in of("NumberAssigned")) == sorted(ids)
    assert sorted(e.data["request_id"] for e in of("ReplyPosted")) == sorted(ids)
    # No duplicate number: one book, sequences 1..n without a gap or a repeat.
    numbers = of("NumberAssigned")
    assert len({e.data["registration_number"] for e in numbers}) == len(ids)
    assert sorted(e.data["sequence"] for e in numbers) == list(range(1, len(ids) + 1))
    # No duplicate SMS: three messages per request, each handed to the provider once, one outcome each.
    queued = of("SmsQueued")
    assert Counter(e.data["request_id"] for e in queued) == Counter({rid: 3 for rid in ids})
    assert len(sent) == len(queued) and {m["message_id"] for m in sent} == {
        e.data["message_id"] for e in queued
    }
    # A replica killed between the provider's answer and its record leaves the message to the
    # other replica, which hands it over again; the provider keeps it once (one SMS to the
    # citizen). Only messages of phase one, in flight at the kill, may be handed over twice.
    phase_one = {e.data["message_id"] for e in queued if e.data["request_id"] in ids[:PER_PHASE]}
    again = {str(m["message_id"]) for m in sent if m["requests"] != 1}
    assert again - phase_one == set(), "handed over twice with no replica killed"
    assert Counter(e.data["message_id"] for e in of("SmsSent")) == Counter({m["message_id"]: 1 for m in sent})
