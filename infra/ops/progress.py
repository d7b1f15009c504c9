"""A progress line for long operations: done/total, events per second, time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Prints `label  [####----]  done/total  rate/s  ETA` to `out`, at most every `every` s.

    On a terminal the line is rewritten in place; otherwise (a log file, a test) one line per
    update is printed, so the output stays readable.
    """

    def __init__(
        self, label: str, total: int, *, start: int = 0, out: TextIO | None = None, every: float = 0.5
    ) -> None:
        self.label = label
        self.total = max(total, 0)
        self.start = start
        self.done = start
        self.events = 0
        self.out = out or sys.stderr
        self.every = every
        self.began = time.monotonic()
        self._last = 0.0
        self._tty = self.out.isatty()

    def update(self, done: int, events: int) -> None:
        """`done`: how far along (a position); `events`: events applied since the start."""
        self.done, self.events = done, events
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._print(final=False)

    def finish(self) -> None:
        """Print the final line."""
        self._print(final=True)

    def line(self) -> str:
        """The current progress as text."""
        elapsed = max(time.monotonic() - self.began, 1e-9)
        rate = self.events / elapsed
        span = max(self.total - self.start, 1)
        fraction = min(max((self.done - self.start) / span, 0.0), 1.0) if self.total > self.start else 1.0
        bar = "#" * int(fraction * 24)
        position_rate = (self.done - self.start) / elapsed
        left = (self.total - self.done) / position_rate if position_rate > 0 else 0.0
        return (
            f"{self.label}  [{bar:<24}] {fraction:6.1%}  {self.done:,}/{self.total:,}  "
            f"{rate:,.0f} events/s  {_clock(left)} left"
        )

    def _print(self, *, final: bool) -> None:
        text = self.line()
        if self._tty:
            self.out.write("\r" + text + ("\n" if final else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
