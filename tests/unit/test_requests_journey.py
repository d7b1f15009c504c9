"""The citizen's journey in one process: catalogue, drafts, submit, return, resubmit, cartable,
tracking — through the real commands, store and projections."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from contracts.envelope import StreamState
from contracts.errors import DomainError
from contracts.events import new_event, registry
from contracts.requests import (
    AddAttachment,
    DiscardDraft,
    RemoveAttachment,
    RequestSubmitted,
    Resubmit,
    SaveDraft,
    StartDraft,
    SubmitDraft,
)
from contracts.secretariat import NumberAssigned, ReplyPosted, ReturnedForCorrection
from infra.attachments import AttachmentStore
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.requests import commands, corrections, drafts, queries, sample_catalogue
from services.requests.catalogue_view import Catalogue, service_card, units_with_services
from services.requests.drafts_view import Drafts
from services.requests.projections import CitizenRequests
from tests.unit.test_requests_files import EXE, PDF

ACCOUNT = "acc-1"
APPLICANT = {
    "national_code": "0084575948",
    "first_name": "مریم",
    "last_name": "کاظمی",
    "mobile": "09123456789",
}


class Journey:
    def __init__(self, store: SqlEventStore, db: Database, folder: Path) -> None:
        self.store = store
        self.db = db
        self.runner = ProjectionRunner(self.store, self.db, [Catalogue(), Drafts(), CitizenRequests()])
        self.runner.setup()
        self.files = AttachmentStore(folder / "files")
        sample_catalogue.load(self.store)

    def catch_up(self) -> None:
        self.runner.run_once()

    def start(self, service_id: str = "10012134001", level: int = 0) -> str:
        command = StartDraft(account_id=ACCOUNT, service_id=service_id, consent=True, assurance_level=level)
        return str(drafts.start_draft(self.store, command)["draft_id"])

    def save(self, draft_id: str, step: int, fields: dict[str, str], **options: str) -> dict[str, Any]:
        command = SaveDraft(draft_id=draft_id, account_id=ACCOUNT, step=step, fields=fields, **options)
        return drafts.save_draft(self.store, command)

    def attach(self, draft_id: str, name: str, data: bytes) -> dict[str, Any]:
        content = base64.b64encode(data).decode()
        command = AddAttachment(draft_id=draft_id, account_id=ACCOUNT, name=name, content_base64=content)
        return drafts.add_attachment(self.store, self.files, command)

    def submit(self, draft_id: str, level: int = 0) -> dict[str, str]:
        return commands.submit_draft(
            self.store, SubmitDraft(draft_id=draft_id, account_id=ACCOUNT, assurance_level=level)
        )

    def secretariat(self, request_id: str, *events: object) -> None:
        for event in events:
            self.store.append(f"case-{request_id}", [new_event(event)], StreamState.ANY)  # type: ignore[arg-type]


@pytest.fixture
def journey(store: SqlEventStore, db: Database, tmp_path: Path) -> Journey:
    return Journey(store, db, tmp_path)


def _filled_wizard(journey: Journey) -> str:
    draft_id = journey.start()
    journey.save(draft_id, 1, {}, move="next")
    journey.save(draft_id, 2, {"text": "درخواست تاسیس دهیاری روستای ده‌نو"}, move="next")
    journey.attach(draft_id, "صورتجلسه.pdf", PDF)
    journey.save(draft_id, 3, {}, move="next")
    journey.save(draft_id, 4, APPLICANT, move="next")
    journey.save(draft_id, 5, {"visit_officer": "ابوالفضل یاری", "visit_date": "1402/05/01"}, move="next")
    return draft_id


def test_the_sample_catalogue_loads_once_and_lists_the_seeds_office(journey: Journey) -> None:
    sample_catalogue.load(journey.store)  # again: nothing new
    journey.catch_up()
    assert journey.store.stream_version("catalogue-service-10012134001") == 0
    units = {u["name"]: [s["name"] for s in u["services"]] for u in units_with_services(journey.db.read)}
    assert units["دفتر برنامه ریزی و مدیریت توسعه روستایی"] == [
        "درجه بندی دهیاری های کشور",
        "صدور مجوز تاسیس دهیاری های کشور",
    ]
    assert service_card(journey.db.read, "10012134001")["attachment_rules"]["max_size_kb"] == 80


def test_consent_and_assurance_gate_the_start(journey: Journey) -> None:
    with pytest.raises(DomainError, match="consent_required"):
        drafts.start_draft(
            journey.store, StartDraft(account_id=ACCOUNT, service_id="10012134001", consent=False)
        )
    with pytest.raises(DomainError, match="assurance_too_low"):
        journey.start("17011230001", level=1)  # seed 001: a formal letter needs a verified identity
    with pytest.raises(DomainError, match="service_not_found"):
        journey.start("99999999999")


def test_moving_between_steps_keeps_everything_and_checks_each_step(journey: Journey) -> None:
    draft_id = journey.start()
    stuck = journey.save(draft_id, 2, {"text": ""}, move="next")
    assert (stuck["step"], stuck["errors"]) == (2, {"text": "این فیلد الزامی است."})
    journey.save(draft_id, 2, {"text": "متن"}, move="next")
    journey.save(draft_id, 4, {"first_name": "مریم", "national_code": "123"}, move="back")
    again = drafts.get_draft(journey.store, draft_id, ACCOUNT)
    assert again["step"] == 3
    assert again["fields"] == {"text": "متن", "first_name": "مریم", "national_code": "123"}
    with pytest.raises(DomainError, match="draft_not_found"):
        drafts.get_draft(journey.store, draft_id, "someone-else")


def test_a_disguised_file_is_refused_and_the_draft_keeps_the_rest(journey: Journey) -> None:
    draft_id = journey.start()
    journey.save(draft_id, 3, {"text": "متن"})
    with pytest.raises(DomainError) as refused:
        journey.attach(draft_id, "نامه.pdf", EXE)
    assert refused.value.code == "attachment_disguised"
    kept = journey.attach(draft_id, "نامه.pdf", PDF)
    assert [a["name"] for a in kept["attachments"]] == ["نامه.pdf"]
    assert kept["fields"]["text"] == "متن"
    sha = kept["attachments"][0]["sha256"]
    assert journey.files.verify(sha)
    journey.attach(draft_id, "copy.pdf", PDF + b" ")
    with pytest.raises(DomainError, match="attachment_too_many"):
        journey.attach(draft_id, "third.pdf", PDF + b"  ")
    left = drafts.remove_attachment(
        journey.store, RemoveAttachment(draft_id=draft_id, account_id=ACCOUNT, attachment_id=sha)
    )
    assert [a["name"] for a in left["attachments"]] == ["copy.pdf"]


def test_submitting_the_wizard_records_everything_once(journey: Journey) -> None:
    draft_id = _filled_wizard(journey)
    done = journey.submit(draft_id)
    assert journey.submit(draft_id) == done  # the same button twice: one request
    (recorded,) = journey.store.read_stream(f"request-{draft_id}")
    event = registry.decode(recorded)
    assert isinstance(event, RequestSubmitted)
    assert (event.form, event.service_id, event.unit, event.province) == (
        "wizard",
        "10012134001",
        "rural-development",
        "tehran",
    )
    assert (event.applicant.full_name, event.applicant.account_id) == ("مریم کاظمی", ACCOUNT)
    assert event.visit is not None and event.visit.officer_title == "ریاست سازمان"
    assert [a.name for a in event.attachments] == ["صورتجلسه.pdf"]
    with pytest.raises(DomainError, match="draft_submitted"):
        journey.save(draft_id, 6, {"text": "later"})
    receipt = queries.receipt(journey.store, draft_id, ACCOUNT)
    assert receipt["tracking_code"] == done["tracking_code"] and receipt["expected_duration_days"] == 30
    with pytest.raises(DomainError, match="request_not_found"):
        queries.receipt(journey.store, draft_id, "someone-else")


def test_an_incomplete_wizard_is_not_submitted_and_says_where(journey: Journey) -> None:
    draft_id = journey.start()
    journey.save(draft_id, 2, {"text": "متن"})
    with pytest.raises(DomainError, match="draft_incomplete"):
        journey.submit(draft_id)
    checked = journey.save(draft_id, 6, {}, check="all")
    assert checked["step"] == 4 and "national_code" in checked["errors"]


def test_a_legal_entitys_letter_goes_to_the_chosen_province(journey: Journey) -> None:
    draft_id = journey.start("17011230002")
    fields = {
        "kind": "legal",
        "owner_name": "رضا محمدی",
        "owner_national_code": "0084575948",
        "owner_mobile": "۰۹۱۲۳۴۵۶۷۸۹",
        "owner_birth_date": "1360/01/01",
        "company_name": "شرکت نمونه",
        "company_national_id": "10380284790",
        "province": "isfahan",
        "subject": "ارائه پرونده کلاسه",
    }
    journey.save(draft_id, 1, fields, check="none")
    journey.attach(draft_id, "بدنه.pdf", PDF)
    request_id = journey.submit(draft_id)["request_id"]
    event = registry.decode(journey.store.read_stream(f"request-{request_id}")[0])
    assert isinstance(event, RequestSubmitted)
    assert (event.form, event.province, event.subject) == ("letter", "isfahan", "ارائه پرونده کلاسه")
    assert (event.applicant.kind, event.applicant.company_national_id, event.applicant.mobile) == (
        "legal",
        "10380284790",
        "09123456789",
    )


def test_a_draft_resumes_from_the_cartable_and_can_be_discarded(journey: Journey) -> None:
    draft_id = journey.start()
    journey.save(draft_id, 2, {"text": "نیمه‌کاره"}, check="none")
    journey.catch_up()
    view = queries.cartable(journey.db.read, ACCOUNT, "awaiting")
    assert [d["draft_id"] for d in view["drafts"]] == [draft_id] and view["counts"]["awaiting"] == 1
    assert view["drafts"][0]["service_name"] == "صدور مجوز تاسیس دهیاری های کشور"
    drafts.discard_draft(journey.store, DiscardDraft(draft_id=draft_id, account_id=ACCOUNT))
    journey.catch_up()
    assert queries.cartable(journey.db.read, ACCOUNT, "awaiting")["drafts"] == []


def test_returned_resubmitted_and_answered_moves_through_the_folders(journey: Journey) -> None:
    done = journey.submit(_filled_wizard(journey))
    request_id, code = done["request_id"], done["tracking_code"]
    journey.catch_up()
    assert [r["request_id"] for r in queries.cartable(journey.db.read, ACCOUNT, "progress")["items"]] == [
        request_id
    ]
    with pytest.raises(DomainError, match="not_returned"):
        corrections.resubmit(
            journey.store,
            journey.files,
            Resubmit(request_id=request_id, account_id=ACCOUNT, subject="موضوع", text="x"),
        )

    number = NumberAssigned(
        request_id=request_id,
        secretariat="tehran",
        year=1403,
        sequence=7,
        registration_number="1403/tehran/7",
        clerk="c1",
    )
    returned = ReturnedForCorrection(
        request_id=request_id, reason="تصویر صورتجلسه خوانا نیست", clerk="c1", holder="c1"
    )
    journey.secretariat(request_id, number, returned)
    journey.catch_up()
    awaiting = queries.cartable(journey.db.read, ACCOUNT, "awaiting")["items"]
    assert [(r["status"], r["return_reason"]) for r in awaiting] == [
        ("returned", "تصویر صورتجلسه خوانا نیست")
    ]

    for round_ in range(2):  # as often as it is returned
        corrections.resubmit(
            journey.store,
            journey.files,
            Resubmit(
                request_id=request_id, account_id=ACCOUNT, subject="موضوع اصلاح‌شده", text=f"متن {round_}"
            ),
        )
        journey.catch_up()
        assert queries.cartable(journey.db.read, ACCOUNT, "progress")["items"][0]["status"] == "registered"
        if round_ == 0:
            journey.secretariat(request_id, returned)
            journey.catch_up()

    reply = ReplyPosted(
        request_id=request_id,
        reply_id="r1",
        kind="final",
        body="مجوز صادر شد",
        clerk="c1",
        posted_at="2024-05-01T10:00:00+00:00",
        reply_number="9/123",
        legal_basis="ماده ۵ قانون",
        appeal_authority="دیوان عدالت اداری",
        appeal_deadline="۳۰ روز",
    )
    journey.secretariat(request_id, reply)
    journey.catch_up()
    (item,) = queries.cartable(journey.db.read, ACCOUNT, "done")["items"]
    assert (item["status"], item["registration_number"]) == ("done", "1403/tehran/7")
    detail = queries.request_detail(journey.db.read, ACCOUNT, request_id)
    assert [h["step"] for h in detail["history"]] == [
        "submitted", "registered", "returned", "resubmitted", "returned", "resubmitted", "final_reply",
    ]  # fmt: skip
    assert detail["replies"][0]["legal_basis"] == "ماده ۵ قانون" and detail["text"] == "متن 1"
    with pytest.raises(DomainError, match="request_not_found"):
        queries.request_detail(journey.db.read, "someone-else", request_id)

    public = queries.public_track(journey.db.read, code, "+98 912 345 6789")
    assert public["status"] == "done" and len(public["history"]) == 7
    flat = repr(public)
    assert "کاظمی" not in flat and "0084575948" not in flat and "مجوز صادر شد" not in flat
    assert queries.public_track(journey.db.read, code, "۰۰۸۴۵۷۵۹۴۸")["tracking_code"] == code
    with pytest.raises(DomainError, match="request_not_found"):
        queries.public_track(journey.db.read, code, "09120000000")
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    with pytest.raises(DomainError, match="invalid_tracking_code"):
        queries.public_track(journey.db.read, mistyped, "09123456789")


def test_a_correction_can_swap_a_file_under_the_services_rules(journey: Journey) -> None:
    request_id = journey.submit(_filled_wizard(journey))["request_id"]
    journey.catch_up()
    returned = ReturnedForCorrection(request_id=request_id, reason="فایل خوانا نیست", clerk="c1", holder="c1")
    journey.secretariat(request_id, returned)
    journey.catch_up()
    (old,) = queries.request_detail(journey.db.read, ACCOUNT, request_id)["attachments"]

    def correct(**extra: Any) -> dict[str, str]:
        command = Resubmit(request_id=request_id, account_id=ACCOUNT, subject="موضوع", text="متن", **extra)
        return corrections.resubmit(journey.store, journey.files, command)

    with pytest.raises(DomainError, match="attachment_disguised"):
        correct(file_name="new.pdf", file_base64=base64.b64encode(EXE).decode())
    correct(
        remove_attachments=(old["attachment_id"],),
        file_name="خوانا.pdf",
        file_base64=base64.b64encode(PDF + b"1").decode(),
    )
    journey.catch_up()
    (new,) = queries.request_detail(journey.db.read, ACCOUNT, request_id)["attachments"]
    assert new["name"] == "خوانا.pdf"
    for file in (old, new):  # the history keeps every file the request ever carried
        got = queries.attachment(journey.store, journey.files, request_id, ACCOUNT, file["attachment_id"])
        assert base64.b64decode(got["content_base64"]).startswith(PDF)
    with pytest.raises(DomainError, match="request_not_found"):
        queries.attachment(journey.store, journey.files, request_id, "someone-else", new["attachment_id"])
