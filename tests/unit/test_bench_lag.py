"""bench.lag's watcher: which SMS is a submission's, and that no 201 wrk wrote last is missed."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import lag
from services.notify.templates import render, template

CODE = "459344502981"
MOBILE = "09120000005"


def _outbox(path: Path, *texts: tuple[str, str]) -> Path:
    """An SMS provider's outbox holding `texts` (text, sent_at) to MOBILE, in that order."""
    with sqlite3.connect(path) as conn:
        conn.execute('CREATE TABLE sms_outbox (id INTEGER PRIMARY KEY, "to" TEXT, text TEXT, sent_at TEXT)')
        conn.executemany(
            'INSERT INTO sms_outbox ("to", text, sent_at) VALUES (?, ?, ?)',
            [(MOBILE, text, sent_at) for text, sent_at in texts],
        )
    conn.close()
    return path


def test_an_sms_names_the_tracking_code_it_was_sent_for() -> None:
    received = render(template("request_received").text, tracking_code=CODE)
    assert lag.tracking_codes(received) == {CODE}
    assert lag.tracking_codes(template("citizen_registered").text) == set()


def test_the_submission_s_sms_is_the_one_naming_its_code_not_the_welcome_before_it(tmp_path: Path) -> None:
    # The citizen's account got its welcome SMS on the same mobile when it was registered.
    welcome = (template("citizen_registered").text, "2026-12-07T19:31:46.941101+00:00")
    received = (
        render(template("request_received").text, tracking_code=CODE),
        "2026-12-07T19:32:25.960909+00:00",
    )
    outbox = _outbox(tmp_path / "outbox.db", welcome, received)
    watcher = lag.Watcher("sqlite://", outbox, tmp_path / "answers.tsv", {"r1": MOBILE}, poll=0.01)
    watcher.codes = {CODE: "r1"}  # its RequestSubmitted, as the watcher read it from the store

    watcher._read_outbox()

    assert watcher.seen["sms"] == {"r1": datetime(2026, 12, 7, 19, 32, 25, 960909, tzinfo=UTC).timestamp()}


def test_an_sms_whose_submission_is_not_read_yet_is_matched_at_a_later_look(tmp_path: Path) -> None:
    received = (render(template("request_received").text, tracking_code=CODE), "2026-12-07T19:32:25+00:00")
    outbox = _outbox(tmp_path / "outbox.db", received)
    watcher = lag.Watcher("sqlite://", outbox, tmp_path / "answers.tsv", {"r1": MOBILE}, poll=0.01)
    watcher._read_outbox()
    assert watcher.seen["sms"] == {}
    watcher.codes[CODE] = "r1"
    watcher._read_outbox()
    assert set(watcher.seen["sms"]) == {"r1"}


class _InstantViews(lag.Watcher):
    """A watcher whose every look finds each answered request in every view at once."""

    def _look(self) -> None:
        with self.lock:
            for seen in self.seen.values():
                for request_id in self.answered:
                    seen.setdefault(request_id, time.time())


def test_a_201_written_after_the_watcher_s_last_look_is_waited_for(tmp_path: Path) -> None:
    answers = tmp_path / "answers.tsv"
    answers.write_text("")
    watcher = _InstantViews("sqlite://", tmp_path / "outbox.db", answers, {}, poll=0.3)
    watcher.thread.start()
    time.sleep(0.05)  # the watcher looked (nothing answered yet) and sleeps until its next look
    with answers.open("a") as out:  # wrk's last 201, then wrk exits
        out.write(f"r1\t{time.time():.6f}\n")

    watcher.drain(timeout=5)

    assert set(watcher.answered) == {"r1"}
    assert {view: figures["missing"] for view, figures in watcher.figures().items()} == {
        "inbox": 0,
        "tracking": 0,
        "sms": 0,
    }
    assert not watcher.thread.is_alive()
