"""Registration numbers: unique, gapless and increasing per secretariat per Jalali year.

The book of one secretariat for one year is a stream; its events are the numbers given, so the
n-th number sits at revision n-1. A clerk's append names the book's version it decided on, so
two clerks (or two service instances) deciding at once cannot both take the same number: one
append wins, the other reads the book's last number again and takes the next.

Loading the book reads only its last event (backwards, limit 1), however long the year. That a
request is numbered at most once rests on the event id, derived from the request alone: the
store refuses the id in another book, and in the same book answers with the earlier append,
whose recorded command is not this one.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import jdatetime

from contracts.envelope import DuplicateEventIds, StreamNotFound, StreamState, WrongExpectedVersion
from contracts.errors import DomainError
from contracts.events import new_event, registry
from contracts.eventstore import EventStore
from contracts.rpc import check_same_input
from contracts.secretariat import NumberAssigned
from services.secretariat.workdays import TEHRAN

DEFAULT_FORMAT = "{year}/{secretariat}/{sequence}"
CONFLICT_RETRIES = 200


def book_stream(secretariat: str, year: int) -> str:
    """The stream of one secretariat's numbers in one Jalali year."""
    return f"registry-{secretariat}-{year}"


def number_event_id(request_id: str) -> uuid.UUID:
    """One id per request, whatever the book: a request numbered anywhere refuses a second."""
    return uuid.uuid5(uuid.NAMESPACE_OID, f"number:{request_id}")


def jalali_year() -> int:
    """The current year of the Iranian calendar, in Tehran (the year turns at Tehran's midnight,
    whatever the server's own time zone)."""
    return int(jdatetime.datetime.fromgregorian(datetime=datetime.now(TEHRAN)).year)


def number_format(secretariat: str) -> str:
    """The format of a secretariat's numbers: its entry in `REGISTRATION_NUMBER_FORMATS` (a JSON
    object, secretariat → format), else `REGISTRATION_NUMBER_FORMAT`, else year/secretariat/sequence."""
    per_secretariat = json.loads(os.environ.get("REGISTRATION_NUMBER_FORMATS") or "{}")
    if secretariat in per_secretariat:
        return str(per_secretariat[secretariat])
    return os.environ.get("REGISTRATION_NUMBER_FORMAT", DEFAULT_FORMAT)


def format_number(secretariat: str, year: int, sequence: int) -> str:
    """The registration number as printed, e.g. `{year}/{secretariat}/{sequence:05d}`; the fields
    are year, yy (two digits), secretariat and sequence."""
    return number_format(secretariat).format(
        year=year, yy=f"{year % 100:02d}", secretariat=secretariat, sequence=sequence
    )


@dataclass
class RegistryBook:
    """The end of one secretariat's book for one year: its last sequence and revision."""

    secretariat: str
    year: int
    last_sequence: int = 0
    version: int | None = None  # the stream revision of the last number; None for an empty book

    def apply(self, event: NumberAssigned, revision: int) -> None:
        """Take the book's last recorded number into account."""
        self.last_sequence, self.version = event.sequence, revision

    def assign(self, request_id: str, clerk: str) -> NumberAssigned:
        """Decide the next number for `request_id`."""
        sequence = self.last_sequence + 1
        return NumberAssigned(
            request_id=request_id,
            secretariat=self.secretariat,
            year=self.year,
            sequence=sequence,
            registration_number=format_number(self.secretariat, self.year, sequence),
            clerk=clerk,
        )


def load_book(store: EventStore, secretariat: str, year: int) -> RegistryBook:
    """The book's end, from its last event alone."""
    book = RegistryBook(secretariat, year)
    try:
        last = store.read_stream(book_stream(secretariat, year), backwards=True, limit=1)
    except StreamNotFound:
        return book
    if last:
        event = registry.decode(last[0])
        assert isinstance(event, NumberAssigned)
        book.apply(event, last[0].revision)
    return book


_book_locks: dict[str, threading.Lock] = {}
_book_locks_guard = threading.Lock()


def _book_lock(stream: str) -> threading.Lock:
    """One lock per book in this process: its clerks queue instead of racing each other, so only
    other processes' appends can make a decision stale."""
    with _book_locks_guard:
        return _book_locks.setdefault(stream, threading.Lock())


def take_number(
    store: EventStore,
    secretariat: str,
    request_id: str,
    clerk: str,
    *,
    actor_name: str = "",
    year: int = 0,
    command_id: str = "",
    fingerprint: str = "",
) -> NumberAssigned:
    """Append the next number of the book to `request_id`, retrying when another process wins the
    race; `already_numbered` when the request holds a number already (unless this very command
    gave it: then its number again, or `idempotency_key_reused` when its `fingerprint`, the
    client's input with its key, is not the first one's)."""
    year = year or jalali_year()
    stream = book_stream(secretariat, year)
    command_id = command_id or uuid.uuid4().hex
    for attempt in range(CONFLICT_RETRIES):
        with _book_lock(stream):
            book = load_book(store, secretariat, year)
            event = book.assign(request_id, clerk)
            envelope = new_event(event, event_id=number_event_id(request_id), actor=f"staff:{clerk}")
            envelope.metadata.update(command=command_id, actor_name=actor_name or clerk)
            if fingerprint:
                envelope.metadata["fingerprint"] = fingerprint
            expected = StreamState.NO_STREAM if book.version is None else book.version
            try:
                result = store.append(stream, [envelope], expected)
            except WrongExpectedVersion:
                result = None
            except DuplicateEventIds:
                raise DomainError("already_numbered") from None
        if result is None:  # another process took a number first: decide again on the new end
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 20)))
            continue
        # The id is the request's: the store may answer with an earlier append of it.
        (stored,) = store.read_stream(stream, result.revision, limit=1)
        if stored.id != envelope.id or stored.metadata.get("command") != command_id:
            raise DomainError("already_numbered")
        check_same_input(fingerprint, stored)
        decoded = registry.decode(stored)
        assert isinstance(decoded, NumberAssigned)
        return decoded
    raise DomainError("conflict", "the registry book stayed busy")
