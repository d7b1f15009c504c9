"""What the citizen gave and the files a correction replaced, as the secretariat's read model keeps
them for the case page: from the events alone, so a replay rebuilds the same."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from contracts.events import new_event
from contracts.requests import Applicant, AttachmentRef, RequestResubmitted, RequestSubmitted, Visit
from contracts.secretariat_rpc import Staff
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.secretariat import queries
from services.secretariat.projections import Inbox
from services.secretariat.tables import case_details_table
from tests.units import define_units

CLERK = Staff(account_id="clerk-1", name="سارا دبیری", roles=("clerk",), province="tehran")


def _file(name: str, size: int = 45) -> AttachmentRef:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return AttachmentRef(
        attachment_id=digest, name=name, media_type="application/pdf", size=size, sha256=digest
    )


@pytest.fixture
def runner(store: SqlEventStore, db: Database) -> ProjectionRunner:
    running = ProjectionRunner(store, db, [Inbox()])
    running.setup()
    define_units(store, {"rural": "دفتر توسعه روستایی"})
    return running


def _submit(runner: ProjectionRunner, *files: AttachmentRef) -> str:
    request_id = uuid.uuid4().hex
    event = RequestSubmitted(
        request_id=request_id,
        tracking_code=str(uuid.uuid4().int)[:12],
        applicant=Applicant(
            national_code="0084575948",
            full_name="زهرا احمدی",
            mobile="09121234567",
            landline="02166001122",
            email="zahra@example.ir",
            address="تهران، خیابان آزادی",
            account_id="citizen-1",
        ),
        province="tehran",
        subject="صدور مجوز",
        text="متن",
        submitted_at=datetime.now(UTC).isoformat(),
        form="wizard",
        unit="rural",
        addressee_unit="rural",
        service_id="10012134001",
        service_name="صدور مجوز تاسیس دهیاری",
        attachments=files,
        visit=Visit(unit="دفتر توسعه روستایی", officer="ابوالفضل یاری", visit_date="1402/05/01"),
    )
    runner.store.append(f"request-{request_id}", [new_event(event)])
    runner.run_once()
    return request_id


def _correct(runner: ProjectionRunner, request_id: str, *files: AttachmentRef) -> None:
    event = RequestResubmitted(
        request_id=request_id, subject="صدور مجوز", text="متن اصلاح‌شده", attachments=files, resubmitted_at="x"
    )
    runner.store.append(f"request-{request_id}", [new_event(event)])
    runner.run_once()


def _names(files: list[dict[str, object]]) -> list[object]:
    return [f["name"] for f in files]


def test_the_case_file_has_everything_the_citizen_gave(runner: ProjectionRunner) -> None:
    case = queries.case_file(runner.db.read, _submit(runner, _file("a.pdf")), CLERK)["case"]
    assert case["applicant"]["landline"] == "02166001122" and case["applicant"]["email"] == "zahra@example.ir"
    assert case["applicant"]["address"] == "تهران، خیابان آزادی"
    assert "account_id" not in case["applicant"]  # the account is no part of what was typed
    assert case["visit"]["officer"] == "ابوالفضل یاری" and case["visit"]["visit_date"] == "1402/05/01"
    assert (case["filed_unit"], case["filed_unit_name"]) == ("rural", "دفتر توسعه روستایی")
    assert (case["addressee_unit"], case["addressee_unit_name"]) == ("rural", "دفتر توسعه روستایی")
    assert case["earlier_attachments"] == [] and case["attachments_at"] == case["submitted_at"]


def test_a_correction_makes_its_files_current_and_keeps_the_replaced_ones_newest_first(
    runner: ProjectionRunner,
) -> None:
    first, second, third = _file("a.pdf"), _file("b.pdf", 2048), _file("c.pdf")
    request_id = _submit(runner, first)
    _correct(runner, request_id, first)  # the text corrected, the files as they were: no version
    assert queries.case_file(runner.db.read, request_id, CLERK)["case"]["earlier_attachments"] == []

    _correct(runner, request_id, second)
    _correct(runner, request_id, second, third)
    case = queries.case_file(runner.db.read, request_id, CLERK)["case"]
    assert _names(case["attachments"]) == ["b.pdf", "c.pdf"]
    versions = case["earlier_attachments"]
    assert [_names(v["files"]) for v in versions] == [["b.pdf"], ["a.pdf"]]
    assert versions[1]["sent_at"] == case["submitted_at"]
    assert versions[1]["replaced_at"] == versions[0]["sent_at"] <= versions[0]["replaced_at"]
    assert case["attachments_at"] == versions[0]["replaced_at"]

    runner.rebuild(runner.projections[0])
    assert queries.case_file(runner.db.read, request_id, CLERK)["case"] == case


def test_a_request_filed_before_the_details_were_kept_still_keeps_a_replaced_file(
    runner: ProjectionRunner,
) -> None:
    request_id = _submit(runner, _file("a.pdf"))
    with runner.db.write.begin() as conn:  # as on a desk upgraded without a replay
        conn.execute(sa.delete(case_details_table))
    before = queries.case_file(runner.db.read, request_id, CLERK)["case"]
    assert before["applicant"] == {} and before["visit"] is None and before["earlier_attachments"] == []

    _correct(runner, request_id, _file("b.pdf"))
    case = queries.case_file(runner.db.read, request_id, CLERK)["case"]
    assert _names(case["attachments"]) == ["b.pdf"]
    assert [_names(v["files"]) for v in case["earlier_attachments"]] == [["a.pdf"]]
