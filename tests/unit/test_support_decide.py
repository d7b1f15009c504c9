"""Support tickets' rules as given events / when a command / then events, with no store: a citizen
opens a ticket, support answers, the citizen writes again or closes it, support may close it;
nothing is written on a closed ticket, and a citizen never touches another's."""

from __future__ import annotations

from datetime import UTC, datetime

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
from services.requests.tickets import Answer, Close, FollowUp, Open, TakeNumber, book, tickets
from tests.scenario import scenario

AT = datetime(2026, 5, 2, 8, 0, tzinfo=UTC)
TICKET = "a" * 32
FILE = AttachmentRef(
    attachment_id="f" * 64, name="تصویر.png", media_type="image/png", size=10, sha256="0" * 64
)
OPENED = TicketOpened(
    ticket_id=TICKET,
    number=7,
    account_id="citizen-1",
    full_name="مریم کاظمی",
    subject="ورود به سامانه",
    text="رمز یکبار مصرف به دستم نمی‌رسد.",
    attachments=(FILE,),
    opened_at=AT.isoformat(),
)


def open_command() -> Open:
    payload = OpenTicket(
        account_id="citizen-1",
        full_name="مریم کاظمی",
        subject="ورود به سامانه",
        text="رمز یکبار مصرف به دستم نمی‌رسد.",
    )
    return Open(payload, TICKET, 7, (FILE,), AT)


def answer(text: str = "شماره همراه خود را در میز کار بررسی کنید.") -> Answer:
    return Answer(
        AnswerTicket(ticket_id=TICKET, staff_id="officer-1", staff_name="مسئول میز", text=text), "m1", AT
    )


def follow_up(account_id: str = "citizen-1") -> FollowUp:
    return FollowUp(
        FollowUpTicket(ticket_id=TICKET, account_id=account_id, text="بررسی کردم، درست است."), "m2", (), AT
    )


def close(by: str = "citizen", actor: str = "citizen-1") -> Close:
    return Close(CloseTicket.model_validate({"ticket_id": TICKET, "by": by, "actor_id": actor}), AT)


ANSWERED = TicketAnswered(
    ticket_id=TICKET,
    message_id="m1",
    number=7,
    account_id="citizen-1",
    staff_id="officer-1",
    staff_name="مسئول میز",
    text="شماره همراه خود را در میز کار بررسی کنید.",
    answered_at=AT.isoformat(),
)


def test_a_citizen_opens_a_ticket_with_its_number_and_file() -> None:
    scenario(tickets).when(open_command()).then(OPENED)


def test_a_ticket_is_opened_once() -> None:
    scenario(tickets).given(OPENED).when(open_command()).refused("conflict")


def test_support_answers_and_the_answer_names_whom_to_tell() -> None:
    outcome = scenario(tickets).given(OPENED).when(answer()).then(ANSWERED)
    assert outcome.event().account_id == "citizen-1"


def test_an_unknown_ticket_cannot_be_answered() -> None:
    scenario(tickets).when(answer()).refused("ticket_not_found")


def test_the_citizen_writes_again_and_the_ticket_waits_for_support() -> None:
    history = scenario(tickets).given(OPENED, ANSWERED)
    assert history.state.status == "answered"
    history.when(follow_up()).then(
        TicketFollowedUp(
            ticket_id=TICKET, message_id="m2", text="بررسی کردم، درست است.", written_at=AT.isoformat()
        )
    )
    assert history.after(follow_up()).state.status == "open"


def test_another_citizen_reads_no_such_ticket() -> None:
    scenario(tickets).given(OPENED).when(follow_up("citizen-2")).refused("ticket_not_found")
    scenario(tickets).given(OPENED).when(close("citizen", "citizen-2")).refused("ticket_not_found")


def test_the_citizen_closes_their_ticket() -> None:
    scenario(tickets).given(OPENED, ANSWERED).when(close()).then(
        TicketClosed(ticket_id=TICKET, by="citizen", actor_id="citizen-1", closed_at=AT.isoformat())
    )


def test_support_may_close_any_ticket() -> None:
    scenario(tickets).given(OPENED).when(close("staff", "officer-1")).then_types("TicketClosed")


def test_nothing_is_written_on_a_closed_ticket() -> None:
    closed = scenario(tickets).given(OPENED).after(close())
    assert closed.state.status == "closed"
    closed.when(answer()).refused("ticket_closed")
    closed.when(follow_up()).refused("ticket_closed")
    closed.when(close("staff", "officer-1")).refused("ticket_closed")


def test_the_book_gives_the_next_number() -> None:
    scenario(book).when(TakeNumber(TICKET)).then(TicketNumberTaken(ticket_id=TICKET, number=1))
    scenario(book).given(TicketNumberTaken(ticket_id="b" * 32, number=41)).when(TakeNumber(TICKET)).then(
        TicketNumberTaken(ticket_id=TICKET, number=42)
    )
