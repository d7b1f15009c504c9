"""A sliding-window limit on failed look-ups per client address (against enumeration)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class AttemptLimiter:
    """At most `limit` failures per `window` seconds per key; old failures fall out."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def blocked(self, key: str) -> bool:
        """True when `key` used up its failures for now."""
        with self._lock:
            blocked = len(self._recent(key)) >= self.limit
            if not self._failures[key]:
                del self._failures[key]  # keep memory bounded by active keys
            return blocked

    def failed(self, key: str) -> None:
        """Count one failure of `key`."""
        with self._lock:
            self._recent(key).append(self.clock())
