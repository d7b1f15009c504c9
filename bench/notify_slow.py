"""A slow SMS recipient must not hold up anyone else's SMS.

    .venv/bin/python -m bench.notify_slow [--messages 200] [--rate 20] [--slow-every 20]
                                          [--slow-seconds 4.5]

Starts a whole desk on a scratch PostgreSQL database and RabbitMQ vhost with the SMS provider
simulator as its provider (`SMS_PROVIDER=http`, `SMS_TIMEOUT` 5 s), told to answer one number
only after `slow_seconds` (its `slow_to` mode: a recipient whose operator takes about
`SMS_TIMEOUT` to answer). Offers `messages` submissions through the citizen API at `rate` a
second on a fixed schedule (a thread each, so a slow answer delays no other submission); one in
`slow_every` is by the slow number, each other by a number of its own, and each submission's
`request_received` SMS goes to its number. Measures, for the OTHER recipients, from sending
the submission until the simulator took its SMS (the time it stores with the message): p50,
p95, p99, max, and how many never arrived. Baseline: the submissions' own latency.
Target: the other recipients' p99 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from bench.common import desk_on_postgresql, emit, latency_ms, log, machine, submission

SLOW = "09130000000"
TARGET_P99_MS = 1000.0


def other(index: int) -> str:
    """The mobile number of submission `index` when it is not by the slow number."""
    return f"0913{index + 1:07d}"


def _call(url: str, body: Any | None = None, timeout: float = 30) -> Any:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


class Offer:
    """Submissions sent on a fixed schedule: when each was sent, to which number its SMS goes."""

    def __init__(self, citizen_url: str, messages: int, rate: float, slow_every: int) -> None:
        self.url = citizen_url + "/api/requests"
        self.messages, self.rate, self.slow_every = messages, rate, slow_every
        self.sent: dict[str, float] = {}  # the other recipients' numbers → when their submission left
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def mobile(self, index: int) -> str:
        return SLOW if index % self.slow_every == 0 else other(index)

    def _submit(self, index: int) -> None:
        body = submission(index) | {"mobile": self.mobile(index)}
        began = time.time()
        try:
            _call(self.url, body)
        except Exception as error:  # noqa: BLE001 - counted and shown
            with self.lock:
                self.errors.append(f"{type(error).__name__}: {error}")
            return
        with self.lock:
            self.latencies.append(time.time() - began)
            if self.mobile(index) != SLOW:
                self.sent[self.mobile(index)] = began

    def run(self) -> None:
        began = time.perf_counter()
        with ThreadPoolExecutor(32) as pool:
            for index in range(self.messages):
                delay = began + index / self.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._submit, index)


def arrivals(sms_url: str) -> dict[str, list[float]]:
    """When the simulator took each number's SMS (wall clock), by number."""
    found: dict[str, list[float]] = {}
    for message in _call(sms_url + "/admin/messages")["messages"]:
        found.setdefault(message["to"], []).append(datetime.fromisoformat(message["at"]).timestamp())
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.notify_slow", description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200, help="submissions, each with its SMS")
    parser.add_argument("--rate", type=float, default=20.0, help="submissions offered per second")
    parser.add_argument(
        "--slow-every", type=int, default=20, help="one submission in this many is by the slow number"
    )
    parser.add_argument(
        "--slow-seconds", type=float, default=4.5, help="how long the slow number's SMS takes"
    )
    parser.add_argument("--sms-timeout", type=float, default=5.0, help="SMS_TIMEOUT of the desk")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the last SMS")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    summary: dict[str, Any] = {
        "benchmark": "notify_slow",
        "messages": args.messages,
        "rate": args.rate,
        "slow_every": args.slow_every,
        "slow_seconds": args.slow_seconds,
        "sms_timeout": args.sms_timeout,
        "machine": machine(),
    }
    env = {"SMS_PROVIDER": "http", "SMS_TIMEOUT": str(args.sms_timeout)}
    with desk_on_postgresql(**env) as (desk, _url, _folder):
        sms_url = desk.env["SMS_HTTP_URL"]
        _call(sms_url + "/admin/mode", {"slow_to": {SLOW: args.slow_seconds}})
        offer = Offer(desk.url("citizen"), args.messages, args.rate, args.slow_every)
        log(f"offering {args.messages} submissions at {args.rate}/s, one in {args.slow_every} by {SLOW}")
        offer.run()
        log(f"  {len(offer.latencies)} answered, {len(offer.errors)} errors; waiting for the SMS …")
        deadline = time.monotonic() + args.drain
        while True:
            found = arrivals(sms_url)
            if all(mobile in found for mobile in offer.sent) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    delays = [found[mobile][0] - at for mobile, at in offer.sent.items() if mobile in found]
    summary["other_recipients"] = {
        **latency_ms([max(0.0, delay) for delay in delays]),
        "sms": len(offer.sent),
        "missing": len(offer.sent) - len(delays),
    }
    summary["slow_recipient_sms_arrived"] = len(found.get(SLOW, []))
    summary["submissions"] = {
        **latency_ms(offer.latencies),
        "errors": len(offer.errors),
        **({"first_errors": offer.errors[:5]} if offer.errors else {}),
    }
    summary["target"] = {"other_recipients_p99_ms": TARGET_P99_MS}
    others = summary["other_recipients"]
    summary["met"] = {"other_recipients_p99_ms": others["p99_ms"] <= TARGET_P99_MS and not others["missing"]}
    summary["loadavg_1m_at_end"] = round(os.getloadavg()[0], 2)
    summary["elapsed_s"] = round(time.perf_counter() - began, 1)
    emit(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
