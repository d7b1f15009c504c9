"""A service for the RPC client's tests: answers, raises, or answers late."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from infra.nameko_glue import rpc


class Echo:
    name = "echo"

    @rpc  # type: ignore[misc]
    def echo(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"args": args, "kwargs": kwargs, "at": dt.datetime(2026, 12, 5, 1, 2, 3, tzinfo=dt.UTC)}

    @rpc  # type: ignore[misc]
    def fail(self) -> None:
        raise ValueError("broken on purpose")

    @rpc  # type: ignore[misc]
    def slow(self, seconds: float) -> str:
        time.sleep(seconds)
        return "late"
