"""`integrity`: check the SQL store's hash chain, and backfill it for events older than the chain.

Checking reads `es_events` in (stream, revision) order, recomputes every hash from the stored
content and the predecessor's stored hash, and compares each stream's last hash with the head
kept in `es_streams`. An event whose stored content was changed names itself ("tampered"); an
event whose hash was recomputed by the tamperer breaks its successor's link, or the head.

Backfill, for stores that held events before migration 2 added the chain: under the append lock
(writers wait; readers do not), every stream that has an event without a hash is chained again
from its first event, and its head is updated. Run it once after upgrading; it is idempotent.
Events appended to such a stream before the backfill start a provisional chain (predecessor "")
that the backfill replaces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from infra.eventstore.schema import events_table, streams_table
from infra.eventstore.sql import APPEND_LOCK_KEY, SqlEventStore
from infra.ops.hashchain import Finding, StoredLink, check_in_order, check_stream, rechain

if TYPE_CHECKING:
    from infra.eventstore.esdb import EsdbEventStore


@dataclass
class IntegrityReport:
    """What a check found."""

    events: int = 0
    streams: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def unhashed(self) -> int:
        """Events stored before the chain existed and not backfilled yet."""
        return sum(1 for f in self.findings if f.problem == "unhashed")

    @property
    def broken(self) -> list[Finding]:
        """Findings that mean the history was changed."""
        return [f for f in self.findings if f.problem != "unhashed"]


def _link(row: Any) -> StoredLink:
    return StoredLink(
        position=int(row.position),
        event_id=row.event_id,
        stream=row.stream,
        revision=int(row.revision),
        type=row.type,
        version=int(row.version),
        data=json.loads(row.data),
        metadata=json.loads(row.metadata),
        correlation_id=row.correlation_id,
        causation_id=row.causation_id,
        hash=row.hash,
    )


def _streams(
    conn: sa.Connection, only: list[str] | None = None
) -> Iterator[tuple[str, str | None, list[StoredLink]]]:
    """(stream, head, events in revision order) for every stream, one stream in memory at a time."""
    heads_query = sa.select(streams_table.c.stream, streams_table.c.last_hash).order_by(
        streams_table.c.stream
    )
    if only is not None:
        heads_query = heads_query.where(streams_table.c.stream.in_(only))
    heads = {row.stream: row.last_hash for row in conn.execute(heads_query)}
    for stream, head in heads.items():
        rows = conn.execute(
            sa.select(events_table).where(events_table.c.stream == stream).order_by(events_table.c.revision)
        )
        yield stream, head, [_link(row) for row in rows]


def check(store: SqlEventStore) -> IntegrityReport:
    """Verify every stream's chain; the report names each event that does not verify."""
    report = IntegrityReport()
    with store.read_engine.connect() as conn:
        for _stream, head, links in _streams(conn):
            report.streams += 1
            report.events += len(links)
            report.findings.extend(check_stream(links, head))
    report.findings.sort(key=lambda f: f.position)
    return report


def check_esdb(store: EsdbEventStore, page: int = 1000) -> IntegrityReport:
    """Verify the links EventStoreDB keeps in each event's metadata, reading `$all` once in
    order with one head per stream in memory. (EventStoreDB events cannot be rewritten, so
    events stored before the chain stay unhashed: there is no backfill there.)"""
    report = IntegrityReport()
    streams: set[str] = set()

    def links() -> Iterator[StoredLink]:
        position = 0
        while batch := store.read_links(position, limit=page):
            for link in batch:
                streams.add(link.stream)
                report.events += 1
                yield link
            position = batch[-1].position

    report.findings.extend(check_in_order(links()))
    report.streams = len(streams)
    return report


def backfill(store: SqlEventStore) -> int:
    """Chain the streams that hold events without a hash; return how many events got one."""
    with store.engine.begin() as conn:
        if not store.sqlite:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
        pending = sorted(
            conn.execute(
                sa.select(events_table.c.stream).where(events_table.c.hash.is_(None)).distinct()
            ).scalars()
        )
        changed = 0
        for stream, _head, links in list(_streams(conn, pending)):
            last = None
            for link, value in rechain(links):
                if link.hash != value:
                    conn.execute(
                        events_table.update()
                        .where(events_table.c.position == link.position)
                        .values(hash=value)
                    )
                    changed += 1
                last = value
            conn.execute(
                streams_table.update().where(streams_table.c.stream == stream).values(last_hash=last)
            )
    return changed
