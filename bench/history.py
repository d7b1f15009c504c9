"""A realistic history of many requests, written straight into a store's tables in batches.

Each request lives the desk's life: its tracking code is issued, it is submitted (API form, one
citizen each), the applicant's SMS is queued, dispatched and sent, most get a registration number
in the province's book, and many get a final reply with its SMS. Rows are made with the real
event classes (`new_event`) and the store's JSON encoding, so projections read them as they would
read events appended by the services; writing them with multi-row INSERTs is what makes a
million events take a minute rather than an hour of `store.append`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.common import PROVINCE, mobile, national_code
from contracts.events import Event, derived_id, new_event
from contracts.notify import SmsDispatching, SmsQueued, SmsSent
from contracts.requests import Applicant, RequestSubmitted, TrackingCodeIssued
from contracts.secretariat import NumberAssigned, ReplyPosted
from infra.eventstore.schema import events_table, streams_table

YEAR = 1405
START = datetime(2026, 3, 21, tzinfo=UTC)


def tracking_code(index: int) -> str:
    """A distinct, valid tracking code (check digits right) per request."""
    body = f"{7 * 10**9 + index:010d}"
    return body + f"{98 - (int(body) * 100) % 97:02d}"


def request_id(index: int) -> str:
    """A stable request id per index."""
    return uuid.uuid5(uuid.NAMESPACE_OID, f"bench-request-{index}").hex


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def lifecycle(index: int) -> list[tuple[str, Event, str | None]]:
    """(stream, event, actor) of one request's life, in order. 5 events for every request, +1
    for the number (4 in 5), +4 for a final reply and its SMS (2 in 5): 7.4 on average."""
    rid, code = request_id(index), tracking_code(index)
    at = START + timedelta(seconds=30 * index)
    sms_id = uuid.uuid5(uuid.NAMESPACE_OID, f"bench-sms-{index}").hex
    events: list[tuple[str, Event, str | None]] = [
        (f"tracking-{code}", TrackingCodeIssued(tracking_code=code, request_id=rid), None),
        (
            f"request-{rid}",
            RequestSubmitted(
                request_id=rid,
                tracking_code=code,
                applicant=Applicant(
                    national_code=national_code(index), full_name="زهرا احمدی", mobile=mobile(index)
                ),
                province=PROVINCE,
                subject="درخواست ترمیم آسفالت کوچه",
                text="چاله بزرگ در ابتدای کوچه باعث آسیب به خودروها شده است.",
                submitted_at=at.isoformat(),
            ),
            f"citizen:{national_code(index)}",
        ),
        *_sms(sms_id, index, rid, "submitted", f"درخواست شما با کد رهگیری {code} ثبت شد."),
    ]
    if index % 5:
        sequence = index - index // 5  # the numbered ones, 1, 2, 3, … without gaps
        number = NumberAssigned(
            request_id=rid,
            secretariat=PROVINCE,
            year=YEAR,
            sequence=sequence,
            registration_number=f"{YEAR}/{sequence}",
            clerk="bench-clerk",
        )
        events.append((f"registry-{PROVINCE}-{YEAR}", number, "clerk:bench-clerk"))
    if index % 5 and index % 2:
        reply = ReplyPosted(
            request_id=rid,
            reply_id=uuid.uuid5(uuid.NAMESPACE_OID, f"bench-reply-{index}").hex,
            kind="final",
            body="درخواست شما بررسی و انجام شد.",
            clerk="bench-clerk",
            posted_at=(at + timedelta(days=3)).isoformat(),
        )
        events.append((f"case-{rid}", reply, "clerk:bench-clerk"))
        reply_sms = uuid.uuid5(uuid.NAMESPACE_OID, f"bench-reply-sms-{index}").hex
        events.extend(_sms(reply_sms, index, rid, "replied", f"به درخواست {code} پاسخ داده شد."))
    return events


def _sms(
    message_id: str, index: int, rid: str, template: str, text: str
) -> list[tuple[str, Event, str | None]]:
    stream = f"sms-{message_id}"
    return [
        (
            stream,
            SmsQueued(message_id=message_id, to=mobile(index), template=template, text=text, request_id=rid),
            None,
        ),
        (stream, SmsDispatching(message_id=message_id, attempt=1, provider="outbox"), None),
        (
            stream,
            SmsSent(message_id=message_id, provider="outbox", provider_message_id=f"outbox-{message_id}"),
            None,
        ),
    ]


def rows(requests: int, first_position: int = 1) -> Iterator[tuple[list[dict[str, Any]], dict[str, int]]]:
    """(event rows, stream → last revision) per request, numbered from `first_position`."""
    position = first_position
    book_revision = -1
    recorded_at = datetime.now(UTC).isoformat()
    for index in range(requests):
        revisions: dict[str, int] = {}
        batch = []
        for stream, event, actor in lifecycle(index):
            if stream.startswith("registry-"):
                book_revision += 1
                revision = book_revision
            else:
                revision = revisions.get(stream, -1) + 1
            revisions[stream] = revision
            envelope = new_event(
                event, event_id=derived_id(uuid.UUID(request_id(index)), f"{position}"), actor=actor
            )
            batch.append(
                {
                    "position": position,
                    "event_id": str(envelope.id),
                    "stream": stream,
                    "revision": revision,
                    "type": envelope.type,
                    "version": envelope.version,
                    "data": _dumps(envelope.data),
                    "metadata": _dumps(envelope.metadata),
                    "correlation_id": str(envelope.correlation_id or envelope.id),
                    "causation_id": None,
                    "recorded_at": recorded_at,
                    "hash": None,  # as events stored before the hash chain (integrity --backfill)
                }
            )
            position += 1
        yield batch, revisions


def write(engine: sa.Engine, requests: int, *, chunk: int = 2000) -> int:
    """Write `requests` requests' histories into an empty, migrated store; returns the events."""
    events: list[dict[str, Any]] = []
    streams: dict[str, int] = {}
    written = 0

    def flush() -> None:
        nonlocal written
        with engine.begin() as conn:
            conn.execute(events_table.insert(), events)
            conn.execute(
                streams_table.insert(),
                [
                    {"stream": s, "version": v, "deleted": False, "truncate_before": 0, "last_hash": None}
                    for s, v in streams.items()
                    if not s.startswith("registry-")
                ],
            )
        written += len(events)
        events.clear()
        streams.clear()

    book = 0
    for index, (batch, revisions) in enumerate(rows(requests)):
        events.extend(batch)
        for stream, revision in revisions.items():
            if stream.startswith("registry-"):
                book = revision
            streams[stream] = revision
        if (index + 1) % chunk == 0:
            flush()
    if events:
        flush()
    if requests:
        with engine.begin() as conn:
            book_row = {"stream": f"registry-{PROVINCE}-{YEAR}", "version": book, "deleted": False}
            conn.execute(streams_table.insert(), [{**book_row, "truncate_before": 0, "last_hash": None}])
    return written


def events_per_request() -> float:
    """The average number of events `lifecycle` makes per request (over one cycle of 10)."""
    return sum(len(lifecycle(i)) for i in range(10)) / 10
