"""A steady load through both gateways, and a ledger of the work they acknowledged.

Citizens submit requests through the citizen gateway's JSON API (signed in, with CSRF token and
an `Idempotency-Key` reused on retry, as a careful client does); clerks number each acknowledged
request and post its final reply through the back-office API. Errors while something is down
are expected and only counted: the invariants concern acknowledged (2xx) work.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.run import GATEWAYS, SIMULATORS, Desk
from gateway.web.auth import Principal
from tests.desk import DATABASE_VARIABLES, free_port, signed_in_client

PROVINCE = "isfahan"
CITIZENS = 2
CLERKS = 2
PAUSE = 0.8  # between one citizen's submissions: a steady trickle the busy machine sustains, not a benchmark
NATIONAL_CODES = ("0084575948", "0013542419")


@dataclass
class Ledger:
    """What the gateways answered with a 2xx, and when."""

    submitted: dict[str, float] = field(default_factory=dict)  # request id → when it was acknowledged
    numbers: dict[str, set[str]] = field(default_factory=dict)  # request id → numbers answered
    replied: set[str] = field(default_factory=set)
    errors: Counter[str] = field(default_factory=Counter)
    successes: list[tuple[float, float]] = field(default_factory=list)  # (sent, answered) per submission
    lock: threading.Lock = field(default_factory=threading.Lock)

    def first_success_after(self, moment: float) -> float | None:
        """When the first submission sent after `moment` was acknowledged, if one was."""
        with self.lock:
            return min((done for sent, done in self.successes if sent >= moment), default=None)


def _error(answer: httpx.Response) -> str:
    try:
        return f"{answer.status_code} {answer.json()['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return str(answer.status_code)


class Load:
    """Citizen and clerk threads running until `stop`."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.ledger = Ledger()
        self._stop = threading.Event()
        self._to_number: queue.Queue[str] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._citizen, args=(n,), daemon=True) for n in range(CITIZENS)
        ] + [threading.Thread(target=self._clerk, args=(n,), daemon=True) for n in range(CLERKS)]

    def start(self) -> None:
        """Start every thread."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop and wait for every thread (each finishes the call it is in)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _failed(self, answer: httpx.Response | Exception) -> None:
        code = _error(answer) if isinstance(answer, httpx.Response) else type(answer).__name__
        with self.ledger.lock:
            self.ledger.errors[code] += 1

    def _post(self, client: httpx.Client, path: str, **kwargs: object) -> httpx.Response | None:
        try:
            return client.post(path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as error:  # a gateway's connection dropped: an outage, counted
            self._failed(error)
            time.sleep(0.2)
            return None

    def _citizen(self, index: int) -> None:
        national_code = NATIONAL_CODES[index % len(NATIONAL_CODES)]
        citizen = Principal(
            account_id=f"faults-citizen-{index}",
            kind="citizen",
            display_name="شهروند آزمون",
            national_code=national_code,
            mobile=f"0912100{index:04d}",
        )
        with signed_in_client(self.desk, citizen, timeout=30) as client:
            number = 0
            while not self._stop.is_set():
                number += 1
                body = {
                    "national_code": national_code,
                    "full_name": "زهرا احمدی",
                    "mobile": f"0912100{index:04d}",
                    "province": PROVINCE,
                    "subject": f"درخواست {index}-{number}",
                    "text": "متن درخواست در آزمون خرابی",
                }
                key = uuid.uuid4().hex
                for _ in range(5):  # the same key again: a retry never makes a second request
                    sent = time.monotonic()
                    answer = self._post(client, "/api/requests", json=body, headers={"Idempotency-Key": key})
                    if answer is not None and answer.status_code == 201:
                        request_id = answer.json()["request_id"]
                        with self.ledger.lock:
                            self.ledger.submitted[request_id] = time.monotonic()
                            self.ledger.successes.append((sent, time.monotonic()))
                        self._to_number.put(request_id)
                        break
                    if answer is not None:
                        self._failed(answer)
                    if self._stop.wait(0.2):
                        return
                self._stop.wait(PAUSE)

    def _clerk(self, index: int) -> None:
        clerk = Principal(
            account_id=f"faults-clerk-{index}",
            kind="staff",
            display_name="کارشناس دبیرخانه",
            roles=("clerk",),
            province=PROVINCE,
        )
        with signed_in_client(self.desk, clerk, timeout=30) as client:
            while not self._stop.is_set():
                try:
                    request_id = self._to_number.get(timeout=0.5)
                except queue.Empty:
                    continue
                if not self._work_on(client, request_id):
                    self._to_number.put(request_id)  # later: the inbox may not show it yet
                    self._stop.wait(0.1)

    def _work_on(self, client: httpx.Client, request_id: str) -> bool:
        """Number the request (unless done) and post its final reply; True when both are done."""
        with self.ledger.lock:
            numbered = request_id in self.ledger.numbers
        if not numbered:
            answer = self._post(client, f"/api/requests/{request_id}/number")
            if answer is None:
                return False
            if answer.status_code == 201:
                with self.ledger.lock:
                    self.ledger.numbers.setdefault(request_id, set()).add(
                        answer.json()["registration_number"]
                    )
            elif answer.status_code == 409:  # an earlier try went through though its answer was lost
                with self.ledger.lock:
                    self.ledger.numbers.setdefault(request_id, set())
            else:
                self._failed(answer)
                return False
        answer = self._post(
            client,
            f"/api/requests/{request_id}/replies",
            json={"body": "پاسخ نهایی درخواست."},
            headers={"Idempotency-Key": f"reply-{request_id}"},
        )
        if answer is None:
            return False
        if answer.status_code == 201:
            with self.ledger.lock:
                self.ledger.replied.add(request_id)
            return True
        self._failed(answer)
        # Done only when a final reply is already there; the inbox may not show the number yet.
        return _error(answer) == "409 already_final"


@contextlib.contextmanager
def desk_under_load(folder: Path, amqp_uri: str, database_url: str) -> Iterator[tuple[Desk, Load, str]]:
    """A whole desk on the given broker and database (its SMS outbox on SQLite in `folder`) under
    the steady load, started and stopped; the desk, the load and the outbox's URL."""
    outbox_url = f"sqlite:///{folder / 'outbox.db'}"
    variables = {
        **{k: v for k, v in os.environ.items() if k not in DATABASE_VARIABLES},
        "AMQP_URI": amqp_uri,
        "SMS_OUTBOX_URL": outbox_url,
        "PISHKHAN_VAR": str(folder),
        "EVENTSTORE_URL": database_url,
        "DATABASE_URL": database_url,
        # The outbox answers in milliseconds: a claim older than this was abandoned by a crash.
        "NOTIFY_LEASE": "10",
    }
    desk = Desk(
        env=variables,
        ports={g: free_port() for g in GATEWAYS},
        simulator_ports={s: free_port() for s in SIMULATORS},
        log_dir=folder / "log",
    )
    load: Load | None = None
    try:
        desk.start()
        load = Load(desk)
        load.start()
        yield desk, load, outbox_url
    finally:
        if load is not None:
            load.stop()
        desk.stop()
