"""Finding a request's (or an account's) whole history across streams.

A request's events live in several streams: `request-<id>`, `case-<id>`, the registry book's
entries that carry its `request_id`, and the `sms-*` messages about it. They are found by
(a) the streams named after the id, (b) every correlation id those events carry (an index on
`correlation_id` in the SQL store), and (c) the id appearing in an event's data or actor.

Cost: (c) is a scan. On SQLite/PostgreSQL it is one `LIKE` over `es_events.data` and
`metadata` (a sequential scan: its cost grows with the whole store, not with the request);
on EventStoreDB it reads the whole of `$all` through the client. (a) and (b) use indexes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jdatetime
import sqlalchemy as sa

from contracts.envelope import RecordedEvent, StreamNotFound
from contracts.eventstore import EventStore
from contracts.persian import persian_digits
from infra.eventstore.schema import events_table
from infra.eventstore.sql import RECORDED_COLUMNS, SqlEventStore, _recorded

TEHRAN = timezone(timedelta(hours=3, minutes=30))  # Iran keeps no daylight saving time since 2022
ROLES = ("citizen", "clerk", "desk_officer", "representative", "admin", "system", "service")


def jalali(moment: datetime) -> str:
    """A timestamp as a Jalali date and time in Tehran, with Persian digits."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = jdatetime.datetime.fromgregorian(datetime=moment.astimezone(TEHRAN))
    return persian_digits(local.strftime("%Y/%m/%d %H:%M:%S"))


def _seed_streams(subject: str) -> list[str]:
    if subject.startswith(("request-", "case-", "account-")):
        return [subject]
    return [f"request-{subject}", f"case-{subject}", f"account-{subject}"]


def _bare_id(subject: str) -> str:
    return subject.split("-", 1)[1] if subject.startswith(("request-", "case-", "account-")) else subject


def find_history(store: EventStore, subject: str) -> list[RecordedEvent]:
    """Every event about `subject` (a request id, an account id or national code, or a stream
    name), in `$all` order."""
    found: dict[uuid.UUID, RecordedEvent] = {}
    for stream in _seed_streams(subject):
        try:
            for event in store.read_stream(stream):
                found[event.id] = event
        except StreamNotFound:
            continue
    needle = _bare_id(subject)
    correlations = {event.correlation_id for event in found.values()}
    more: Iterable[RecordedEvent] = (
        _sql_search(store, needle, correlations)
        if isinstance(store, SqlEventStore)
        else _scan(store, needle, correlations)
    )
    for event in more:
        found.setdefault(event.id, event)
    # Effects of what we found, under a correlation we did not know yet (a caused event that
    # started its own conversation): follow causation until nothing new turns up.
    while True:
        ids = set(found)
        new_correlations = {e.correlation_id for e in found.values()} - correlations
        if not new_correlations:
            break
        correlations |= new_correlations
        source = (
            _sql_search(store, None, new_correlations)
            if isinstance(store, SqlEventStore)
            else _scan(store, None, new_correlations)
        )
        for event in source:
            found.setdefault(event.id, event)
        if set(found) == ids:
            break
    return sorted(found.values(), key=lambda e: e.position)


def _sql_search(
    store: SqlEventStore, needle: str | None, correlations: set[uuid.UUID]
) -> list[RecordedEvent]:
    table = events_table
    conditions: list[Any] = []
    if correlations:
        conditions.append(table.c.correlation_id.in_(sorted(str(c) for c in correlations)))
    if needle:
        pattern = f'%"{_like_escape(needle)}%'
        conditions.append(table.c.data.like(pattern, escape="\\"))
        conditions.append(table.c.metadata.like(f"%{_like_escape(needle)}%", escape="\\"))
    if not conditions:
        return []
    query = sa.select(*RECORDED_COLUMNS).where(sa.or_(*conditions)).order_by(table.c.position)
    with store.read_engine.connect() as conn:
        return _recorded(conn, query)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _scan(store: EventStore, needle: str | None, correlations: set[uuid.UUID]) -> Iterator[RecordedEvent]:
    position = 0
    while True:
        page = store.read_all(position, limit=1000)
        for event in page:
            if event.correlation_id in correlations or (needle and _mentions(event, needle)):
                yield event
        if not page:
            return
        position = page[-1].position


def _mentions(event: RecordedEvent, needle: str) -> bool:
    return needle in str(event.data.values()) or needle in str(event.metadata.get("actor", ""))


def describe(event: RecordedEvent, depth: int = 0) -> dict[str, Any]:
    """One event as a row of the audit report."""
    actor = event.metadata.get("actor")
    role = event.metadata.get("role")
    if role is None and isinstance(actor, str) and ":" in actor:
        prefix = actor.split(":", 1)[0]
        role = prefix if prefix in ROLES else None
    reason = event.metadata.get("reason") or event.data.get("reason") or event.data.get("note")
    return {
        "position": event.position,
        "jalali": jalali(event.recorded_at),
        "recorded_at": event.recorded_at.isoformat(),
        "stream": event.stream,
        "revision": event.revision,
        "type": event.type,
        "version": event.version,
        "actor": actor,
        "role": role,
        "reason": reason,
        "event_id": str(event.id),
        "correlation_id": str(event.correlation_id),
        "causation_id": str(event.causation_id) if event.causation_id else None,
        "depth": depth,
        "data": event.data,
    }


def with_causation(events: list[RecordedEvent]) -> list[dict[str, Any]]:
    """The events as report rows, each with its depth in the causation chain (0: a command's
    first event; n: caused by an event at depth n-1)."""
    by_id = {event.id: event for event in events}
    depths: dict[uuid.UUID, int] = {}

    def depth(event: RecordedEvent) -> int:
        if event.id not in depths:
            depths[event.id] = 0  # guards against a (corrupt) causation cycle
            cause = by_id.get(event.causation_id) if event.causation_id else None
            depths[event.id] = depth(cause) + 1 if cause is not None else 0
        return depths[event.id]

    return [describe(event, depth(event)) for event in events]
