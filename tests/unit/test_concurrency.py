"""Blocking calls side by side: results in order, overlap, and a failure that is not lost."""

from __future__ import annotations

import threading
import time

import pytest

from infra.concurrency import run_together


def test_results_come_back_in_the_order_of_the_tasks() -> None:
    tasks = [lambda n=n: (time.sleep(0.01 * (5 - n)), n)[1] for n in range(5)]
    assert run_together(tasks, width=5) == [0, 1, 2, 3, 4]


def test_tasks_overlap_up_to_the_width_and_no_further() -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def task() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    run_together([task] * 9, width=3)
    assert peak == 3


def test_a_failure_is_raised_after_the_others_have_finished() -> None:
    finished: list[int] = []

    def fails() -> None:
        raise ValueError("provider down")

    def slow() -> None:
        time.sleep(0.05)
        finished.append(1)

    with pytest.raises(ValueError, match="provider down"):
        run_together([fails, slow, slow], width=3)
    assert finished == [1, 1]
