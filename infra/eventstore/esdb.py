"""The event store on EventStoreDB (KurrentDB), through esdbclient's gRPC client.

The envelope travels as EventStoreDB's own fields where there is one (event id, event type,
stream revision, commit position, created time) and as JSON otherwise: the data is the event's
JSON body, and the custom metadata is `{"version", "correlation_id", "causation_id", "meta", "hash"}`
with the caller's `NewEvent.metadata` under `"meta"` and the event's hash-chain link (see
`infra.ops.hashchain`) under `"hash"`. Finding the predecessor's hash costs one backwards read
of the stream per append; with `ANY` a concurrent writer to the same stream can make two events
chain to the same predecessor (`pishkhan integrity` checks the SQL stores).

Where EventStoreDB and the SQL adapter part ways (the contract suite notes the same):

- Positions are byte offsets in EventStoreDB's log, not 1, 2, 3…: they grow with commit order
  but have gaps, also between the events of one append. `read_all(after)` is exact for any
  integer, but only 0 and positions this store handed out are cheap; any other `after` is
  first resolved to the newest event at or below it by reading `$all` backwards.
- `DuplicateEventIds` is raised only where the server gives it away: ids partly stored in this
  stream (EventStoreDB refuses such an append as a wrong expected version). The same ids
  appended to another stream are written again there: EventStoreDB has no global id index.
  With `ANY`/`STREAM_EXISTS`, the server checks idempotency against recently written events
  only (an in-memory cache), so a very late replay may be written twice; exact revisions and
  `NO_STREAM` are checked against the stream itself.
- After a soft delete, EventStoreDB also accepts the old last revision as the expected version
  (the SQL adapter accepts only `NO_STREAM`/`ANY` there).
- System events (types or streams starting with `$`) are invisible to `read_all` and
  `last_position`, so `append` refuses such names.
- `truncate_stream` never lowers a truncation already in place (EventStoreDB may already have
  scavenged the events below it).
- `find_event` has no index by event id to use: it reads `$all` backwards, filtered to the
  `types` its caller names, until it meets the event (an unknown id reads them all).
- Positions in `read_stream` results need EventStoreDB 22.10 or later (older servers send none;
  they read as 0).

grpcio blocks the OS thread and does not cooperate with eventlet, so when eventlet has
monkey-patched threads (our Nameko services) every call into esdbclient runs in eventlet's
thread pool (`run_blocking`); waiting between polls stays on the calling green thread.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

from esdbclient import EventStoreDBClient
from esdbclient import NewEvent as EsdbNewEvent
from esdbclient import RecordedEvent as EsdbRecordedEvent
from esdbclient import StreamState as EsdbStreamState
from esdbclient.exceptions import (
    DeadlineExceeded,
    DiscoveryFailed,
    EventStoreDBClientException,
    NotFound,
    ServiceUnavailable,
    StreamIsDeleted,
    WrongCurrentVersion,
)

from contracts.envelope import (
    AppendResult,
    DuplicateEventIds,
    EventStoreError,
    EventStoreUnavailable,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    StreamState,
    WrongExpectedVersion,
)
from contracts.eventstore import EventStore
from infra import jsontext
from infra.concurrency import eventlet_patched
from infra.ops.hashchain import StoredLink, chain_link

P = ParamSpec("P")
T = TypeVar("T")

SYSTEM_TYPES = (r"\$.*", r"PersistentConfig\d+")
"""Event types EventStoreDB writes for itself, as esdbclient `filter_exclude` patterns."""

CONNECT_TIMEOUT = 5.0  # seconds the constructor waits for the server to answer
KNOWN_POSITIONS = 10_000  # positions remembered as valid starting points in `$all`
READ_BACK_ATTEMPTS = 20  # reads of a just-written stream that may briefly read as not found
READ_BACK_PAUSE = 0.05
DUPLICATE_SCAN = 1000  # events searched for the ids behind a refused append
METADATA_ATTEMPTS = 5  # stream-metadata updates retried against concurrent writers
POLL_FIRST = 0.01  # wait_for_events polls `$all`, backing off up to POLL_MAX seconds
POLL_MAX = 0.1

_REPORTED_REVISION = re.compile(r"^Stream position of last event is (\d+) not ")
_REPORTED_NO_STREAM = re.compile(r"^Stream .* does not exist$", re.DOTALL)


# -- running esdbclient calls -----------------------------------------------------------------


@dataclass
class _Outcome(Generic[T]):
    value: T | None = None
    error: Exception | None = None

    def unwrap(self) -> T:
        if self.error is not None:
            raise self.error
        return cast(T, self.value)


def _capture(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Outcome[T]:
    try:
        return _Outcome(value=fn(*args, **kwargs))
    except Exception as error:  # noqa: BLE001 - re-raised in the calling green thread
        return _Outcome(error=error)


def run_blocking(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `fn(*args, **kwargs)`; in a real OS thread when eventlet has patched threads.

    grpcio does not work under eventlet's monkey-patching, so there the call goes through
    `eventlet.tpool.execute` and only the calling green thread waits. Exceptions reach the
    caller unchanged (and without tpool printing their tracebacks). Without eventlet, or
    unpatched, `fn` is called directly.
    """
    if not eventlet_patched():
        return fn(*args, **kwargs)
    from eventlet import tpool

    outcome: _Outcome[T] = tpool.execute(_capture, fn, args, kwargs)
    return outcome.unwrap()


# -- mapping between the envelope and esdbclient ---------------------------------------------


def _dumps(value: Any) -> bytes:
    return jsontext.compact_sorted(value).encode("utf-8")


def _load_object(raw: bytes) -> dict[str, Any]:
    """A JSON object from `raw`; foreign payloads are kept under `_raw`/`_value`, not lost."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_raw": raw.decode("utf-8", errors="replace")}
    return value if isinstance(value, dict) else {"_value": value}


def _uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def encode_event(event: NewEvent, chain_hash: str | None = None) -> EsdbNewEvent:
    """The esdbclient `NewEvent` that stores `event`: same id and type, JSON data and metadata,
    and its hash-chain link when given."""
    metadata: dict[str, Any] = {
        "version": event.version,
        "correlation_id": str(event.correlation),
        "causation_id": str(event.causation_id) if event.causation_id else None,
        "meta": event.metadata,
    }
    if chain_hash is not None:
        metadata["hash"] = chain_hash
    return EsdbNewEvent(
        type=event.type,
        data=_dumps(event.data),
        metadata=_dumps(metadata),
        content_type="application/json",
        id=event.id,
    )


def decode_event(recorded: EsdbRecordedEvent, *, now: datetime | None = None) -> RecordedEvent:
    """Our `RecordedEvent` for an esdbclient one.

    revision = stream position; position = commit position (0 when the server sent none);
    `recorded_at` = the server's created time, else `now` (default: the current time).
    """
    envelope = _load_object(recorded.metadata)
    version = envelope.get("version")
    meta = envelope.get("meta")
    recorded_at = recorded.recorded_at or now or datetime.now(UTC)
    return RecordedEvent(
        id=recorded.id,
        type=recorded.type,
        version=version if isinstance(version, int) and not isinstance(version, bool) else 1,
        stream=recorded.stream_name,
        revision=recorded.stream_position,
        position=recorded.commit_position or 0,
        data=_load_object(recorded.data),
        metadata=meta if isinstance(meta, dict) else {},
        correlation_id=_uuid(envelope.get("correlation_id")) or recorded.id,
        causation_id=_uuid(envelope.get("causation_id")),
        recorded_at=recorded_at,
    )


def current_version(expected: ExpectedVersion) -> int | EsdbStreamState:
    """esdbclient's `current_version` for our expected version (revisions must be >= 0)."""
    if expected is StreamState.ANY:
        return EsdbStreamState.ANY
    if expected is StreamState.NO_STREAM:
        return EsdbStreamState.NO_STREAM
    if expected is StreamState.STREAM_EXISTS:
        return EsdbStreamState.EXISTS
    if isinstance(expected, int) and not isinstance(expected, bool) and expected >= 0:
        return expected
    raise EventStoreError(f"unknown expected version {expected!r}")


def expectation_met(expected: ExpectedVersion, actual: int | None) -> bool:
    """True when a stream at `actual` (None: no stream) satisfies `expected`."""
    if expected is StreamState.ANY:
        return True
    if expected is StreamState.NO_STREAM:
        return actual is None
    if expected is StreamState.STREAM_EXISTS:
        return actual is not None
    return actual == expected


def reported_version(message: str) -> tuple[bool, int | None]:
    """The stream version a `WrongCurrentVersion` message states: `(True, revision)`,
    `(True, None)` for "does not exist", `(False, None)` when it states none."""
    found = _REPORTED_REVISION.match(message)
    if found:
        return True, int(found.group(1))
    if _REPORTED_NO_STREAM.match(message):
        return True, None
    return False, None


def is_system_event(recorded: EsdbRecordedEvent) -> bool:
    """True for EventStoreDB's own events: a type or a stream name starting with `$`."""
    return recorded.type.startswith("$") or recorded.stream_name.startswith("$")


def type_filter(types: Iterable[str]) -> str:
    """One `filter_include` pattern matching exactly these event types.

    esdbclient joins several patterns as `^a|b$`, which anchors only the first and the last
    alternative, so the alternatives are grouped here and passed as one pattern.
    """
    return "(?:" + "|".join(re.escape(name) for name in sorted(set(types))) + ")"


def _esdbclient_uri(uri: str) -> str:
    """esdbclient 1.1 knows the `esdb` schemes only; `kurrentdb` ones mean the same."""
    for ours, theirs in (
        ("kurrentdb+discover://", "esdb+discover://"),
        ("kurrentdb://", "esdb://"),
    ):
        if uri.startswith(ours):
            return theirs + uri.removeprefix(ours)
    return uri


def _redacted(uri: str) -> str:
    """`uri` without user name and password, for messages."""
    parts = urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _describe(error: BaseException) -> str:
    detail: Any = error.args[0] if error.args else ""
    details = getattr(detail, "details", None)
    if callable(details):
        detail = details()
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _check_names(stream: str, events: Sequence[NewEvent]) -> None:
    if not stream or stream.startswith("$"):
        raise ValueError(f"stream name {stream!r} is empty or reserved for EventStoreDB ($…)")
    for event in events:
        if not event.type or event.type.startswith("$"):
            raise ValueError(f"event type {event.type!r} is empty or reserved for EventStoreDB ($…)")


# -- the adapter ------------------------------------------------------------------------------


class EsdbEventStore(EventStore):
    """`EventStore` over EventStoreDB; `uri` is an `esdb://`, `esdb+discover://` or
    `kurrentdb://` connection string (e.g. `esdb://host:2113?Tls=false`).

    The constructor checks that the server answers (reading the head of `$all`) and raises
    `EventStoreUnavailable` within about twice `connect_timeout` seconds when it does not.
    With `esdb+discover://`, esdbclient first runs its own cluster discovery, bounded by the
    URI's `MaxDiscoverAttempts` and `GossipTimeout`.

    `DuplicateEventIds` cannot always be detected with EventStoreDB: it is raised for ids
    partly stored in the same stream, but the same ids appended to another stream are simply
    written there (see the module docstring for this and the other differences).
    """

    def __init__(self, uri: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.uri = uri
        self.target = _redacted(uri)
        self._known: OrderedDict[int, None] = OrderedDict()
        self._known_lock = threading.Lock()
        self._closed = False
        try:
            self._client = run_blocking(EventStoreDBClient, _esdbclient_uri(uri))
        except (EventStoreDBClientException, DiscoveryFailed) as error:
            raise EventStoreUnavailable(
                f"cannot connect to EventStoreDB at {self.target}: {_describe(error)}"
            ) from error
        try:
            run_blocking(
                self._client.get_commit_position,
                filter_exclude=SYSTEM_TYPES,
                timeout=connect_timeout,
            )
        except EventStoreDBClientException as error:
            run_blocking(self._client.close)
            raise EventStoreUnavailable(
                f"EventStoreDB at {self.target} did not answer within {connect_timeout:g}s: "
                f"{_describe(error)}"
            ) from error

    def _call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`run_blocking`, with "the server is away" errors turned into `EventStoreUnavailable`."""
        if self._closed:
            raise EventStoreError("the EventStoreDB store is closed")
        try:
            return run_blocking(fn, *args, **kwargs)
        except (ServiceUnavailable, DeadlineExceeded, DiscoveryFailed) as error:
            raise EventStoreUnavailable(
                f"EventStoreDB at {self.target} is unavailable: {_describe(error)}"
            ) from error

    # -- writing -------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = StreamState.ANY,
    ) -> AppendResult:
        """Append `events` atomically.

        esdbclient returns only a commit position, so the result is read back from the stream:
        a repeat of the same ids (which EventStoreDB does not write again) thus returns the
        first result. Should the events be hidden again at once (a concurrent truncate or
        delete), the revision is the stream's current one (-1: none readable) and the position
        the server's answer. `DuplicateEventIds` only for ids partly stored in this stream.
        """
        if not events:
            raise ValueError("append needs at least one event")
        batch = list(events)
        ids = [event.id for event in batch]
        if len(set(ids)) != len(ids):
            raise ValueError("an append may not carry the same event id twice")
        _check_names(stream, batch)
        if (
            isinstance(expected_version, int)
            and not isinstance(expected_version, bool)
            and expected_version < 0
        ):
            raise WrongExpectedVersion(stream, expected_version, self.stream_version(stream))
        version = current_version(expected_version)
        first, previous = self._chain_start(stream)
        encoded = []
        for offset, event in enumerate(batch):
            previous = chain_link(stream, first + offset, event, previous)
            encoded.append(encode_event(event, previous))
        try:
            committed = self._call(
                self._client.append_to_stream,
                stream,
                current_version=version,
                events=encoded,
            )
        except WrongCurrentVersion as error:
            raise self._refusal(stream, expected_version, ids, str(error)) from None
        except StreamIsDeleted:
            # Tombstoned, or soft-deleted while STREAM_EXISTS was expected.
            if expected_version is StreamState.STREAM_EXISTS:
                raise WrongExpectedVersion(stream, expected_version, None) from None
            raise StreamNotFound(stream) from None
        except NotFound:
            raise StreamNotFound(stream) from None
        result = self._locate(stream, ids[-1], len(ids), committed)
        self._remember([result.position])
        return result

    def _chain_start(self, stream: str) -> tuple[int, str | None]:
        """The next revision of `stream` and its last event's hash (None: none yet)."""
        try:
            last = self._call(self._client.get_stream, stream, backwards=True, limit=1)
        except (NotFound, StreamIsDeleted):
            return 0, None
        if not last:
            return 0, None
        head = _load_object(last[0].metadata).get("hash")
        return last[0].stream_position + 1, head if isinstance(head, str) else None

    def _refusal(
        self, stream: str, expected: ExpectedVersion, ids: list[uuid.UUID], message: str
    ) -> EventStoreError:
        """The error for an append EventStoreDB refused as a wrong expected version."""
        stated, reported = reported_version(message)
        actual = self.stream_version(stream)  # None also for a soft-deleted stream
        if stated and actual is not None:
            actual = reported  # what the server saw, unless the stream reads as gone
        if expectation_met(expected, actual):
            # The stream is where the caller expected, so the server refused the ids: the
            # first ones are stored in this stream, the rest are not ("corrupted idempotency").
            return DuplicateEventIds(stream, self._stored_ids(stream, ids) or ids[:1])
        if expected is StreamState.NO_STREAM or isinstance(expected, int):
            first = 0 if expected is StreamState.NO_STREAM else expected + 1
            clashing = self._clashing_ids(stream, first, ids)
            if clashing:
                return DuplicateEventIds(stream, clashing)
        return WrongExpectedVersion(stream, expected, actual)

    def _stored_ids(self, stream: str, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """Which of `ids` are among the stream's last `DUPLICATE_SCAN` events."""
        try:
            stored = self._call(self._client.get_stream, stream, backwards=True, limit=DUPLICATE_SCAN)
        except (NotFound, StreamIsDeleted):
            return []
        found = {recorded.id for recorded in stored}
        return [event_id for event_id in ids if event_id in found]

    def _clashing_ids(self, stream: str, first: int, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """Which of `ids` sit where this append would have put its events."""
        try:
            stored = self._call(self._client.get_stream, stream, stream_position=first, limit=len(ids))
        except (NotFound, StreamIsDeleted):
            return []
        wanted = set(ids)
        return [recorded.id for recorded in stored if recorded.id in wanted]

    def _locate(self, stream: str, last_id: uuid.UUID, count: int, committed: int) -> AppendResult:
        """Where the event `last_id` landed (esdbclient returns no revision, and no position
        for a repeated append), found by reading the stream backwards."""
        for _attempt in range(READ_BACK_ATTEMPTS):
            try:
                recorded = self._find_backwards(stream, last_id, count)
            except (NotFound, StreamIsDeleted):
                # A soft-deleted stream written again can read as not found for a moment.
                time.sleep(READ_BACK_PAUSE)
                continue
            if recorded is not None:
                position = recorded.commit_position
                return AppendResult(
                    stream,
                    recorded.stream_position,
                    position if position is not None else committed,
                )
            break
        # Hidden again at once (truncated or deleted meanwhile): what the server told us.
        version = self.stream_version(stream)
        return AppendResult(stream, -1 if version is None else version, committed)

    def _find_backwards(self, stream: str, event_id: uuid.UUID, first_page: int) -> EsdbRecordedEvent | None:
        revision: int | None = None
        size = max(first_page, 1)
        while True:
            page = self._call(
                self._client.get_stream,
                stream,
                stream_position=revision,
                backwards=True,
                limit=size,
            )
            for recorded in page:
                if recorded.id == event_id:
                    return recorded
            if len(page) < size or page[-1].stream_position == 0:
                return None
            revision = page[-1].stream_position - 1
            size = min(size * 4, 4096)

    def delete_stream(self, stream: str) -> None:
        """Soft-delete `stream`; `StreamNotFound` when it does not exist or is deleted already.

        Expects `StreamState.EXISTS` rather than `ANY`: with `ANY` EventStoreDB deletes a
        deleted stream again without complaint, with `EXISTS` it reports it as deleted.
        """
        try:
            self._call(self._client.delete_stream, stream, current_version=EsdbStreamState.EXISTS)
        except (NotFound, StreamIsDeleted, WrongCurrentVersion):
            raise StreamNotFound(stream) from None

    def truncate_stream(self, stream: str, before_revision: int) -> None:
        """Hide revisions below `before_revision` by setting the stream's `$tb` metadata,
        keeping its other metadata; a higher truncation already in place is kept."""
        if self.stream_version(stream) is None:
            raise StreamNotFound(stream)
        for _attempt in range(METADATA_ATTEMPTS):
            metadata, version = self._call(self._client.get_stream_metadata, stream)
            in_place = metadata.get("$tb")
            if not isinstance(in_place, int) or isinstance(in_place, bool):
                in_place = 0
            updated = {**metadata, "$tb": max(before_revision, in_place, 0)}
            if updated == metadata:
                return
            try:
                self._call(
                    self._client.set_stream_metadata,
                    stream,
                    metadata=updated,
                    current_version=version,
                )
                return
            except WrongCurrentVersion:
                continue  # someone else changed the metadata: read it again
        raise EventStoreError(f"stream {stream!r}: its metadata kept changing; not truncated")

    # -- reading -------------------------------------------------------------------------

    def read_stream(
        self,
        stream: str,
        from_revision: int | None = None,
        *,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of `stream` from `from_revision` (inclusive), forwards or backwards."""
        if (limit is not None and limit <= 0) or (
            backwards and from_revision is not None and from_revision < 0
        ):
            if self.stream_version(stream) is None:
                raise StreamNotFound(stream)
            return []
        try:
            found = self._call(
                self._client.get_stream,
                stream,
                stream_position=None if from_revision is None else max(from_revision, 0),
                backwards=backwards,
                limit=sys.maxsize if limit is None else limit,
            )
        except (NotFound, StreamIsDeleted):
            raise StreamNotFound(stream) from None
        events = [decode_event(recorded) for recorded in found]
        self._remember(event.position for event in events)
        return events

    def read_all(
        self, after: int = 0, *, types: Iterable[str] | None = None, limit: int = 1000
    ) -> list[RecordedEvent]:
        """Up to `limit` non-system events with a position above `after`, in `$all` order."""
        found = [decode_event(recorded) for recorded in self._read_all_records(after, types, limit)]
        self._remember(event.position for event in found[-1:])
        return found

    def find_event(self, event_id: uuid.UUID, *, types: Iterable[str] | None = None) -> RecordedEvent | None:
        """The event with this id, found by reading `$all` backwards (filtered on the server to
        `types` when given, else to non-system events) and stopping at it; then the event is
        read again from its stream, since soft deletes and truncations hide events from
        streams but not from `$all`.

        EventStoreDB keeps no index by event id: the cost grows with how far back the event
        lies among events of `types`, and an id that is nowhere reads all of them (all of
        `$all` without `types`). With the same id appended to several streams (EventStoreDB
        writes it again), the newest is the one found.
        """
        wanted = frozenset(types) if types is not None else None
        if wanted is not None and not wanted:
            return None
        recorded = self._call(self._newest_with_id, event_id, wanted)
        if recorded is None:
            return None
        try:
            shown = self._call(
                self._client.get_stream,
                recorded.stream_name,
                stream_position=recorded.stream_position,
                limit=1,
            )
        except (NotFound, StreamIsDeleted):
            return None
        if not shown or shown[0].id != event_id:
            return None  # truncated away, or its stream deleted and written again
        event = decode_event(recorded)
        self._remember([event.position])
        return event

    def _newest_with_id(self, event_id: uuid.UUID, wanted: frozenset[str] | None) -> EsdbRecordedEvent | None:
        include = (type_filter(wanted),) if wanted else ()
        exclude = () if wanted else SYSTEM_TYPES  # esdbclient applies one or the other
        with self._client.read_all(
            backwards=True, filter_include=include, filter_exclude=exclude
        ) as response:
            for recorded in response:
                if recorded.id != event_id or is_system_event(recorded):
                    continue
                if wanted is None or recorded.type in wanted:
                    return recorded
        return None

    def read_links(self, after: int = 0, *, limit: int = 1000) -> list[StoredLink]:
        """Events of `$all` after `after` with the hash-chain link kept in their metadata, for
        `pishkhan integrity` (None where an event was stored before the chain)."""
        links = []
        for recorded in self._read_all_records(after, None, limit):
            event = decode_event(recorded)
            stored = _load_object(recorded.metadata).get("hash")
            links.append(StoredLink.of(event, stored if isinstance(stored, str) else None))
        self._remember(link.position for link in links[-1:])
        return links

    def _read_all_records(
        self, after: int, types: Iterable[str] | None, limit: int
    ) -> list[EsdbRecordedEvent]:
        wanted = frozenset(types) if types is not None else None
        if limit <= 0 or (wanted is not None and not wanted):
            return []
        include = (type_filter(wanted),) if wanted else ()
        exclude = () if wanted else SYSTEM_TYPES  # esdbclient applies one or the other
        start = self._start_position(after)
        floor = after
        found: list[EsdbRecordedEvent] = []
        while True:
            # A read from `start` returns the event at `start` too.
            count = limit - len(found) + (0 if start is None else 1)
            page = self._call(self._read_all_page, start, include, exclude, count)
            for recorded in page:
                position = recorded.commit_position
                if position is None or position <= floor or is_system_event(recorded):
                    continue
                if wanted is not None and recorded.type not in wanted:
                    continue
                found.append(recorded)
                if len(found) == limit:
                    break
            last = page[-1].commit_position if page else None
            # Events are dropped here (system streams), so a short answer must come from the
            # server running out, never from our filtering: read on until it does.
            if len(found) >= limit or len(page) < count or last is None:
                break
            floor, start = max(floor, last), last
        return found

    def _read_all_page(
        self,
        start: int | None,
        include: Sequence[str],
        exclude: Sequence[str],
        count: int,
    ) -> list[EsdbRecordedEvent]:
        with self._client.read_all(
            commit_position=start,
            filter_include=include,
            filter_exclude=exclude,
            limit=count,
        ) as response:
            return list(response)

    def _start_position(self, after: int) -> int | None:
        """A position to start reading `$all` from, at or below `after` (None: the start).

        EventStoreDB can only start at a record's position: a read from inside a record fails
        or returns nonsense. Positions this store handed out are records; others are checked,
        and replaced by the newest record at or below them.
        """
        if after <= 0:
            return None
        if self._is_known(after):
            return after
        start = self._call(self._record_at_or_before, after)
        if start is not None:
            self._remember([start])
        return start

    def _record_at_or_before(self, position: int) -> int | None:
        try:
            with self._client.read_all(commit_position=position, filter_exclude=(), limit=1) as response:
                for recorded in response:
                    if recorded.commit_position == position:
                        return position
                    break
        except (ServiceUnavailable, DeadlineExceeded):
            raise
        except EventStoreDBClientException:
            pass  # not a record's position: the server refused to read from it
        with self._client.read_all(backwards=True, filter_exclude=()) as response:
            for recorded in response:
                if recorded.commit_position is not None and recorded.commit_position <= position:
                    return recorded.commit_position
        return None

    def last_position(self) -> int:
        """The position of the newest non-system event in `$all` (0 when there is none)."""
        position = self._call(self._newest_position)
        if position:
            self._remember([position])
        return position

    def _newest_position(self) -> int:
        # The server filters system event types; events in system streams are skipped here,
        # first cheaply (one event), then by reading on only if the newest one was such.
        for limit in (1, sys.maxsize):
            with self._client.read_all(backwards=True, filter_exclude=SYSTEM_TYPES, limit=limit) as response:
                seen = 0
                for recorded in response:
                    seen += 1
                    if not is_system_event(recorded) and recorded.commit_position is not None:
                        return recorded.commit_position
            if seen < limit:
                return 0
        return 0

    def stream_version(self, stream: str) -> int | None:
        """The revision of the stream's last readable event; None when missing or deleted."""
        try:
            last = self._call(self._client.get_stream, stream, backwards=True, limit=1)
        except (NotFound, StreamIsDeleted):
            return None
        return last[0].stream_position if last else None

    # -- waiting for new events ----------------------------------------------------------

    def wait_for_events(self, after: int, timeout: float, types: Iterable[str] | None = None) -> bool:
        """Poll the head of `$all` until it passes `after`, backing off from 10 to 100 ms
        (whatever the events' `types`).

        The sleeping happens on the calling (green) thread, so under eventlet no pool thread
        is held while waiting.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        pause = POLL_FIRST
        while True:
            if self.last_position() > after:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, POLL_MAX)

    def close(self) -> None:
        """Close the gRPC channel; the store cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        run_blocking(self._client.close)

    # -- positions known to be records ---------------------------------------------------

    def _remember(self, positions: Iterable[int]) -> None:
        with self._known_lock:
            for position in positions:
                if position > 0:
                    self._known[position] = None
                    self._known.move_to_end(position)
            while len(self._known) > KNOWN_POSITIONS:
                self._known.popitem(last=False)

    def _is_known(self, position: int) -> bool:
        with self._known_lock:
            return position in self._known
