"""Support tickets through the real commands, store and projection: numbers, the thread, the
citizen's list, the support folder's deadline, files, and a rebuild that gives the same rows."""

from __future__ import annotations

import base64
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from contracts.errors import DomainError
from contracts.support import AnswerTicket, CloseTicket, FollowUpTicket, OpenTicket
from infra.attachments import AttachmentStore
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.requests import support_sla, tickets, tickets_queries
from services.requests.tickets_view import Tickets, messages_table, tickets_table
from tests.unit.test_requests_files import EXE, PNG


class Desk:
    def __init__(self, store: SqlEventStore, db: Database, folder: Path) -> None:
        self.store, self.db = store, db
        self.runner = ProjectionRunner(store, db, [Tickets()])
        self.runner.setup()
        self.files = AttachmentStore(folder / "files")

    def open(self, account: str = "citizen-1", **extra: str) -> dict[str, object]:
        body = {"account_id": account, "full_name": "مریم کاظمی", "subject": "ورود", "text": "پرسش", **extra}
        opened = tickets.open_ticket(self.store, self.files, OpenTicket.model_validate(body))
        self.runner.run_once()
        return opened

    def rows(self) -> list[tuple[object, ...]]:
        with self.db.read.connect() as conn:
            found = [
                tuple(r) for r in conn.execute(sa.select(tickets_table).order_by(tickets_table.c.number))
            ]
            found += [
                tuple(r) for r in conn.execute(sa.select(messages_table).order_by(messages_table.c.position))
            ]
        return found


@pytest.fixture
def desk(store: SqlEventStore, db: Database, tmp_path: Path) -> Desk:
    return Desk(store, db, tmp_path)


def test_each_ticket_gets_the_next_short_number_and_a_repeat_gets_its_own(desk: Desk) -> None:
    first = desk.open(command_id="first-command")
    second = desk.open(account="citizen-2")
    again = desk.open(command_id="first-command")
    assert (first["number"], second["number"]) == (1, 2)
    assert again["ticket_id"] == first["ticket_id"] and again["number"] == 1
    assert [t["number"] for t in tickets_queries.my_tickets(desk.db.read, "citizen-1")] == [1]


def test_the_thread_the_citizen_and_support_read(desk: Desk) -> None:
    content = base64.b64encode(PNG).decode()
    ticket_id = str(desk.open(file_name="صفحه.png", file_base64=content)["ticket_id"])
    answer = {"ticket_id": ticket_id, "staff_id": "officer-1", "staff_name": "مسئول میز", "text": "پاسخ"}
    tickets.answer_ticket(desk.store, AnswerTicket.model_validate(answer))
    desk.runner.run_once()
    answered = tickets_queries.ticket(desk.db.read, ticket_id, "citizen-1")
    assert answered["status"] == "answered"
    assert [(m["author"], m["text"]) for m in answered["thread"]] == [("citizen", "پرسش"), ("staff", "پاسخ")]
    file = answered["thread"][0]["attachments"][0]
    got = tickets.ticket_file(desk.store, desk.files, ticket_id, "citizen-1", file["attachment_id"])
    assert base64.b64decode(got["content_base64"]) == PNG
    with pytest.raises(DomainError) as other:
        tickets_queries.ticket(desk.db.read, ticket_id, "citizen-2")
    assert other.value.code == "ticket_not_found"

    written = {"ticket_id": ticket_id, "account_id": "citizen-1", "text": "باز هم نشد"}
    tickets.follow_up(desk.store, desk.files, FollowUpTicket.model_validate(written))
    desk.runner.run_once()
    assert tickets_queries.ticket(desk.db.read, ticket_id)["status"] == "open"
    closing = {"ticket_id": ticket_id, "by": "citizen", "actor_id": "citizen-1"}
    tickets.close_ticket(desk.store, CloseTicket.model_validate(closing))
    desk.runner.run_once()
    closed = tickets_queries.ticket(desk.db.read, ticket_id)
    assert (closed["status"], closed["closed_by"], closed["messages"], closed["due"]) == (
        "closed",
        "citizen",
        3,
        None,
    )

    before = desk.rows()
    desk.runner.rebuild(desk.runner.projections[0])
    assert desk.rows() == before


def test_a_disguised_file_is_refused_and_nothing_is_opened(desk: Desk) -> None:
    with pytest.raises(DomainError) as refused:
        desk.open(file_name="راهنما.pdf", file_base64=base64.b64encode(EXE).decode())
    assert refused.value.code == "attachment_bad_type" or refused.value.code == "attachment_disguised"
    assert tickets_queries.my_tickets(desk.db.read, "citizen-1") == []


def test_the_support_folder_shows_what_is_overdue(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_ANSWER_DAYS", "2")
    monkeypatch.setenv("HOLIDAYS", "")
    monkeypatch.setenv("WEEKEND_DAYS", "fri")
    ticket_id = desk.open()["ticket_id"]
    opened = support_sla.local_date(str(tickets_queries.ticket(desk.db.read, str(ticket_id))["opened_at"]))
    calendar = support_sla.parse_calendar("", "fri")
    due = calendar.add_working_days(opened, 2)
    on_time = tickets_queries.support_folder(desk.db.read, "open", on=due)
    late = tickets_queries.support_folder(desk.db.read, "open", on=due + timedelta(days=1))
    assert [(i["due"], i["overdue"]) for i in on_time["items"]] == [(due.isoformat(), False)]
    assert [i["overdue"] for i in late["items"]] == [True] and late["overdue"] == 1
    assert on_time["counts"] == {"open": 1, "answered": 0, "closed": 0}


def test_working_days_skip_fridays_and_holidays() -> None:
    calendar = support_sla.parse_calendar("01/13", "fri")
    wednesday = date(2026, 3, 25)  # 1405/01/05
    assert calendar.add_working_days(wednesday, 2) == date(2026, 3, 28)  # Thursday, then Saturday
    assert not calendar.is_working(date(2026, 4, 2))  # 1405/01/13
