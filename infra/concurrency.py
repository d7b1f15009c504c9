"""Running a few blocking calls side by side, in whichever threads the process has: green threads
inside a monkey-patched service (database and HTTP calls then yield to each other), OS threads
elsewhere (a command-line replay, a test)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def eventlet_patched() -> bool:
    """True inside a process whose threads eventlet has monkey-patched (a Nameko service)."""
    if "eventlet" not in sys.modules:
        return False
    from eventlet import patcher

    return bool(patcher.is_monkey_patched("thread"))


def run_together(tasks: Sequence[Callable[[], T]], width: int) -> list[T]:
    """Run `tasks` at most `width` at a time and return their results in order; the first
    failure is raised once all have finished or failed."""
    if len(tasks) <= 1 or width <= 1:
        return [task() for task in tasks]
    if eventlet_patched():
        import eventlet

        pool = eventlet.GreenPool(width)
        threads = [pool.spawn(task) for task in tasks]
        results: list[T] = []
        failure: BaseException | None = None
        for thread in threads:
            try:
                results.append(thread.wait())
            except Exception as error:  # noqa: BLE001 - raised below, after the others finish
                failure = failure or error
        if failure is not None:
            raise failure
        return results
    with ThreadPoolExecutor(min(width, len(tasks))) as pool:
        futures = [pool.submit(task) for task in tasks]
        return [future.result() for future in futures]
