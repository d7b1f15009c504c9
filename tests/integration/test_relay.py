"""The relay with real clients in their own processes (issue 25): a pika consumer on
`pishkhan.events` receives the CloudEvent of a request filed through the citizen gateway; a
webhook receiver verifies each delivery with `standardwebhooks` and gets each event once across
a `kill -9` of the relay; a revoked partner gets nothing more and its key is refused; a
unit-bound partner never gets another unit's request; the HTTP feed pages by position; a
webhook that keeps failing is paused.

"Once" means: delivery is at-least-once (a relay killed after sending and before recording it
sends again), under the same `webhook-id`/`message_id`; a receiver that de-duplicates by that
id, as Standard Webhooks asks, sees every event exactly once, and no event is missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import integration as ie
from contracts.envelope import StreamState
from contracts.events import new_event
from contracts.partners import PartnerAdded, PartnerRevoked, PartnerWebhookPaused, partner_stream
from deploy.run import Desk
from infra.eventstore import open_store
from infra.partner_keys import api_key_hash, key_prefix, new_api_key, webhook_secret
from services.relay.broker import pika_url
from tests.desk import free_port, running_desk, store_url_of
from tests.steps import eventually, submit

pytestmark = pytest.mark.integration

MASTER = "relay-test-partners-secret"
CITIZEN = {
    "national_code": "0084575948",
    "full_name": "زهرا احمدی",
    "mobile": "0912 000 1122",
    "province": "isfahan",
    "subject": "درخواست پروانه",
    "text": "با سلام، درخواست صدور پروانه دارم.",
}


@dataclass(frozen=True)
class Partner:
    partner_id: str
    api_key: str
    path: str


@dataclass
class World:
    desk: Desk
    folder: Path
    partners: dict[str, Partner]
    hooks: Path
    messages: Path
    hook: str
    """The webhook receiver's address."""

    def received(self, name: str) -> list[dict[str, Any]]:
        """What the webhook receiver got for partner `name`, in order."""
        path = "/" + self.partners[name].path
        return [r for r in _lines(self.hooks) if r["path"] == path]

    def published(self) -> list[dict[str, Any]]:
        return [r for r in _lines(self.messages) if "message_id" in r]

    def feed(self, key: str | None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(self.desk.url("citizen") + "/api/feed", params=params, headers=headers, timeout=30)


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _add_partner(desk: Desk, name: str, unit: str, webhook: str) -> Partner:
    partner_id, key = uuid.uuid4().hex, new_api_key()
    event = PartnerAdded(
        partner_id=partner_id,
        name=name,
        unit=unit,
        webhook_url=webhook,
        key_hash=api_key_hash(key),
        key_prefix=key_prefix(key),
        added_by="test:admin",
    )
    _append(desk, partner_stream(partner_id), event, StreamState.NO_STREAM)
    return Partner(partner_id, key, webhook.rsplit("/", 1)[-1])


def _append(desk: Desk, stream: str, event: Any, expected: Any = StreamState.ANY) -> None:
    store = open_store(store_url_of(desk))
    try:
        store.append(stream, [new_event(event, actor="test")], expected)
    finally:
        store.close()


def _standard_secret(partner_id: str) -> str:
    """The partner's secret exactly as `pishkhan partners add` prints it, which a partner's
    `standardwebhooks` library takes as it is."""
    return webhook_secret(partner_id, 1, MASTER.encode())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder: Path = tmp_path_factory.mktemp("relay")
    env = {
        "PARTNERS_SECRET": MASTER,
        "RELAY_FIRST_RETRY": "0.2",
        "RELAY_MAX_WAIT": "0.5",
        "RELAY_RETRY_FOR": "3",
        "RELAY_WEBHOOK_TIMEOUT": "2",
    }
    with running_desk(folder, "postgresql", **env) as desk:
        port = free_port()
        hook = f"http://127.0.0.1:{port}"
        partners = {
            "all": _add_partner(desk, "استانداری", "", f"{hook}/all"),
            "permits": _add_partner(desk, "شهرداری", "permits", f"{hook}/permits"),
            "gone": _add_partner(desk, "سامانه قدیمی", "", f"{hook}/gone"),
            "down": _add_partner(desk, "سامانه از کار افتاده", "", f"{hook}/fail-down"),
        }
        secrets = folder / "secrets.json"
        secrets.write_text(json.dumps({p.path: _standard_secret(p.partner_id) for p in partners.values()}))
        hooks, messages = folder / "hooks.jsonl", folder / "messages.jsonl"
        module = "tests.integration.relay_clients"
        clients = [
            subprocess.Popen([sys.executable, "-m", module, "webhooks", str(port), str(hooks), str(secrets)]),
            subprocess.Popen(
                [sys.executable, "-m", module, "consumer", pika_url(desk.env["AMQP_URI"]), str(messages)]
            ),
        ]
        try:
            eventually(lambda: any(r.get("ready") for r in _lines(messages)), timeout=30)
            yield World(desk, folder, partners, hooks, messages, hook)
        finally:
            for client in clients:
                client.kill()
                client.wait()


def test_a_request_filed_through_the_gateway_reaches_a_pika_consumer_as_a_cloudevent(world: World) -> None:
    answer = httpx.post(world.desk.url("citizen") + "/api/requests", json=CITIZEN, timeout=30)
    assert answer.status_code == 201, answer.text
    code = answer.json()["tracking_code"]
    message = eventually(
        lambda: next((m for m in world.published() if m["attributes"]["subject"] == code), None)
    )
    attributes = message["attributes"]
    assert attributes["type"] == ie.SUBMITTED == message["routing_key"]
    assert attributes["source"] == ie.SOURCE and attributes["specversion"] == "1.0"
    assert message["message_id"] == attributes["id"]
    assert message["delivery_mode"] == 2  # persistent
    assert message["data"]["tracking_code"] == code and message["data"]["province"] == "isfahan"
    for private in ("0084575948", "09120001122", "زهرا", "پروانه دارم"):
        assert private not in message["raw"]


def test_each_event_reaches_the_webhook_once_by_id_across_a_relay_kill(world: World) -> None:
    codes: list[str] = []
    for n in range(24):
        codes.append(submit(world.desk, "tehran").tracking_code)
        if n == 8:
            time.sleep(0.5)  # some sent, some not
            world.desk.kill("relay")  # SIGKILL: no graceful stop
        if n == 16:
            world.desk.start_service("relay")

    def all_arrived() -> list[dict[str, Any]] | None:
        got = [r for r in world.received("all") if r["verified"] and r["event"]["subject"] in codes]
        return got if {r["event"]["subject"] for r in got} == set(codes) else None

    got = eventually(all_arrived, timeout=90)
    assert all(r["verified"] for r in world.received("all")), "a delivery failed verification"
    by_id: dict[str, dict[str, Any]] = {}
    for record in got:
        earlier = by_id.setdefault(record["id"], record)
        assert earlier["event"] == record["event"]  # a repeat is the same event under the same id
    # De-duplicated by webhook-id: one delivery per event, every event there.
    assert sorted(r["event"]["subject"] for r in by_id.values()) == sorted(codes)
    assert len({r["event"]["id"] for r in by_id.values()}) == len(codes)
    published = [m for m in world.published() if m["attributes"]["subject"] in codes]
    assert {m["attributes"]["subject"] for m in published} == set(codes)  # RabbitMQ too: none lost
    assert len({m["message_id"] for m in published}) == len(codes)


def test_a_unit_bound_partner_never_gets_another_units_request(world: World) -> None:
    mine = submit(world.desk, "tehran", unit="permits").tracking_code
    other = submit(world.desk, "tehran", unit="finance").tracking_code
    eventually(
        lambda: {mine, other} <= {r["event"]["subject"] for r in world.received("all") if r["verified"]}
    )
    eventually(lambda: any(r["event"]["subject"] == mine for r in world.received("permits") if r["verified"]))
    time.sleep(1)
    subjects = {r["event"]["subject"] for r in world.received("permits") if r["verified"]}
    assert other not in subjects
    assert all(r["event"]["data"].get("unit") == "permits" for r in world.received("permits"))
    key = world.partners["permits"].api_key
    page = eventually(lambda: (lambda a: a if a.status_code == 200 else None)(world.feed(key, limit=500)))
    feed_subjects = {e["event"]["subject"] for e in page.json()["events"]}
    assert mine in feed_subjects and other not in feed_subjects


def test_a_revoked_partner_gets_nothing_more_and_its_key_is_refused(world: World) -> None:
    gone = world.partners["gone"]
    before = submit(world.desk, "tehran").tracking_code
    eventually(lambda: any(r["event"]["subject"] == before for r in world.received("gone") if r["verified"]))
    assert world.feed(gone.api_key).status_code == 200
    _append(
        world.desk,
        partner_stream(gone.partner_id),
        PartnerRevoked(partner_id=gone.partner_id, reason="پایان قرارداد", revoked_by="test:admin"),
    )
    eventually(lambda: world.feed(gone.api_key).status_code == 401)
    after = submit(world.desk, "tehran").tracking_code
    eventually(lambda: any(r["event"]["subject"] == after for r in world.received("all") if r["verified"]))
    time.sleep(1)
    assert after not in {r["event"]["subject"] for r in world.received("gone") if r["verified"]}
    refused = world.feed(gone.api_key)
    assert refused.json()["error"]["code"] == "invalid_api_key"


def test_the_feed_pages_by_position_and_needs_a_key(world: World) -> None:
    key = world.partners["all"].api_key
    codes = [submit(world.desk, "tehran").tracking_code for _ in range(5)]

    def everything() -> list[dict[str, Any]] | None:
        events = world.feed(key, limit=500).json()["events"]
        return events if set(codes) <= {e["event"]["subject"] for e in events} else None

    whole = eventually(everything)
    pages: list[dict[str, Any]] = []
    after = 0
    while True:
        answer = world.feed(key, after=after, limit=2).json()
        assert len(answer["events"]) <= 2
        if not answer["events"]:
            break
        pages.extend(answer["events"])
        after = answer["next"]
    assert [e["position"] for e in pages] == [e["position"] for e in whole]
    assert all(
        a < b
        for a, b in zip([e["position"] for e in pages], [e["position"] for e in pages][1:], strict=False)
    )
    assert all(e["event"]["specversion"] == "1.0" for e in pages)
    via_header = httpx.get(world.desk.url("citizen") + "/api/feed", headers={"X-Api-Key": key}, timeout=30)
    assert via_header.status_code == 200
    assert world.feed(None).status_code == 401
    assert world.feed("pk_" + "x" * 32).json()["error"]["code"] == "invalid_api_key"
    assert world.feed(key, after="abc").status_code == 422


def test_a_webhook_that_keeps_failing_is_paused_and_the_rest_go_on(world: World) -> None:
    # A partner of its own, added now: its retry window starts with this test, whatever the
    # relay went through before (the kill above).
    late = _add_partner(world.desk, "سامانه کند", "", world.hook + "/fail-late")
    world.partners["late"] = late

    def paused() -> list[Any]:
        store = open_store(store_url_of(world.desk))
        try:
            stream = store.read_stream(partner_stream(late.partner_id))
            return [e for e in stream if e.type == PartnerWebhookPaused.type_name]
        finally:
            store.close()

    eventually(lambda: world.feed(late.api_key).status_code == 200)  # the relay knows it too, soon
    submit(world.desk, "tehran")
    (event,) = eventually(paused, timeout=60)
    assert "تلاش" in event.data["reason"]
    tries = len(world.received("late"))
    assert tries >= 3  # retried with back-off before giving up
    later = submit(world.desk, "tehran").tracking_code
    eventually(lambda: any(r["event"]["subject"] == later for r in world.received("all") if r["verified"]))
    time.sleep(1)
    assert len(world.received("late")) == tries  # nothing more to a paused webhook
    assert len(paused()) == 1
