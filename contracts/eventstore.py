"""The event-store port. Adapters live in `infra.eventstore`; all pass `tests/contract`."""

from __future__ import annotations

import abc
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from contracts.envelope import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    StreamState,
)


class EventStore(abc.ABC):
    """Streams of events with per-stream revisions and one global order (`$all`).

    Positions in `$all` increase with commit order, so a reader that has seen position
    `p` will never later find a committed event below `p`. Position 0 means "before
    the first event"; `after=0` reads from the start.
    """

    @abc.abstractmethod
    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = StreamState.ANY,
    ) -> AppendResult:
        """Append `events` atomically to `stream`.

        Raises `WrongExpectedVersion` when the stream is not at `expected_version`.
        Appending ids that are all already in this stream, in this order, returns the
        first append's result and writes nothing.
        """

    @abc.abstractmethod
    def read_stream(
        self,
        stream: str,
        from_revision: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of one stream from `from_revision` (inclusive), forwards or backwards.

        Raises `StreamNotFound` when the stream has no readable events or was deleted.
        """

    def read_streams(self, streams: Iterable[str]) -> dict[str, list[RecordedEvent]]:
        """Every readable event of each stream in `streams`, by stream name: what `read_stream`
        would show, with [] for a stream that does not exist or was deleted (no `StreamNotFound`).

        For an aggregate folded from several streams on every request (an account and its
        verification case): each answer holds every event stored before the call. Adapters that
        can read all the streams in one query (one snapshot) override this; the fallback reads
        them one after another.
        """
        found: dict[str, list[RecordedEvent]] = {}
        for stream in streams:
            try:
                found[stream] = self.read_stream(stream)
            except StreamNotFound:
                found[stream] = []
        return found

    @abc.abstractmethod
    def read_all(
        self,
        after: int = 0,
        *,
        types: Iterable[str] | None = None,
        limit: int = 1000,
    ) -> list[RecordedEvent]:
        """Up to `limit` events of `$all` with a position greater than `after`, in order."""

    def find_event(self, event_id: uuid.UUID, *, types: Iterable[str] | None = None) -> RecordedEvent | None:
        """The recorded event with this id, in whatever stream holds it; None when there is
        none, or when `read_stream` would not show it (its stream deleted, or truncated past it).

        `types` is a hint for stores with no index by event id (EventStoreDB, which searches
        `$all` for events of these types only): the caller knows the event is one of them.
        Every store honours it, so an event of another type is not found anywhere; a wrong
        hint then shows on every backend, not only in production on EventStoreDB.

        Lets a caller read one fact whose id it can compute (a deterministic event id) without
        knowing its stream. Adapters override this with a look-up by id; the fallback here
        reads `$all` from the start, which is correct but costs a scan of the whole store.
        """
        wanted = None if types is None else frozenset(types)
        if wanted is not None and not wanted:
            return None
        position = 0
        while page := self.read_all(position, types=wanted, limit=1000):
            for event in page:
                if event.id == event_id:
                    return event if self._readable(event) else None
            position = page[-1].position
        return None

    def _readable(self, event: RecordedEvent) -> bool:
        """True when `read_stream` still shows `event` (not deleted, nor truncated away)."""
        try:
            shown = self.read_stream(event.stream, event.revision, limit=1)
        except StreamNotFound:
            return False
        return bool(shown) and shown[0].id == event.id

    @abc.abstractmethod
    def wait_for_events(self, after: int, timeout: float, types: Iterable[str] | None = None) -> bool:
        """Block up to `timeout` seconds until `$all` holds an event past `after` (one of
        `types`, when given: a store may also wake for others, never sleep through these)."""

    @abc.abstractmethod
    def last_position(self) -> int:
        """The position of the newest event in `$all` (0 when empty)."""

    @abc.abstractmethod
    def stream_version(self, stream: str) -> int | None:
        """The revision of the stream's last event, or None when it does not exist."""

    @abc.abstractmethod
    def delete_stream(self, stream: str) -> None:
        """Soft-delete: the stream reads as not found; appending again starts it afresh
        with revisions continuing after the old ones (EventStoreDB semantics)."""

    @abc.abstractmethod
    def truncate_stream(self, stream: str, before_revision: int) -> None:
        """Hide the stream's events below `before_revision` from `read_stream`."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and background threads."""

    # Catch-up subscriptions are built on the primitives above, identically for every adapter.

    def subscribe_all(
        self,
        after: int = 0,
        *,
        types: Iterable[str] | None = None,
        batch: int = 500,
        idle_timeout: float = 1.0,
        stop: StopSignal | None = None,
    ) -> Iterator[RecordedEvent]:
        """Follow `$all` from `after`: yields every later event once, in position order,
        then waits for new ones. Ends when `stop` is set."""
        wanted = frozenset(types) if types is not None else None
        position = after
        while stop is None or not stop.is_set():
            # Taken before reading: with a filter, a short page proves nothing wanted lies
            # at or below this horizon, so waiting can start from there.
            horizon = self.last_position() if wanted is not None else position
            page = self.read_all(position, types=wanted, limit=batch)
            for event in page:
                position = event.position
                yield event
            if len(page) < batch:
                position = max(position, horizon)
                self.wait_for_events(position, idle_timeout)

    def subscribe_stream(
        self,
        stream: str,
        from_revision: int = 0,
        *,
        idle_timeout: float = 1.0,
        stop: StopSignal | None = None,
    ) -> Iterator[RecordedEvent]:
        """Follow one stream from `from_revision` (inclusive). Ends when `stop` is set."""
        revision = from_revision
        while stop is None or not stop.is_set():
            position = self.last_position()
            version = self.stream_version(stream)
            if version is not None and version >= revision:
                for event in self.read_stream(stream, revision):
                    revision = event.revision + 1
                    yield event
                continue
            self.wait_for_events(position, idle_timeout)


class StopSignal(Protocol):
    """Anything with `is_set()`, such as `threading.Event`."""

    def is_set(self) -> bool:
        """True once the subscriber should stop."""
        ...
