"""Projection lag at a steady rate of submissions through the citizen gateway.

    .venv/bin/python -m bench.lag [--rate 100] [--seconds 30] [--poll-ms 10]

Starts a whole desk on a scratch PostgreSQL database and RabbitMQ vhost and offers `rate`
submissions a second on a fixed schedule through `wrk` (bench/wrk.py; up to 64 in flight, so a
slow answer delays no other submission) by signed-in citizens, each with a mobile number of its
own. wrk writes each 201's request id and time to a file as it comes. From that time it measures:
- the secretariat inbox: until the projection that fills `secretariat_cases` (the clerk's
  cartable) has applied its `RequestSubmitted` (its checkpoint, saved in the same transaction
  as the row, reached the event's position);
- the citizen's tracking view: the same for the projection that fills `requests_cartable` and
  `requests_history` (what tracking reads);
- the SMS: until the provider got it (`sent_at` the outbox provider wrote for the message that
  names the request's tracking code, to the mobile the submission gave: each citizen's account
  got its welcome SMS at registration on that mobile too, so the first message to it is no sign).
A watcher thread reads that file, the submissions stored since its last look and the two
checkpoints every `poll_ms` (the resolution; three indexed queries, where reading the tables
themselves scanned one 100 times a second). Baseline: the submissions' own latency in the same
run (wrk's, from sending).
Targets: p99 < 300 ms for the read models, < 1 s for the SMS.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import wrk
from bench.common import desk_on_postgresql, emit, latency_ms, log, machine
from contracts.persian import latin_digits

TARGET_MS = {"read_models_p99": 300, "sms_p99": 1000}
VIEWS = {"inbox": "secretariat.cases", "tracking": "requests.citizen_view"}
"""The projection that shows a new request in each read model: it is there once the
projection's checkpoint reached the request's `RequestSubmitted`."""
NEW_SUBMISSIONS = sa.text(
    "SELECT stream, position, CAST(data AS json) ->> 'tracking_code' FROM es_events"
    " WHERE type = 'RequestSubmitted' AND position > :after"
)
CHECKPOINTS = sa.text("SELECT name, position FROM projection_checkpoints WHERE name IN :names").bindparams(
    sa.bindparam("names", expanding=True)
)


OUTBOX_POLL_S = 0.25
"""How often the watcher reads the SMS provider's outbox. Its rows carry the time each message
was taken (`sent_at`), so reading them late changes no figure and saves opening the SQLite file
the provider writes to 200 times a second."""

_TRACKING_CODE = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def tracking_codes(text: str) -> set[str]:
    """The tracking codes an SMS names (12 digits, printed in Persian digits between bidi
    isolates): a submission's SMS names its request's; the welcome SMS names none."""
    return set(_TRACKING_CODE.findall(latin_digits(text)))


class Watcher:
    """Notes when each submitted request shows up in each read model and at the SMS provider."""

    def __init__(self, url: str, outbox: Path, answers: Path, phones: dict[str, str], poll: float) -> None:
        self.engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
        self.outbox, self.answers, self.poll = outbox, answers, poll
        self.requests = {phone: request_id for request_id, phone in phones.items()}
        self.answered: dict[str, float] = {}  # request id → wall time of its 201
        self.seen: dict[str, dict[str, float]] = {view: {} for view in (*VIEWS, "sms")}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lag-watcher", daemon=True)
        self._last_sms, self._offset, self._unread = 0, 0, ""
        self._reading = threading.Lock()
        self._after, self._submitted = 0, dict[str, int]()  # request id → its RequestSubmitted's position
        self.codes: dict[str, str] = {}  # tracking code → request id, from the RequestSubmitted
        self._texted: dict[str, tuple[str, float]] = {}  # code → (mobile, sent_at) not matched yet

    def _pending(self, view: str) -> list[str]:
        with self.lock:
            return [r for r in self.answered if r not in self.seen[view]]

    def _run(self) -> None:
        next_outbox = 0.0
        while not self.stop.is_set():
            self._read_answers()
            self._look()
            if time.monotonic() >= next_outbox:  # its rows carry their own time: no hurry
                self._read_outbox()
                next_outbox = time.monotonic() + OUTBOX_POLL_S
            time.sleep(self.poll)

    def _look(self) -> None:
        """The submissions stored since the last look, and which of them each view shows now."""
        with self.engine.connect() as conn:
            for stream, position, code in conn.execute(NEW_SUBMISSIONS, {"after": self._after}):
                self._submitted[stream.removeprefix("request-")] = position
                self.codes[code] = stream.removeprefix("request-")
                self._after = max(self._after, position)
            rows = conn.execute(CHECKPOINTS, {"names": list(VIEWS.values())}).all()
        reached: dict[str, int] = {name: position for name, position in rows}
        now = time.time()
        for view, projection in VIEWS.items():
            seen, done = self.seen[view], reached.get(projection, 0)
            for request_id, position in self._submitted.items():
                if position <= done and request_id not in seen:
                    seen[request_id] = now
        self._submitted = {
            r: p for r, p in self._submitted.items() if any(r not in self.seen[v] for v in VIEWS)
        }

    def _read_answers(self) -> None:
        """The 201s wrk wrote since the last look (a line at a time; the last may be unfinished).
        Both the watcher and `drain` call it: one at a time."""
        with self._reading:
            if not self.answers.exists():
                return
            with self.answers.open(encoding="ascii") as answers:
                answers.seek(self._offset)
                text = answers.read()
                self._offset = answers.tell()
            lines = (self._unread + text).split("\n")
            self._unread = lines.pop()
        with self.lock:
            for line in lines:
                request_id, at = line.split("\t")
                self.answered.setdefault(request_id, float(at))

    def _read_outbox(self) -> None:
        if not self.outbox.exists():
            return
        with sqlite3.connect(self.outbox, timeout=5) as conn:
            try:
                rows = conn.execute(
                    'SELECT id, "to", text, sent_at FROM sms_outbox WHERE id > ? ORDER BY id',
                    (self._last_sms,),
                ).fetchall()
            except sqlite3.OperationalError:  # the provider has not made its table yet
                return
        for row_id, phone, text, sent_at in rows:
            self._last_sms = row_id
            for code in tracking_codes(text):
                self._texted.setdefault(code, (phone, datetime.fromisoformat(sent_at).timestamp()))
        self._match_sms()

    def _match_sms(self) -> None:
        """Each SMS naming a known tracking code, for its request when it went to the mobile the
        submission gave. A code not known yet (its RequestSubmitted stored after the last look)
        waits for a later look."""
        for code, (phone, sent_at) in list(self._texted.items()):
            request_id = self.codes.get(code)
            if request_id is None:
                continue
            del self._texted[code]
            if self.requests.get(phone) == request_id:
                self.seen["sms"].setdefault(request_id, sent_at)

    def drain(self, timeout: float) -> None:
        """Wait (bounded) until every answered request was seen everywhere, then stop. Called
        once wrk has exited: the answers it wrote last are read here first, since the watcher may
        not have looked since (it stopped at once when all it had read were seen, and the 201s
        read after its last look were counted missing)."""
        deadline = time.monotonic() + timeout
        self._read_answers()
        while time.monotonic() < deadline and any(self._pending(v) for v in self.seen):
            time.sleep(0.1)
        self.stop.set()
        self.thread.join(timeout=5)
        self.engine.dispose()

    def figures(self) -> dict[str, Any]:
        """Lag percentiles per view and how many never showed up."""
        result: dict[str, Any] = {}
        for view, seen in self.seen.items():
            lags = [max(0.0, seen[r] - t) for r, t in self.answered.items() if r in seen]
            result[view] = {**latency_ms(lags), "missing": len(self.answered) - len(lags)}
        return result


CONNECTIONS = 64
"""Submissions in flight at most; a slot that finds every connection busy waits for one."""
CITIZENS = 1000


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.lag", description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="submissions offered per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--poll-ms", type=float, default=10.0, help="how often the watcher looks")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for stragglers")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    summary: dict[str, Any] = {"benchmark": "lag", "rate": args.rate, "machine": machine()}
    with desk_on_postgresql() as (desk, url, folder):
        prepared = wrk.prepare(
            desk, folder / "submissions.tsv", round(args.rate * (args.seconds + 1)), CITIZENS, 0
        )
        answers = folder / "answers.tsv"
        watcher = Watcher(url, folder / "outbox.db", answers, prepared.mobiles, args.poll_ms / 1000)
        watcher.thread.start()
        log(f"offering {args.rate}/s for {args.seconds}s")
        summary["submissions"] = wrk.run(desk, prepared, CONNECTIONS, args.seconds, args.rate, answers)
        log(f"  {summary['submissions']}; waiting for the read models and the SMS …")
        watcher.drain(args.drain)
        summary["lag"] = watcher.figures()
        # A request id not foretold by its Idempotency-Key means wrk sent the headers wrong.
        summary["unforeseen_request_ids"] = len(set(watcher.answered) - set(prepared.mobiles))
    summary["poll_ms"] = args.poll_ms
    summary["target_ms"] = TARGET_MS
    lag = summary["lag"]
    summary["met"] = {
        "read_models_p99": max(lag["inbox"]["p99_ms"], lag["tracking"]["p99_ms"])
        < TARGET_MS["read_models_p99"]
        and not (lag["inbox"]["missing"] or lag["tracking"]["missing"]),
        "sms_p99": lag["sms"]["p99_ms"] < TARGET_MS["sms_p99"] and not lag["sms"]["missing"],
    }
    summary["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    summary["elapsed_s"] = round(time.perf_counter() - began, 1)
    emit(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
