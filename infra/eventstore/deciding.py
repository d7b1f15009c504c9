"""Deciding a batch of appends from the streams' rows: expected versions, idempotency by event
id, revisions and the hash chain. Pure: the SQL store reads the rows and writes the result."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contracts.envelope import (
    AppendResult,
    DuplicateEventIds,
    EventStoreError,
    ExpectedVersion,
    NewEvent,
    StreamState,
    WrongExpectedVersion,
)
from infra import jsontext
from infra.ops.hashchain import chain_link


@dataclass
class PendingAppend:
    """One caller's append waiting in a commit, and what became of it."""

    stream: str
    events: Sequence[NewEvent]
    expected: ExpectedVersion
    result: AppendResult | None = None
    error: BaseException | None = None
    done: bool = False

    @classmethod
    def of(cls, stream: str, events: Sequence[NewEvent], expected: ExpectedVersion) -> PendingAppend:
        """A caller's append as every store takes it in: an empty one is refused before it waits
        for anything."""
        if not events:
            raise ValueError("append needs at least one event")
        return cls(stream, list(events), expected)

    def outcome(self) -> AppendResult:
        """What the caller gets once the append is decided: its result, or its error raised."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@dataclass
class StreamRow:
    """A stream's row in `es_streams` as read, then as the batch leaves it (`changed`)."""

    version: int | None  # None: the stream has no row yet
    deleted: bool
    truncate_before: int
    last_hash: str | None = None  # the hash chain's head (None: no event hashed yet)
    changed: bool = False


def _dumps(value: Any) -> str:
    return jsontext.compact_sorted(value)


def decide(
    batch: list[PendingAppend],
    known: dict[str, tuple[str, int, int]],
    streams: dict[str, StreamRow],
    next_position: int,
    now: str,
) -> tuple[list[dict[str, Any]], list[PendingAppend]]:
    """Check every append of the batch against `known` ids and the `streams` as read, and
    number its events from `next_position`: the rows to write and the appends they come
    from (`streams` become the states after them). Refused appends get their error and
    write nothing."""
    rows: list[dict[str, Any]] = []
    written: list[PendingAppend] = []
    for pending in batch:
        try:
            pending.result, own_rows = _decide_one(pending, known, streams, next_position, now)
        except Exception as error:  # noqa: BLE001 - refuses this append alone, handed to its caller
            pending.error = error
            continue
        # Only a fully built append touches the shared state: a refusal leaves no trace.
        rows.extend(own_rows)
        for row in own_rows:
            known[row["event_id"]] = (row["stream"], row["revision"], row["position"])
        if own_rows:
            written.append(pending)
            state = streams[pending.stream]
            if state.deleted:  # a soft-deleted stream starts afresh after its old events
                state.deleted, state.truncate_before = False, own_rows[0]["revision"]
            state.version, state.changed = own_rows[-1]["revision"], True
            state.last_hash = own_rows[-1]["hash"]
            next_position = own_rows[-1]["position"] + 1
    return rows, written


def _decide_one(
    pending: PendingAppend,
    known: dict[str, tuple[str, int, int]],
    streams: dict[str, StreamRow],
    next_position: int,
    now: str,
) -> tuple[AppendResult, list[dict[str, Any]]]:
    stream = pending.stream
    ids = [str(event.id) for event in pending.events]
    if len(set(ids)) != len(ids):
        raise ValueError("an append may not carry the same event id twice")
    if any(event_id in known for event_id in ids):
        return _previous_append(stream, ids, known), []
    state = streams[stream]
    actual = None if state.version is None or state.deleted else state.version
    _check_expected(stream, pending.expected, actual)
    first_revision = 0 if state.version is None else state.version + 1
    rows: list[dict[str, Any]] = []
    previous = state.last_hash
    for offset, event in enumerate(pending.events):
        position, revision = next_position + offset, first_revision + offset
        correlation = str(event.correlation)
        causation = str(event.causation_id) if event.causation_id else None
        previous = chain_link(stream, revision, event, previous)
        rows.append(
            {
                "position": position,
                "event_id": ids[offset],
                "stream": stream,
                "revision": revision,
                "type": event.type,
                "version": event.version,
                "data": _dumps(event.data),
                "metadata": _dumps(event.metadata),
                "correlation_id": correlation,
                "causation_id": causation,
                "recorded_at": now,
                "hash": previous,
            }
        )
    last = rows[-1]
    return AppendResult(stream, last["revision"], last["position"]), rows


def as_read(stream: str, state: StreamRow) -> dict[str, Any]:
    """A stream's row as `es_append` compares it (all None: no row)."""
    if state.version is None:
        return {"stream": stream} | dict.fromkeys(("version", "deleted", "truncate_before", "last_hash"))
    return {
        "stream": stream,
        "version": state.version,
        "deleted": state.deleted,
        "truncate_before": state.truncate_before,
        "last_hash": state.last_hash,
    }


def _previous_append(stream: str, ids: list[str], known: dict[str, tuple[str, int, int]]) -> AppendResult:
    """The result of the earlier append of exactly these ids to this stream (idempotency)."""
    found = [known[event_id] for event_id in ids if event_id in known]
    if len(found) == len(ids) and all(place[0] == stream for place in found):
        revisions = [place[1] for place in found]
        if revisions == list(range(revisions[0], revisions[0] + len(ids))):
            return AppendResult(stream, found[-1][1], found[-1][2])
    raise DuplicateEventIds(stream, [uuid.UUID(event_id) for event_id in ids if event_id in known])


def _check_expected(stream: str, expected: ExpectedVersion, actual: int | None) -> None:
    if expected is StreamState.ANY:
        return
    if expected is StreamState.NO_STREAM:
        ok = actual is None
    elif expected is StreamState.STREAM_EXISTS:
        ok = actual is not None
    elif isinstance(expected, int) and not isinstance(expected, bool):
        ok = actual == expected
    else:
        raise EventStoreError(f"unknown expected version {expected!r}")
    if not ok:
        raise WrongExpectedVersion(stream, expected, actual)
