"""The events' hash chain: each event's hash covers its content and its stream predecessor's hash.

The hash is SHA-256 over one canonical JSON document of what an event *says*: its id, stream,
revision, type, version, data, metadata, correlation and causation ids, and the previous hash in
its stream ("" for a stream's first event, or for the first event appended after the chain was
introduced on a stream that had no hashes yet: `pishkhan integrity --backfill` re-chains those).

Beside the streams' chains, the store-wide chain (`ledger_link`) links every event to the one
before it in `$all`: its link covers the event's position, its stream-chain hash and the
previous link. A stream's chain cannot see a stream that is gone, or the last events of every
stream cut off together; the store-wide chain names the first position where `$all` was changed,
and signed heads of it (infra/ops/heads.py) show what was cut from its end.

Positions and recorded times are left out of the event's own hash on purpose: they are assigned by the server
(EventStoreDB gives the time only after the append), and an export moved into another store
must keep the same hashes. Changing any covered field of a stored event, or removing,
inserting or reordering events of a stream, breaks the chain at that event or the next one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from contracts.envelope import NewEvent, RecordedEvent
from infra import jsontext

GENESIS = ""
"""The predecessor hash of a stream's first event."""


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same text for the same value, in every adapter."""
    return jsontext.compact_sorted(value)


def event_hash(
    *,
    event_id: str,
    stream: str,
    revision: int,
    type: str,
    version: int,
    data: Any,
    metadata: Any,
    correlation_id: str,
    causation_id: str | None,
    previous: str | None,
) -> str:
    """The hex SHA-256 of one event's content chained to `previous` (its predecessor's hash)."""
    document = canonical(
        {
            "id": event_id,
            "stream": stream,
            "revision": revision,
            "type": type,
            "version": version,
            "data": data,
            "metadata": metadata,
            "correlation_id": correlation_id,
            "causation_id": causation_id,
            "previous": previous or GENESIS,
        }
    )
    return hashlib.sha256(document.encode()).hexdigest()


def ledger_link(previous: str | None, position: int, hash_: str | None) -> str:
    """The store-wide chain's link of the event at `position` whose stream-chain hash is `hash_`,
    after the link `previous` of the event before it ("" for the first event, or for the first
    event linked after events stored before the store-wide chain existed). PostgreSQL's
    `es_append` computes the same text's SHA-256 (infra/eventstore/pg_append.py)."""
    return hashlib.sha256(f"{previous or GENESIS}:{position}:{hash_ or ''}".encode()).hexdigest()


def link_rows(rows: list[dict[str, Any]], previous: str | None) -> None:
    """Give each event row (`es_events` columns, in position order, the first right after the
    event whose link is `previous`) its `chain` link."""
    for row in rows:
        previous = row["chain"] = ledger_link(previous, row["position"], row["hash"])


@dataclass(frozen=True)
class StoredLink:
    """One stored event as the chain sees it (data and metadata already parsed)."""

    position: int
    event_id: str
    stream: str
    revision: int
    type: str
    version: int
    data: Any
    metadata: Any
    correlation_id: str
    causation_id: str | None
    hash: str | None

    @classmethod
    def of(cls, event: RecordedEvent, stored_hash: str | None = None) -> StoredLink:
        """The link of a recorded event, carrying the hash stored with it (if any)."""
        return cls(
            position=event.position,
            event_id=str(event.id),
            stream=event.stream,
            revision=event.revision,
            type=event.type,
            version=event.version,
            data=event.data,
            metadata=event.metadata,
            correlation_id=str(event.correlation_id),
            causation_id=str(event.causation_id) if event.causation_id else None,
            hash=stored_hash,
        )

    def expected(self, previous: str | None) -> str:
        """The hash this event should carry after `previous`."""
        return event_hash(
            event_id=self.event_id,
            stream=self.stream,
            revision=self.revision,
            type=self.type,
            version=self.version,
            data=self.data,
            metadata=self.metadata,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            previous=previous,
        )


@dataclass(frozen=True)
class Finding:
    """Something wrong with the chain at one event."""

    position: int
    event_id: str
    stream: str
    revision: int
    problem: str
    """"tampered", "unhashed", "gap", "head"; over `$all` (integrity.check): "missing" (positions
    gone), "order" (a stream's revisions out of order), "ledger" (the store-wide link differs),
    "unlinked" (stored before the store-wide chain), "stream" (a stream's events gone or cut),
    "cut" and "signature" (a signed head the history does not extend)."""
    detail: str = ""

    def describe(self) -> str:
        """One line for the operator."""
        if self.detail:
            return f"{self.problem}: {self.detail}"
        return (
            f"{self.problem}: event {self.event_id} ({self.stream}@{self.revision}, position {self.position})"
        )


class _Chain:
    """One stream's chain as it is read, event by event."""

    def __init__(self) -> None:
        self.previous: str | None = GENESIS
        self.next_revision: int | None = None
        self.last: StoredLink | None = None

    def feed(self, link: StoredLink) -> Iterator[Finding]:
        if self.next_revision is not None and link.revision != self.next_revision:
            yield _finding(link, "gap")
        self.next_revision = link.revision + 1
        self.last = link
        if link.hash is None:
            yield _finding(link, "unhashed")
            self.previous = None
            return
        if self.previous is None:
            # A predecessor without a hash: the chain restarted here (appended before a backfill).
            if link.expected(GENESIS) != link.hash:
                yield _finding(link, "tampered")
        elif link.expected(self.previous) != link.hash:
            yield _finding(link, "tampered")
        self.previous = link.hash


def check_stream(links: Iterable[StoredLink], head: str | None = None) -> Iterator[Finding]:
    """Findings for one stream's events given in revision order; `head` is the stream's last
    hash as kept beside the stream (es_streams), checked against the last event's hash."""
    chain = _Chain()
    for link in links:
        yield from chain.feed(link)
    last = chain.last
    if last is not None and head is not None and last.hash is not None and head != last.hash:
        yield _finding(last, "head")


def check_in_order(links: Iterable[StoredLink]) -> Iterator[Finding]:
    """Findings for events of many streams read in `$all` order (EventStoreDB), keeping only
    each stream's head in memory."""
    chains: dict[str, _Chain] = {}
    for link in links:
        yield from chains.setdefault(link.stream, _Chain()).feed(link)


def _finding(link: StoredLink, problem: str) -> Finding:
    return Finding(link.position, link.event_id, link.stream, link.revision, problem)


def rechain(links: Iterable[StoredLink]) -> Iterator[tuple[StoredLink, str]]:
    """Each event of one stream (revision order) with the hash it gets in a fresh chain."""
    previous = GENESIS
    for link in links:
        previous = link.expected(previous)
        yield link, previous


def chain_link(stream: str, revision: int, event: NewEvent, previous: str | None) -> str:
    """The hash of `event` stored at `revision` of `stream` after `previous`."""
    return event_hash(
        event_id=str(event.id),
        stream=stream,
        revision=revision,
        type=event.type,
        version=event.version,
        data=event.data,
        metadata=event.metadata,
        correlation_id=str(event.correlation),
        causation_id=str(event.causation_id) if event.causation_id else None,
        previous=previous,
    )
