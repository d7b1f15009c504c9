"""The event envelope: what the store is given and what it gives back."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class StreamState(enum.Enum):
    """Expected-version states that are not an exact revision (EventStoreDB's names)."""

    ANY = "any"
    NO_STREAM = "no_stream"
    STREAM_EXISTS = "stream_exists"


ExpectedVersion = StreamState | int
"""`StreamState` or the exact revision of the stream's last event (revisions start at 0)."""


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended.

    `id` makes the append idempotent: appending the same ids again writes nothing and
    returns the first result. `correlation_id` defaults to the event's own id (it starts a
    conversation); `causation_id` names the event or command that caused this one.
    """

    type: str
    data: dict[str, Any]
    version: int = 1
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def correlation(self) -> uuid.UUID:
        """The correlation id, falling back to the event's own id."""
        return self.correlation_id or self.id


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored: its stream revision and its position in `$all`."""

    id: uuid.UUID
    type: str
    version: int
    stream: str
    revision: int
    position: int
    data: dict[str, Any]
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    recorded_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


STORED_DATA = "_data_text"
"""Where a store may leave an event's data as the JSON text it read (in the event's `__dict__`,
beside its fields), instead of `data`: `data` is then parsed on first use, and decoding the event
into its model (`contracts.events.EventRegistry.decode`) validates the text itself, never
building the dictionary. A replay decodes millions of events and most never need it."""


class _ParsedOnFirstUse:
    """`RecordedEvent.data` of an event whose store left its data as text (`STORED_DATA`): parsed
    once, then the event's own attribute like any other field's (a descriptor without
    `__set__`: an event made with its data finds it without a call)."""

    def __get__(self, recorded: RecordedEvent | None, owner: type | None = None) -> dict[str, Any]:
        if recorded is None:
            raise AttributeError("data")
        fields = recorded.__dict__
        data: dict[str, Any] = json.loads(fields[STORED_DATA])
        fields["data"] = data
        return data


RecordedEvent.data = _ParsedOnFirstUse()  # type: ignore[assignment]


RECORDED_AT_TEXT = "_at"
"""Where a recorded event keeps `recorded_at.isoformat()` once it is known (in its `__dict__`,
beside its fields, never one of them): a store that read exactly that text puts it there, and
every projection's `Context.at` of the event reads it instead of formatting the time again."""


@dataclass(frozen=True)
class AppendResult:
    """Where an append landed: the stream's new last revision and the last event's `$all` position."""

    stream: str
    revision: int
    position: int


class EventStoreError(Exception):
    """Base of every error the store raises on purpose."""

    code = "eventstore_error"


class TransientError(Exception):
    """A failure that goes away by itself (a server restarting, a network hiccup, a provider
    asking us to retry). Projections retry these without end instead of parking the event."""


class EventStoreUnavailable(EventStoreError, TransientError):
    """The store did not answer: unreachable, refusing the connection, or too slow."""

    code = "eventstore_unavailable"


class WrongExpectedVersion(EventStoreError):
    """The stream was not at the expected version: someone else wrote first."""

    code = "wrong_expected_version"

    def __init__(self, stream: str, expected: ExpectedVersion, actual: int | None) -> None:
        self.stream = stream
        self.expected = expected
        self.actual = actual
        shown_expected = expected.value if isinstance(expected, StreamState) else expected
        shown_actual = "no stream" if actual is None else actual
        super().__init__(f"stream {stream!r}: expected version {shown_expected}, actual {shown_actual}")


class StreamNotFound(EventStoreError):
    """The stream has no events, or it was deleted."""

    code = "stream_not_found"

    def __init__(self, stream: str) -> None:
        self.stream = stream
        super().__init__(f"stream {stream!r} not found")


class DuplicateEventIds(EventStoreError):
    """Some, but not all, of the event ids were already stored, or stored elsewhere."""

    code = "duplicate_event_ids"

    def __init__(self, stream: str, ids: list[uuid.UUID]) -> None:
        self.stream = stream
        self.ids = ids
        super().__init__(
            f"stream {stream!r}: event ids already stored at another place: {[str(i) for i in ids]}"
        )
