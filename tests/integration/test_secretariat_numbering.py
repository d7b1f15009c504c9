"""Registration numbers under load: many clerks, two secretariat processes, thousands of requests,
every request asked for twice at once — no gap, no duplicate, one number per request."""

from __future__ import annotations

import queue
import random
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.events import new_event
from contracts.requests import Applicant, RequestSubmitted
from deploy.run import ROOT, Desk, service_command
from infra.eventstore import open_store
from services.secretariat.numbering import book_stream, jalali_year
from tests.desk import running_desk

pytestmark = pytest.mark.integration

REQUESTS = {"tehran": 1000, "qom": 500}
CLERKS = 10


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("numbering"), "postgresql") as running:
        yield running


@pytest.fixture
def second_secretariat(desk: Desk) -> Iterator[subprocess.Popen[bytes]]:
    """Another `nameko run` of the secretariat on the same RabbitMQ vhost and database."""
    with open(Path(desk.log_dir) / "secretariat-2.log", "ab") as log:
        process = subprocess.Popen(
            service_command("secretariat"), cwd=ROOT, env=dict(desk.env), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _submit_all(desk: Desk) -> dict[str, str]:
    """Submissions appended as the requests service would (this test is about numbering)."""
    store = open_store(desk.env["EVENTSTORE_URL"])
    province_of: dict[str, str] = {}
    try:
        for province, count in REQUESTS.items():
            for _ in range(count):
                request_id = uuid.uuid4().hex
                event = RequestSubmitted(
                    request_id=request_id,
                    tracking_code=str(uuid.uuid4().int)[:12],
                    applicant=Applicant(national_code="0084575948", full_name="آزمون", mobile="09120000000"),
                    province=province,
                    subject="درخواست",
                    text="متن",
                    submitted_at=datetime.now(UTC).isoformat(),
                )
                store.append(f"request-{request_id}", [new_event(event)])
                province_of[request_id] = province
    finally:
        store.close()
    return province_of


def _staff(province: str, index: int) -> dict[str, Any]:
    return {"account_id": f"clerk-{province}-{index}", "roles": ["clerk"], "province": province}


def test_many_clerks_on_two_processes_number_without_gap_or_duplicate(
    desk: Desk, second_secretariat: subprocess.Popen[bytes]
) -> None:
    desk.kill("notify")  # thousands of SMS are not this test's business; it keeps the CPU for numbering
    province_of = _submit_all(desk)
    admin = {"account_id": "admin", "roles": ["admin"]}
    config = {"AMQP_URI": desk.env["AMQP_URI"]}
    with ClusterRpcProxy(config, timeout=60) as rpc:
        deadline = time.monotonic() + 90
        while True:  # until the read model holds every submission
            page = rpc.secretariat.cartable({"staff": admin, "folder": "awaiting", "limit": 1})
            if page["ok"] and page["result"]["counts"]["awaiting"] == len(province_of):
                break
            assert time.monotonic() < deadline, "the inbox did not fill up"
            time.sleep(0.5)

    work: queue.Queue[str] = queue.Queue()
    attempts = list(province_of) * 2  # every request asked for by two clerks
    random.Random(7).shuffle(attempts)
    for request_id in attempts:
        work.put(request_id)
    numbers: list[tuple[str, str, int]] = []
    refusals: Counter[str] = Counter()
    lock = threading.Lock()

    def clerk(index: int) -> None:
        with ClusterRpcProxy(config, timeout=60) as rpc:
            while True:
                try:
                    request_id = work.get_nowait()
                except queue.Empty:
                    return
                province = province_of[request_id]
                answer = rpc.secretariat.register(
                    {"request_id": request_id, "staff": _staff(province, index)}
                )
                with lock:
                    if answer["ok"]:
                        numbers.append((province, request_id, answer["result"]["sequence"]))
                    else:
                        refusals[answer["error"]["code"]] += 1

    threads = [threading.Thread(target=clerk, args=(n,)) for n in range(CLERKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert second_secretariat.poll() is None, "the second secretariat process died"
    assert refusals == Counter({"already_numbered": len(province_of)})
    assert sorted(r for _, r, _ in numbers) == sorted(province_of)  # each request exactly once
    store = open_store(desk.env["EVENTSTORE_URL"])
    try:
        for province, count in REQUESTS.items():
            given = sorted(s for p, _, s in numbers if p == province)
            assert given == list(range(1, count + 1))
            book = store.read_stream(book_stream(province, jalali_year()))
            assert [e.data["sequence"] for e in book] == list(range(1, count + 1))
            assert len({e.data["request_id"] for e in book}) == count
    finally:
        store.close()
