"""The citizen is told by SMS when support answers their ticket: once, to the account's mobile,
with the ticket's number in Persian digits; nothing for the opening, a follow-up or the closing."""

from __future__ import annotations

from contracts.events import new_event
from contracts.identity import CitizenRegistered
from contracts.support import TicketAnswered, TicketClosed, TicketFollowedUp, TicketOpened
from tests.unit.test_notify_fakes import NotifyDesk

TICKET = "c" * 32


def test_an_answer_is_told_once_with_the_ticket_number(notify_desk: NotifyDesk) -> None:
    registered = CitizenRegistered(
        account_id="a1",
        national_code="0084575948",
        mobile="09121234567",
        kind="natural",
        full_name="مریم کاظمی",
        first_name="مریم",
        last_name="کاظمی",
        birth_date="1370/01/01",
        method="mobile",
        registered_at="t",
    )
    notify_desk.store.append("account-a1", [new_event(registered)])
    opened = TicketOpened(
        ticket_id=TICKET,
        number=12,
        account_id="a1",
        full_name="مریم",
        subject="ورود",
        text="پرسش",
        opened_at="t",
    )
    answered = TicketAnswered(
        ticket_id=TICKET,
        message_id="m1",
        number=12,
        account_id="a1",
        staff_id="o1",
        staff_name="مسئول میز",
        text="پاسخ",
        answered_at="t",
    )
    followed = TicketFollowedUp(ticket_id=TICKET, message_id="m2", text="باز هم", written_at="t")
    closed = TicketClosed(ticket_id=TICKET, by="citizen", actor_id="a1", closed_at="t")
    notify_desk.store.append(f"ticket-{TICKET}", [new_event(e) for e in (opened, answered, followed, closed)])
    notify_desk.catch_up()
    notify_desk.catch_up()
    told = [(to, text) for _, to, text in notify_desk.sms.calls if "تیکت" in text]
    assert len(told) == 1, notify_desk.sms.calls
    assert told[0][0] == "09121234567"
    assert "تیکت شماره ۱۲ " in told[0][1]
