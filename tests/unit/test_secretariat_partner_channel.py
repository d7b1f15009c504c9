"""A request a partner system filed through Open311 (no national code) as the secretariat's clerk
sees it: the cartable row and the case file name the partner's system, the national code reads
«—» with why, never a blank; a citizen's own request reads as before. From the events alone, so a
replay rebuilds the same."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.events import new_event
from contracts.partners import PartnerAdded, partner_stream
from contracts.requests import Applicant, RequestSubmitted
from contracts.secretariat_rpc import CartableQuery, Staff
from gateway.backoffice.secretariat_labels import with_channel
from gateway.backoffice.secretariat_pdf import reply_pdf
from gateway.web.templates import make_templates
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.secretariat import queries
from services.secretariat.projections import Inbox
from services.secretariat.tables import history_table, partners_table
from tests.steps import pdf_text

CLERK = Staff(account_id="clerk-1", name="سارا دبیری", roles=("clerk",), province="tehran")
PARTNER = "شهرداری منطقه ۶ تهران"
CHANNEL = f"ثبت‌شده از طریق سامانهٔ همکار: {PARTNER}"
TEMPLATES = Path(__file__).parents[2] / "gateway" / "backoffice" / "templates"


@pytest.fixture
def runner(store: SqlEventStore, db: Database) -> ProjectionRunner:
    running = ProjectionRunner(store, db, [Inbox()])
    running.setup()
    return running


def _add_partner(runner: ProjectionRunner) -> str:
    partner_id = uuid.uuid4().hex
    event = PartnerAdded(
        partner_id=partner_id, name=PARTNER, key_hash="a" * 64, key_prefix="pk_test", added_by="admin-1"
    )
    runner.store.append(partner_stream(partner_id), [new_event(event, actor="admin-1")])
    return partner_id


def submission(applicant: Applicant) -> RequestSubmitted:
    """A new request of `applicant` (a citizen, or a partner's system on someone's behalf)."""
    return RequestSubmitted(
        request_id=uuid.uuid4().hex,
        tracking_code=str(uuid.uuid4().int)[:12],
        applicant=applicant,
        province="tehran",
        subject="روشنایی معابر",
        text="چراغ خیابان خاموش است.",
        submitted_at=datetime.now(UTC).isoformat(),
    )


def _submit(runner: ProjectionRunner, applicant: Applicant) -> str:
    event = submission(applicant)
    request_id = event.request_id
    runner.store.append(f"request-{request_id}", [new_event(event)])
    runner.run_once()
    return request_id


def _by_partner(runner: ProjectionRunner, partner_id: str) -> str:
    applicant = Applicant(
        kind="partner", national_code="", full_name="علی رضایی", mobile="", partner_id=partner_id
    )
    return _submit(runner, applicant)


def _by_citizen(runner: ProjectionRunner) -> str:
    applicant = Applicant(national_code="0084575948", full_name="زهرا احمدی", mobile="09121234567")
    return _submit(runner, applicant)


def _rows(runner: ProjectionRunner, **search: Any) -> dict[str, dict[str, Any]]:
    page = queries.cartable(runner.db.read, CartableQuery(staff=CLERK, folder="all", **search))
    return {row["request_id"]: with_channel(row) for row in page["items"]}


def _case(runner: ProjectionRunner, request_id: str) -> dict[str, Any]:
    return with_channel(queries.case_file(runner.db.read, request_id, CLERK)["case"])


def test_a_partner_filed_request_names_the_partner_and_a_citizens_reads_as_before(
    runner: ProjectionRunner,
) -> None:
    partner_id = _add_partner(runner)
    by_partner, by_citizen = _by_partner(runner, partner_id), _by_citizen(runner)

    rows = _rows(runner)
    assert (rows[by_partner]["partner_id"], rows[by_partner]["partner_name"]) == (partner_id, PARTNER)
    assert rows[by_partner]["channel"] == CHANNEL
    assert (
        rows[by_partner]["national_code"] == "" and "سامانهٔ همکار" in rows[by_partner]["national_code_note"]
    )
    assert (rows[by_citizen]["partner_id"], rows[by_citizen]["partner_name"]) == (None, None)
    assert (rows[by_citizen]["channel"], rows[by_citizen]["national_code_note"]) == ("", "")

    case = _case(runner, by_partner)
    assert case["channel"] == CHANNEL and case["applicant"]["kind"] == "partner"
    assert _case(runner, by_citizen)["channel"] == ""

    runner.rebuild(runner.projections[0])  # `pishkhan replay secretariat.cases`
    assert _case(runner, by_partner)["partner_name"] == PARTNER
    assert _rows(runner)[by_partner]["channel"] == CHANNEL


def test_search_by_national_code_finds_the_citizen_and_never_the_blank_one(runner: ProjectionRunner) -> None:
    by_partner, by_citizen = _by_partner(runner, _add_partner(runner)), _by_citizen(runner)
    assert list(_rows(runner, national_code="۰۰۸۴۵۷۵۹۴۸")) == [by_citizen]  # Persian digits typed
    assert by_partner in _rows(runner, national_code="   ")  # blank: no search, every request
    assert _rows(runner, national_code="—") == {}


def test_a_partner_the_desk_does_not_know_yet_still_shows_the_channel(runner: ProjectionRunner) -> None:
    request_id = _by_partner(runner, _add_partner(runner))
    with runner.db.write.begin() as conn:  # as on a desk upgraded without a replay
        conn.execute(sa.delete(partners_table))
    assert _rows(runner)[request_id]["channel"] == "ثبت‌شده از طریق سامانهٔ همکار"
    assert _case(runner, request_id)["channel"] == "ثبت‌شده از طریق سامانهٔ همکار"


def _history(runner: ProjectionRunner) -> list[tuple[Any, ...]]:
    with runner.db.read.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(history_table).order_by("position"))]


def _filed(runner: ProjectionRunner, request_id: str) -> dict[str, Any]:
    """The case page's submission step of `request_id`."""
    steps = queries.case_file(runner.db.read, request_id, CLERK)["history"]
    return next(step for step in steps if step["action"] == "submitted")


def test_the_history_names_the_partner_system_that_filed_never_an_empty_citizen(
    runner: ProjectionRunner,
) -> None:
    partner_id = _add_partner(runner)
    by_partner, by_citizen = _by_partner(runner, partner_id), _by_citizen(runner)
    unknown = _by_partner(runner, uuid.uuid4().hex)  # a partner this desk has no name for

    step = _filed(runner, by_partner)
    assert (step["actor"], step["actor_name"]) == (f"partner:{partner_id}", f"سامانهٔ همکار: {PARTNER}")
    assert _filed(runner, unknown)["actor_name"] == "سامانهٔ همکار"
    step = _filed(runner, by_citizen)
    assert (step["actor"], step["actor_name"]) == ("citizen:0084575948", "زهرا احمدی")

    live = _history(runner)
    runner.rebuild(runner.projections[0])  # `pishkhan replay secretariat.cases`
    assert _history(runner) == live  # what `pishkhan verify` compares


def test_a_partners_step_recorded_before_the_history_named_partners_reads_as_the_partner(
    runner: ProjectionRunner,
) -> None:
    request_id = _by_partner(runner, _add_partner(runner))
    with runner.db.write.begin() as conn:  # as a desk recorded it before: an empty citizen
        old = {"actor": "citizen:", "actor_name": "علی رضایی"}
        conn.execute(sa.update(history_table).where(history_table.c.request_id == request_id).values(old))
    assert _filed(runner, request_id)["actor_name"] == f"سامانهٔ همکار: {PARTNER}"
    with runner.db.write.begin() as conn:  # and before the desk kept partners' names
        conn.execute(sa.delete(partners_table))
    step = _filed(runner, request_id)
    assert (step["actor"].startswith("partner:"), step["actor_name"]) == (True, "سامانهٔ همکار")


def _render(name: str, **context: Any) -> str:
    template = make_templates(TEMPLATES).env.get_template(name)
    return template.render(request=None, user=None, **context)


def _national_code(page: str, end: str) -> str:
    """The «کد ملی» cell of a page, up to `end`."""
    return page.split("کد ملی", 1)[1].split(end, 1)[0]


def _reply() -> dict[str, Any]:
    return {
        "reply_id": "ab" * 16,
        "kind": "final",
        "reply_number": "1405/tehran/7/1",
        "reply_date": "1405/02/01",
        "posted_at": "2026-04-21T08:00:00+00:00",
        "body": "چراغ تعمیر شد.",
        "attachments": [],
    }


def test_the_pages_and_the_printed_reply_show_a_dash_and_why_never_a_blank(
    runner: ProjectionRunner, tmp_path: Path
) -> None:
    partner_id = _add_partner(runner)
    by_partner, by_citizen = _by_partner(runner, partner_id), _by_citizen(runner)
    partner, citizen = _case(runner, by_partner), _case(runner, by_citizen)

    code = _national_code(_render("secretariat/_filed.html", case=partner), "</dd>")
    assert "—" in code and "سامانهٔ همکار کد ملی متقاضی را نفرستاده است" in code
    code = _national_code(_render("secretariat/_filed.html", case=citizen), "</dd>")
    assert "۰۰۸۴۵۷۵۹۴۸" in code and "—" not in code

    cell = _national_code(_render("secretariat/print.html", case=partner, reply=_reply()), "</tr>")
    assert "—" in cell and CHANNEL in cell
    cell = _national_code(_render("secretariat/print.html", case=citizen, reply=_reply()), "</tr>")
    assert "۰۰۸۴۵۷۵۹۴۸" in cell and "—" not in cell

    text = pdf_text(reply_pdf(partner, _reply()), tmp_path)  # no spaces; a long line may wrap
    code = text.split("کدملی:", 1)[1].split("مستندات", 1)[0]
    assert "—" in code and PARTNER.replace(" ", "") in code and "سامانه" in code
    assert "کدملی:۰۰۸۴۵۷۵۹۴۸" in pdf_text(reply_pdf(citizen, _reply()), tmp_path)
