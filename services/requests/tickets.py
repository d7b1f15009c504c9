"""Support tickets as aggregates: a citizen's question, support's answers, the citizen's follow-ups
and the closing, each decided on the ticket's own stream (`ticket-<id>`) with `infra.decider`.

`decide` and `evolve` are pure: the ticket's id, its number, the stored files' references and the
time come in with the command. A ticket's short number is taken from a book of numbers (the
stream `support-ticket-numbers`, whose state is its last number), under an event id derived from
the ticket alone: a repeated command finds its ticket's number instead of taking another.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.catalogue import AttachmentRules
from contracts.errors import DomainError
from contracts.events import Event, registry
from contracts.eventstore import EventStore
from contracts.requests import AttachmentRef
from contracts.support import (
    AnswerTicket,
    CloseTicket,
    FollowUpTicket,
    OpenTicket,
    TicketAnswered,
    TicketClosed,
    TicketFollowedUp,
    TicketNumberTaken,
    TicketOpened,
)
from infra.attachments import AttachmentStore
from infra.commands import Identified
from infra.decider import Decider, handle, load_state, read_last
from services.requests.files import decoded, store_checked

NUMBERS_STREAM = "support-ticket-numbers"
TICKET_FILES = AttachmentRules()
"""A ticket's file follows the requests' default attachment rules (one file; its types and size)."""


def ticket_stream(ticket_id: str) -> str:
    """The stream of one ticket."""
    return f"ticket-{ticket_id}"


def number_event_id(ticket_id: str) -> uuid.UUID:
    """One number per ticket: the id of its `TicketNumberTaken`."""
    return uuid.uuid5(uuid.NAMESPACE_OID, f"ticket-number:{ticket_id}")


# -- the ticket ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    """A ticket as its stream says now: how it was opened (None: no such ticket), its state
    (open: waiting for support; answered; closed) and how many messages it holds."""

    opened: TicketOpened | None = None
    status: str = "none"
    messages: int = 0


@dataclass(frozen=True)
class Open:
    """`OpenTicket` with the ticket's id and number, its stored file and the time."""

    payload: OpenTicket
    ticket_id: str
    number: int
    attachments: tuple[AttachmentRef, ...]
    at: datetime


@dataclass(frozen=True)
class FollowUp:
    """`FollowUpTicket` with its message id, its stored file and the time."""

    payload: FollowUpTicket
    message_id: str
    attachments: tuple[AttachmentRef, ...]
    at: datetime


@dataclass(frozen=True)
class Answer:
    """`AnswerTicket` with its message id and the time."""

    payload: AnswerTicket
    message_id: str
    at: datetime


@dataclass(frozen=True)
class Close:
    """`CloseTicket` with the time."""

    payload: CloseTicket
    at: datetime


Command = Open | FollowUp | Answer | Close


def evolve(state: Ticket, event: Event) -> Ticket:
    if isinstance(event, TicketOpened):
        return Ticket(opened=event, status="open", messages=1)
    if isinstance(event, TicketAnswered):
        return dataclasses.replace(state, status="answered", messages=state.messages + 1)
    if isinstance(event, TicketFollowedUp):
        return dataclasses.replace(state, status="open", messages=state.messages + 1)
    if isinstance(event, TicketClosed):
        return dataclasses.replace(state, status="closed")
    return state


def owned(state: Ticket, account_id: str) -> TicketOpened:
    """The ticket, when it exists and is `account_id`'s (another's reads like none:
    `ticket_not_found`)."""
    if state.opened is None or state.opened.account_id != account_id:
        raise DomainError("ticket_not_found")
    return state.opened


def writable(state: Ticket) -> TicketOpened:
    """The ticket, when it exists and is not closed (`ticket_not_found`, `ticket_closed`)."""
    if state.opened is None:
        raise DomainError("ticket_not_found")
    if state.status == "closed":
        raise DomainError("ticket_closed")
    return state.opened


def decide(command: Command, state: Ticket) -> Sequence[Event]:
    """What a ticket's command records, or its refusal."""
    at = command.at.isoformat()
    if isinstance(command, Open):
        if state.opened is not None:
            raise DomainError("conflict", "the ticket exists already")
        question = command.payload
        return [
            TicketOpened(
                ticket_id=command.ticket_id,
                number=command.number,
                account_id=question.account_id,
                full_name=question.full_name,
                subject=question.subject,
                text=question.text,
                attachments=command.attachments,
                opened_at=at,
            )
        ]
    if isinstance(command, FollowUp):
        owned(state, command.payload.account_id)
        opened = writable(state)
        return [
            TicketFollowedUp(
                ticket_id=opened.ticket_id,
                message_id=command.message_id,
                text=command.payload.text,
                attachments=command.attachments,
                written_at=at,
            )
        ]
    if isinstance(command, Answer):
        opened = writable(state)
        reply = command.payload
        return [
            TicketAnswered(
                ticket_id=opened.ticket_id,
                message_id=command.message_id,
                number=opened.number,
                account_id=opened.account_id,
                staff_id=reply.staff_id,
                staff_name=reply.staff_name or reply.staff_id,
                text=reply.text,
                answered_at=at,
            )
        ]
    payload = command.payload
    if payload.by == "citizen":
        owned(state, payload.actor_id)
    opened = writable(state)
    return [
        TicketClosed(
            ticket_id=opened.ticket_id,
            by=payload.by,
            actor_id=payload.actor_id,
            actor_name=payload.actor_name,
            closed_at=at,
        )
    ]


tickets: Decider[Command, Ticket] = Decider(initial=Ticket, evolve=evolve, decide=decide)
"""A support ticket: the stream `ticket-<id>`."""


# -- the book of numbers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Book:
    """The end of the book of ticket numbers: its last number (0 when empty)."""

    last: int = 0


@dataclass(frozen=True)
class TakeNumber:
    """Give `ticket_id` the book's next number."""

    ticket_id: str


def _evolve_book(book: Book, event: Event) -> Book:
    return Book(event.number) if isinstance(event, TicketNumberTaken) else book


def _decide_number(command: TakeNumber, book: Book) -> Sequence[Event]:
    return [TicketNumberTaken(ticket_id=command.ticket_id, number=book.last + 1)]


book: Decider[TakeNumber, Book] = Decider(initial=Book, evolve=_evolve_book, decide=_decide_number)
"""The book `support-ticket-numbers`, loaded from its last event."""


def take_number(store: EventStore, ticket_id: str, key: Identified) -> int:
    """The ticket's number: the book's next one, or the one it was given already (a repeated
    command appends the same event id, which the store answers with the first append)."""
    handle(
        store,
        book,
        TakeNumber(ticket_id),
        NUMBERS_STREAM,
        identity=key,
        ids=lambda _count: [number_event_id(ticket_id)],
        load=read_last,
        actor="service:requests",
        attempts=200,
    )
    found = store.find_event(number_event_id(ticket_id), types=(TicketNumberTaken.type_name,))
    if found is None:  # pragma: no cover - the append above put it there
        raise DomainError("conflict", "the ticket's number was not found")
    event = registry.decode(found)
    assert isinstance(event, TicketNumberTaken)
    return event.number


# -- commands as the service runs them ------------------------------------------------------


def _file(
    files: AttachmentStore, name: str | None, content: str | None, already: int
) -> tuple[AttachmentRef, ...]:
    """The checked and stored file a message carries, if any (`attachment_*` when refused)."""
    if not content:
        return ()
    data = decoded(content, "file_base64")
    return (store_checked(files, name or "file", data, TICKET_FILES, already),)


def _answer(state: Ticket, position: int | None = None) -> dict[str, Any]:
    """The ticket's id, number and state, and the `$all` position of what the command recorded
    (None when it recorded nothing): what the service waits for its read model to reach."""
    opened = state.opened
    assert opened is not None
    return {
        "ticket_id": opened.ticket_id,
        "number": opened.number,
        "status": state.status,
        "position": position,
    }


def open_ticket(store: EventStore, files: AttachmentStore, command: OpenTicket) -> dict[str, Any]:
    """ثبت تیکت: check and store its file, take a number, open the ticket. A repeated command
    opens nothing more and answers with its ticket."""
    ticket_id = command.derived("ticket").hex
    stream = ticket_stream(ticket_id)
    loaded = load_state(store, tickets, stream)
    if loaded.own:  # a repeat (the ticket's id is this command's): its ticket is there
        command.check_repeat(loaded.own[0])
        return _answer(loaded.state, loaded.own[-1].position)
    attachments = _file(files, command.file_name, command.file_base64, 0)
    number = take_number(store, ticket_id, command)
    decided = handle(
        store,
        tickets,
        _open(command, ticket_id, number, attachments),
        stream,
        identity=command,
        purpose="opened",
        loaded=loaded,
        actor=f"citizen:{command.account_id}",
    )
    return _answer(decided.state, decided.position)


def _open(command: OpenTicket, ticket_id: str, number: int, attachments: tuple[AttachmentRef, ...]) -> Open:
    return Open(command, ticket_id, number, attachments, datetime.now(UTC))


def follow_up(store: EventStore, files: AttachmentStore, command: FollowUpTicket) -> dict[str, Any]:
    """The citizen writes again on their own open ticket (its file checked first)."""
    stream = ticket_stream(command.ticket_id)
    loaded = load_state(store, tickets, stream)
    owned(loaded.state, command.account_id)
    writable(loaded.state)
    repeated = any(recorded.id == command.derived("followed-up") for recorded in loaded.own)
    attachments = () if repeated else _file(files, command.file_name, command.file_base64, 0)
    message_id = command.derived("message").hex
    decided = handle(
        store,
        tickets,
        FollowUp(command, message_id, attachments, datetime.now(UTC)),
        stream,
        identity=command,
        purpose="followed-up",
        loaded=loaded,
        actor=f"citizen:{command.account_id}",
    )
    return _answer(decided.state, decided.position)


def answer_ticket(store: EventStore, command: AnswerTicket) -> dict[str, Any]:
    """Support's answer to an open ticket."""
    decided = handle(
        store,
        tickets,
        Answer(command, command.derived("message").hex, datetime.now(UTC)),
        ticket_stream(command.ticket_id),
        identity=command,
        purpose="answered",
        actor=f"staff:{command.staff_id}",
    )
    return _answer(decided.state, decided.position)


def close_ticket(store: EventStore, command: CloseTicket) -> dict[str, Any]:
    """The citizen (their own ticket) or support closes a ticket."""
    decided = handle(
        store,
        tickets,
        Close(command, datetime.now(UTC)),
        ticket_stream(command.ticket_id),
        identity=command,
        purpose="closed",
        actor=f"{command.by}:{command.actor_id}",
    )
    return _answer(decided.state, decided.position)


def ticket_file(
    store: EventStore, files: AttachmentStore, ticket_id: str, account_id: str | None, attachment_id: str
) -> dict[str, Any]:
    """A file of a ticket, after checking its hash: for its citizen (`account_id`), or for
    support (None)."""
    history = load_state(store, tickets, ticket_stream(ticket_id))
    opened = owned(history.state, account_id) if account_id is not None else history.state.opened
    if opened is None:
        raise DomainError("ticket_not_found")
    refs = [*opened.attachments]
    for recorded in history.own:
        event = registry.decode(recorded)
        if isinstance(event, TicketFollowedUp):
            refs.extend(event.attachments)
    ref = next((r for r in refs if r.attachment_id == attachment_id), None)
    if ref is None:
        raise DomainError("ticket_not_found")
    data = files.get(ref.attachment_id)
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise DomainError("internal_error", "stored file does not match its hash")
    return {"name": ref.name, "media_type": ref.media_type, "content_base64": base64.b64encode(data).decode()}
