"""Support tickets (seed 001's «ثبت تیکت» / «تیکت‌های من»), written by `services/requests`.

A signed-in citizen asks the desk's support a question (a subject, a text, an optional file);
staff of the back office's «پشتیبانی» folder answer; the citizen reads the answer, may write
again on the same ticket (a thread) or close it; staff may close it too. Each ticket is the
stream `ticket-<id>`; its short number comes from the book `support-ticket-numbers`, one
`TicketNumberTaken` per ticket, so no two tickets share a number.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.errors import register_messages
from contracts.events import Event, registry
from contracts.fields import Text
from contracts.requests import MAX_UPLOAD_BYTES, AttachmentRef
from contracts.rpc import Payload

TICKET_STATUSES = {
    "open": "در انتظار پاسخ پشتیبانی",
    "answered": "پاسخ داده شده",
    "closed": "بسته شده",
}
"""A ticket's states as the citizen and staff read them."""

TICKET_ID = Field(pattern=r"^[0-9a-f]{32}$")
ACCOUNT = Field(min_length=1, max_length=100)
UPLOAD = Field(default=None, max_length=(MAX_UPLOAD_BYTES * 4) // 3 + 8)
FILE_NAME = Field(default=None, min_length=1, max_length=200)


@registry.event("TicketNumberTaken", 1, terminal=True)
class TicketNumberTaken(Event):
    """Reserves the next short number of the support book for one ticket."""

    ticket_id: str
    number: int = Field(ge=1)


@registry.event("TicketOpened", 1)
class TicketOpened(Event):
    """A citizen filed a ticket (ثبت تیکت); `account_id` is whose it is, and whom its answers
    are told to by SMS."""

    ticket_id: str
    number: int = Field(ge=1)
    account_id: str
    full_name: str = Field(max_length=200)
    subject: str = Field(max_length=200)
    text: str
    attachments: tuple[AttachmentRef, ...] = ()
    opened_at: str


@registry.event("TicketAnswered", 1)
class TicketAnswered(Event):
    """Support answered the ticket (the citizen is told by SMS)."""

    ticket_id: str
    message_id: str
    number: int = Field(ge=1)
    account_id: str
    staff_id: str
    staff_name: str
    text: str
    answered_at: str


@registry.event("TicketFollowedUp", 1)
class TicketFollowedUp(Event):
    """The citizen wrote again on their open ticket; it waits for support's answer again."""

    ticket_id: str
    message_id: str
    text: str
    attachments: tuple[AttachmentRef, ...] = ()
    written_at: str


@registry.event("TicketClosed", 1)
class TicketClosed(Event):
    """The citizen or support closed the ticket; nothing more is written on it."""

    ticket_id: str
    by: Literal["citizen", "staff"]
    actor_id: str
    actor_name: str = ""
    closed_at: str


# -- RPC payloads (gateways → services/requests) ---------------------------------------------


class OpenTicket(Payload):
    """ثبت تیکت: the signed-in citizen's question, with an optional file."""

    account_id: str = ACCOUNT
    full_name: str = Field(default="", max_length=200)
    subject: Text = Field(min_length=2, max_length=200)
    text: Text = Field(min_length=1, max_length=4000)
    file_name: str | None = FILE_NAME
    file_base64: str | None = UPLOAD


class FollowUpTicket(Payload):
    """The citizen writes again on their ticket."""

    ticket_id: str = TICKET_ID
    account_id: str = ACCOUNT
    text: Text = Field(min_length=1, max_length=4000)
    file_name: str | None = FILE_NAME
    file_base64: str | None = UPLOAD


class AnswerTicket(Payload):
    """Support's answer to a ticket."""

    ticket_id: str = TICKET_ID
    staff_id: str = ACCOUNT
    staff_name: str = Field(default="", max_length=200)
    text: Text = Field(min_length=1, max_length=4000)


class CloseTicket(Payload):
    """The citizen (`by="citizen"`, their own ticket only) or support closes a ticket."""

    ticket_id: str = TICKET_ID
    by: Literal["citizen", "staff"]
    actor_id: str = ACCOUNT
    actor_name: str = Field(default="", max_length=200)


register_messages(
    {
        "ticket_not_found": (404, "تیکتی با این مشخصات یافت نشد."),
        "ticket_closed": (409, "این تیکت بسته شده است و پیام تازه‌ای روی آن ثبت نمی‌شود."),
    }
)
