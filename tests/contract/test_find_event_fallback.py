"""The port's own `find_event` (a scan of `$all`), for adapters that do not override it: it keeps
the same contract, checked here through a wrapper that forwards everything else."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import pytest

from contracts.envelope import AppendResult, ExpectedVersion, NewEvent, RecordedEvent, StreamState
from contracts.eventstore import EventStore
from tests.contract import test_eventstore as contract


class _ThroughThePort(EventStore):
    """`inner` with every abstract method forwarded and `find_event` left to the port."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner

    def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: ExpectedVersion = StreamState.ANY
    ) -> AppendResult:
        return self.inner.append(stream, events, expected_version)

    def read_stream(
        self,
        stream: str,
        from_revision: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        return self.inner.read_stream(stream, from_revision, backwards=backwards, limit=limit)

    def read_all(
        self, after: int = 0, *, types: Iterable[str] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        return self.inner.read_all(after, types=types, limit=limit)

    def wait_for_events(self, after: int, timeout: float, types: Iterable[str] | None = None) -> bool:
        return self.inner.wait_for_events(after, timeout, types)

    def last_position(self) -> int:
        return self.inner.last_position()

    def stream_version(self, stream: str) -> int | None:
        return self.inner.stream_version(stream)

    def delete_stream(self, stream: str) -> None:
        self.inner.delete_stream(stream)

    def truncate_stream(self, stream: str, before_revision: int) -> None:
        self.inner.truncate_stream(stream, before_revision)


@pytest.mark.parametrize(
    "check",
    [
        contract.test_find_event_finds_an_event_by_id_in_its_stream,
        contract.test_find_event_of_an_unknown_id_is_none,
        contract.test_find_event_honours_the_types_hint,
        contract.test_find_event_does_not_find_what_read_stream_hides,
    ],
    ids=lambda check: check.__name__.removeprefix("test_find_event_"),
)
def test_the_ports_scan_keeps_the_find_event_contract(
    store: EventStore, check: Callable[[EventStore], None]
) -> None:
    check(_ThroughThePort(store))
