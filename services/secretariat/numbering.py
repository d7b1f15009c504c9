"""Registration numbers: unique, gapless and increasing per secretariat per Jalali year.

The book of one secretariat for one year is an aggregate whose stream holds the numbers given,
so the n-th number sits at revision n-1. Its state is its last number, loaded from its last
event alone however long the year (`read_last`); `decide` gives the next one. `handle` appends
with the book's version decided on, so two clerks (or two service instances) deciding at once
cannot both take the same number: one append wins, the other decides again on the new end.

That a request is numbered at most once rests on the event id, derived from the request alone
(`number_event_id`): the store refuses the id in another book, and in the same book answers
with the earlier append; either way the number found by that id is the request's, given by
this command (its first answer again) or by another (`already_numbered`).

A number is digits only by default (`{year}/{code}/{sequence}`, e.g. `1405/23/5` for Tehran's
fifth request of 1405): stored with ASCII digits, shown with Persian digits, isolated from the
sentence around it so the bidi algorithm cannot reorder it. Numbers given before the province's
numeric code (`1405/tehran/5`) keep their stored text for good: a citizen was sent it and clerks
search by it, so pages show it as stored, with Persian digits and isolated like any other number
(it then reads left to right in one piece instead of reversed).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import jdatetime

from contracts.catalogue import province_code
from contracts.envelope import RecordedEvent
from contracts.errors import DomainError
from contracts.events import Event, registry
from contracts.eventstore import EventStore
from contracts.rpc import Payload
from contracts.secretariat import NumberAssigned
from infra.commands import Identified
from infra.decider import Decider, Found, handle, read_last
from infra.settings import SecretariatSettings
from services.secretariat.workdays import TEHRAN

DEFAULT_FORMAT = "{year}/{code}/{sequence}"
CONFLICT_RETRIES = 200
"""A hot book (every clerk of a province, two processes) may lose many races in a row."""
NUMBER_TYPES = (NumberAssigned.type_name,)


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
    object, secretariat → format), else `REGISTRATION_NUMBER_FORMAT`, else year/code/sequence."""
    settings = SecretariatSettings.load()
    if secretariat in settings.REGISTRATION_NUMBER_FORMATS:
        return settings.REGISTRATION_NUMBER_FORMATS[secretariat]
    return settings.REGISTRATION_NUMBER_FORMAT


def render_number(pattern: str, secretariat: str, year: int, sequence: int) -> str:
    """A registration number as printed by `pattern`, e.g. `{year}/{code}/{sequence:05d}`; the
    fields are year, yy (two digits), code (the province's numeric code), secretariat (its name,
    as numbers were printed before the code) and sequence."""
    return pattern.format(
        year=year,
        yy=f"{year % 100:02d}",
        code=province_code(secretariat),
        secretariat=secretariat,
        sequence=sequence,
    )


def format_number(secretariat: str, year: int, sequence: int) -> str:
    """The registration number as the secretariat's configured format prints it."""
    return render_number(number_format(secretariat), secretariat, year, sequence)


@dataclass(frozen=True)
class RegistryBook:
    """The end of one secretariat's book for one year: its last sequence (0 for an empty book)."""

    last_sequence: int = 0


@dataclass(frozen=True)
class TakeNumber:
    """Give `request_id` the next number of `secretariat`'s book for `year`, printed by `pattern`
    (the secretariat's configured format, read before deciding)."""

    request_id: str
    secretariat: str
    year: int
    clerk: str
    pattern: str = DEFAULT_FORMAT


def evolve(book: RegistryBook, event: Event) -> RegistryBook:
    """The book after one more number."""
    return RegistryBook(event.sequence) if isinstance(event, NumberAssigned) else book


def decide(command: TakeNumber, book: RegistryBook) -> Sequence[Event]:
    """The next number: one more than the book's last, whoever asks."""
    sequence = book.last_sequence + 1
    return [
        NumberAssigned(
            request_id=command.request_id,
            secretariat=command.secretariat,
            year=command.year,
            sequence=sequence,
            registration_number=render_number(command.pattern, command.secretariat, command.year, sequence),
            clerk=command.clerk,
        )
    ]


BOOK: Decider[TakeNumber, RegistryBook] = Decider(initial=RegistryBook, evolve=evolve, decide=decide)
"""A registry book: its stream is `registry-<secretariat>-<year>`, loaded from its last event."""


def number_of(request_id: str) -> Found:
    """The request's number for a case to fold: one look-up by its id, in whatever book holds it."""

    def found(store: EventStore) -> list[RecordedEvent]:
        recorded = store.find_event(number_event_id(request_id), types=NUMBER_TYPES)
        return [] if recorded is None else [recorded]

    return found


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
    key: Identified | None = None,
) -> NumberAssigned:
    """Append the next number of the book to `request_id`; `already_numbered` when the request
    holds a number already (unless `key`, the command asking, gave it: then its number again,
    or `idempotency_key_reused` when its fingerprint, the client's input with its key, is not
    the first one's)."""
    year = year or jalali_year()
    key = key or Payload()
    stream = book_stream(secretariat, year)
    command = TakeNumber(request_id, secretariat, year, clerk, number_format(secretariat))
    try:
        with _book_lock(stream):
            handle(
                store,
                BOOK,
                command,
                stream,
                identity=key,
                ids=lambda _count: [number_event_id(request_id)],
                load=read_last,
                actor=f"staff:{clerk}",
                metadata={"command": key.command_id, "actor_name": actor_name or clerk},
                attempts=CONFLICT_RETRIES,
            )
    except DomainError as error:
        if error.code != "idempotency_key_reused":
            raise
        return earlier_number(store, request_id, key)  # the id was in another book already
    # The append may have been answered with another's: a process that numbered the request on
    # the same end of the book decided the same sequence, so neither the revision nor the event
    # tells. The stored event's command does.
    return earlier_number(store, request_id, key)


def earlier_number(store: EventStore, request_id: str, key: Identified) -> NumberAssigned:
    """The number the request holds already: the one `key` gave (again, if its input is the same),
    else `already_numbered`."""
    found = store.find_event(number_event_id(request_id), types=NUMBER_TYPES)
    if found is None or found.metadata.get("command") != key.command_id:
        raise DomainError("already_numbered")
    key.check_repeat(found)
    event = registry.decode(found)
    assert isinstance(event, NumberAssigned)
    return event
