"""The requests service's rules as given events / when a command / then events, with no store:
a request (submit, submit a draft, correct), a draft (start, save, attach, detach, discard), a
catalogue unit (define) and service (publish, retire). At the end, on a SQLite store, what a
submission and a draft's save read (the hot path reads nothing before its append)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.catalogue import DefineUnit, PublishService, RetireService, ServiceRetired, UnitDefined
from contracts.envelope import RecordedEvent
from contracts.errors import DomainError
from contracts.requests import (
    AddAttachment,
    Applicant,
    AttachmentRef,
    DiscardDraft,
    DraftDiscarded,
    DraftSaved,
    RemoveAttachment,
    RequestResubmitted,
    RequestSubmitted,
    Resubmit,
    SaveDraft,
    StartDraft,
    SubmitDraft,
    Visit,
)
from contracts.rpc import SubmitRequest
from contracts.secretariat import NumberAssigned, ReplyPosted, ReturnedForCorrection
from infra.eventstore.sql import SqlEventStore
from services.requests import commands, sample_catalogue
from services.requests import drafts as drafts_commands
from services.requests.catalogue_rules import CatalogueEntry, Publish, services, units
from services.requests.draft import Attach, Detach, Discard, Draft, Save, Start, drafts
from services.requests.request import Correct, Submit, SubmitDrafted, requests, submitted_id
from services.requests.sample_catalogue import SERVICES, UNITS
from tests.scenario import scenario

AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
ACCOUNT = "acc-1"
DRAFT_ID = "d" * 32
WIZARD = SERVICES[0]  # seed 003's six steps, 80 KB × 2, officers to choose from
LETTER = SERVICES[3]  # seed 001's formal letter: a file required, a verified identity (level 2)
OFFERED = CatalogueEntry(WIZARD)
CITIZEN = {
    "national_code": "0084575948",
    "full_name": "مریم کاظمی",
    "mobile": "09123456789",
    "province": "tehran",
    "subject": "درخواست مجوز",
    "text": "متن درخواست",
}
WIZARD_FIELDS = {
    "text": "درخواست تاسیس دهیاری روستای ده‌نو",
    "national_code": "0084575948",
    "first_name": "مریم",
    "last_name": "کاظمی",
    "mobile": "09123456789",
    "visit_officer": "ابوالفضل یاری",
    "visit_date": "1402/05/01",
}
LETTER_FIELDS = {
    "kind": "natural",
    "full_name": "مریم کاظمی",
    "national_code": "0084575948",
    "mobile": "09123456789",
    "province": "fars",
    "subject": "درخواست پروانه",
}


def file(n: int = 1) -> AttachmentRef:
    sha = f"{n:064x}"
    return AttachmentRef(
        attachment_id=sha, name=f"نامه{n}.pdf", media_type="application/pdf", size=100, sha256=sha
    )


def saved(
    card: Any = WIZARD,
    fields: dict[str, str] | None = None,
    attachments: tuple[AttachmentRef, ...] = (),
    step: int = 1,
    account_id: str = ACCOUNT,
) -> DraftSaved:
    return DraftSaved(
        draft_id=DRAFT_ID,
        account_id=account_id,
        service_id=card.service_id,
        form=card.form,
        step=step,
        fields=fields or {},
        attachments=attachments,
        saved_at="2026-04-30T08:00:00+00:00",
    )


def submitted(
    request_id: str = DRAFT_ID, account_id: str | None = ACCOUNT, **changes: Any
) -> RequestSubmitted:
    values: dict[str, Any] = {
        "request_id": request_id,
        "tracking_code": "100000000001",
        "applicant": Applicant(
            national_code="0084575948", full_name="مریم کاظمی", mobile="09123456789", account_id=account_id
        ),
        "province": "tehran",
        "subject": "درخواست",
        "text": "متن",
        "submitted_at": "2026-04-30T09:00:00+00:00",
        "service_id": WIZARD.service_id,
        "attachments": (file(1),),
    }
    return RequestSubmitted(**{**values, **changes})


def returned(request_id: str = DRAFT_ID) -> ReturnedForCorrection:
    return ReturnedForCorrection(request_id=request_id, reason="خوانا نیست", clerk="c1", holder="c1")


# -- a request: submit (the JSON API) -----------------------------------------------------------


def test_submit_records_the_request_with_its_claimed_code() -> None:
    command = SubmitRequest.model_validate({**CITIZEN, "command_id": "submit-1"})
    scenario(requests).when(Submit(command, "123456789012", AT)).then(
        RequestSubmitted(
            request_id=submitted_id(command),
            tracking_code="123456789012",
            applicant=Applicant(national_code="0084575948", full_name="مریم کاظمی", mobile="09123456789"),
            province="tehran",
            subject="درخواست مجوز",
            text="متن درخواست",
            submitted_at=AT.isoformat(),
        )
    )


def test_submit_to_a_province_that_is_not_one_is_refused() -> None:
    command = SubmitRequest.model_validate({**CITIZEN, "province": "atlantis"})
    scenario(requests).when(Submit(command, "123456789012", AT)).refused("invalid_province")


def test_submit_again_decides_nothing_the_first_submission_answers() -> None:
    command = SubmitRequest.model_validate({**CITIZEN, "command_id": "submit-1"})
    first = submitted(submitted_id(command), account_id=None)
    outcome = scenario(requests).given(first).when(Submit(command, "999999999999", AT)).nothing()
    assert outcome.state.answer() == {"request_id": first.request_id, "tracking_code": "100000000001"}


# -- a request: submit a draft ------------------------------------------------------------------


def drafted(
    draft: Draft,
    service: CatalogueEntry | None = OFFERED,
    level: int = 0,
    account: str = ACCOUNT,
) -> SubmitDrafted:
    payload = SubmitDraft(draft_id=DRAFT_ID, account_id=account, assurance_level=level)
    return SubmitDrafted(payload, draft, service, "123456789012", AT)


def draft_of(*events: Any) -> Draft:
    return drafts.fold(events)


def test_a_complete_wizard_draft_is_submitted_with_its_applicant_and_visit() -> None:
    draft = draft_of(saved(fields=WIZARD_FIELDS, attachments=(file(1),), step=6))
    outcome = scenario(requests).when(drafted(draft)).then_types("RequestSubmitted")
    event = outcome.event()
    assert (event.request_id, event.tracking_code, event.form) == (DRAFT_ID, "123456789012", "wizard")
    assert (event.subject, event.province, event.service_id) == (WIZARD.name, "tehran", WIZARD.service_id)
    assert event.applicant == Applicant(
        national_code="0084575948", full_name="مریم کاظمی", mobile="09123456789", account_id=ACCOUNT
    )
    assert event.visit == Visit(
        unit=WIZARD.unit_name, officer="ابوالفضل یاری", officer_title="ریاست سازمان", visit_date="1402/05/01"
    )
    assert event.attachments == (file(1),) and event.submitted_at == AT.isoformat()


def test_a_letter_goes_to_the_province_the_citizen_chose_under_its_own_subject() -> None:
    draft = draft_of(saved(LETTER, LETTER_FIELDS, (file(2),)))
    event = scenario(requests).when(drafted(draft, CatalogueEntry(LETTER), level=2)).event()
    assert (event.form, event.province, event.subject, event.visit) == (
        "letter",
        "fars",
        "درخواست پروانه",
        None,
    )


def test_a_legal_entitys_letter_is_filed_by_its_owner() -> None:
    fields = {
        "kind": "legal",
        "owner_name": "علی رضایی",
        "owner_national_code": "0012345679",
        "owner_mobile": "09121112233",
        "owner_birth_date": "1360/01/15",
        "company_name": "شرکت نمونه",
        "company_national_id": "10380284790",
        "province": "tehran",
        "subject": "نامه شرکت",
    }
    draft = draft_of(saved(LETTER, fields, (file(2),)))
    applicant = scenario(requests).when(drafted(draft, CatalogueEntry(LETTER), level=3)).event().applicant
    assert (applicant.kind, applicant.full_name, applicant.company_national_id) == (
        "legal",
        "علی رضایی",
        "10380284790",
    )


def test_a_draft_sent_again_decides_nothing_whatever_its_service_became() -> None:
    draft = draft_of(saved(fields=WIZARD_FIELDS, step=6))
    retired = CatalogueEntry(WIZARD, retired=True)
    scenario(requests).given(submitted()).when(drafted(draft, retired)).nothing()


@pytest.mark.parametrize(
    ("draft", "service", "level", "account", "code"),
    [
        (draft_of(), CatalogueEntry(WIZARD), 0, ACCOUNT, "draft_not_found"),
        (draft_of(saved(fields=WIZARD_FIELDS)), CatalogueEntry(WIZARD), 0, "acc-other", "draft_not_found"),
        (
            draft_of(
                saved(fields=WIZARD_FIELDS),
                DraftDiscarded(draft_id=DRAFT_ID, account_id=ACCOUNT, discarded_at="t"),
            ),
            CatalogueEntry(WIZARD),
            0,
            ACCOUNT,
            "draft_not_found",
        ),
        (
            draft_of(saved(fields=WIZARD_FIELDS), submitted()),
            CatalogueEntry(WIZARD),
            0,
            ACCOUNT,
            "draft_submitted",
        ),
        (draft_of(saved(fields=WIZARD_FIELDS)), None, 0, ACCOUNT, "service_not_found"),
        (
            draft_of(saved(fields=WIZARD_FIELDS)),
            CatalogueEntry(WIZARD, retired=True),
            0,
            ACCOUNT,
            "service_retired",
        ),
        (
            draft_of(saved(LETTER, LETTER_FIELDS, (file(2),))),
            CatalogueEntry(LETTER),
            1,
            ACCOUNT,
            "assurance_too_low",
        ),
        (draft_of(saved(fields={"text": "متن"})), CatalogueEntry(WIZARD), 0, ACCOUNT, "draft_incomplete"),
        (draft_of(saved(LETTER, LETTER_FIELDS)), CatalogueEntry(LETTER), 2, ACCOUNT, "draft_incomplete"),
    ],
    ids=[
        "never-saved",
        "someone-elses",
        "discarded",
        "submitted",
        "no-service",
        "retired",
        "assurance",
        "wizard-incomplete",
        "letter-without-its-file",
    ],
)
def test_a_draft_that_may_not_be_submitted_is_refused(
    draft: Draft, service: CatalogueEntry | None, level: int, account: str, code: str
) -> None:
    scenario(requests).when(drafted(draft, service, level, account)).refused(code)


def test_a_birth_or_visit_date_after_the_day_of_the_submission_is_incomplete() -> None:
    draft = draft_of(saved(fields={**WIZARD_FIELDS, "visit_date": "1405/02/12"}, step=6))  # 2026-05-02
    outcome = scenario(requests).when(drafted(draft)).refused("draft_incomplete")
    assert outcome.error is not None and outcome.error.detail == "visit_date"


# -- a request: correct after a return ----------------------------------------------------------


def correct(added: AttachmentRef | None = None, account: str = ACCOUNT, **changes: Any) -> Correct:
    payload = Resubmit(
        request_id=DRAFT_ID, account_id=account, subject="موضوع اصلاح‌شده", text="متن تازه", **changes
    )
    return Correct(payload, added, AT)


def test_a_returned_request_comes_back_with_files_removed_and_one_added() -> None:
    given = scenario(requests).given(submitted(attachments=(file(1), file(2))), returned())
    given.when(correct(file(3), remove_attachments=(file(1).attachment_id,))).then(
        RequestResubmitted(
            request_id=DRAFT_ID,
            subject="موضوع اصلاح‌شده",
            text="متن تازه",
            attachments=(file(2), file(3)),
            resubmitted_at=AT.isoformat(),
        )
    )


def test_a_file_it_carries_already_is_not_added_twice() -> None:
    given = scenario(requests).given(submitted(attachments=(file(1),)), returned())
    assert given.when(correct(file(1))).event().attachments == (file(1),)


def test_a_request_is_corrected_as_often_as_it_is_returned() -> None:
    history = scenario(requests).given(
        submitted(),
        NumberAssigned(
            request_id=DRAFT_ID,
            secretariat="tehran",
            year=1405,
            sequence=7,
            registration_number="1405/7",
            clerk="c1",
        ),
        returned(),
    )
    history.after(correct())
    history.when(correct()).refused("not_returned")
    history.given(returned()).when(correct()).then_types("RequestResubmitted")


@pytest.mark.parametrize(
    ("history", "account", "code"),
    [
        ((), ACCOUNT, "request_not_found"),
        ((submitted(), returned()), "acc-other", "request_not_found"),
        ((submitted(account_id=None), returned()), ACCOUNT, "request_not_found"),
        ((submitted(),), ACCOUNT, "not_returned"),
        (
            (
                submitted(),
                returned(),
                ReplyPosted(
                    request_id=DRAFT_ID, reply_id="r", kind="final", body="پاسخ", clerk="c", posted_at="t"
                ),
            ),
            ACCOUNT,
            "not_returned",
        ),
    ],
    ids=["unknown", "someone-elses", "filed-without-an-account", "never-returned", "answered-since"],
)
def test_a_request_that_is_not_the_citizens_to_correct_is_refused(
    history: tuple[Any, ...], account: str, code: str
) -> None:
    scenario(requests).given(*history).when(correct(account=account)).refused(code)


# -- a draft ------------------------------------------------------------------------------------


def start(service: CatalogueEntry | None = OFFERED, consent: bool = True, level: int = 0) -> Start:
    payload = StartDraft(
        command_id="start-draft-1",
        account_id=ACCOUNT,
        service_id=WIZARD.service_id if service is None else service.card.service_id,
        consent=consent,
        assurance_level=level,
        prefill={"full_name": "مریم کاظمی", "national_code": "0084575948", "mobile": "09123456789"},
    )
    return Start(payload, service, AT)


def test_a_draft_starts_with_what_the_account_knows() -> None:
    command = start()
    scenario(drafts).when(command).then(
        DraftSaved(
            draft_id=command.payload.derived("draft").hex,
            account_id=ACCOUNT,
            service_id=WIZARD.service_id,
            form="wizard",
            step=1,
            fields={
                "first_name": "مریم",
                "last_name": "کاظمی",
                "national_code": "0084575948",
                "mobile": "09123456789",
            },
            saved_at=AT.isoformat(),
        )
    )
    letter = scenario(drafts).when(start(CatalogueEntry(LETTER), level=2)).event()
    assert letter.form == "letter" and letter.fields["owner_name"] == "مریم کاظمی"
    assert letter.fields["province"] == LETTER.province and letter.fields["kind"] == "natural"


def test_a_draft_started_already_is_shown_as_it_is() -> None:
    scenario(drafts).given(saved(fields={"text": "متن"})).when(start()).nothing()


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (start(consent=False), "consent_required"),
        (start(None, consent=False), "consent_required"),
        (start(None), "service_not_found"),
        (start(CatalogueEntry(WIZARD, retired=True)), "service_retired"),
        (start(CatalogueEntry(LETTER), level=1), "assurance_too_low"),
    ],
    ids=["no-consent", "consent-first", "no-service", "retired", "assurance"],
)
def test_a_draft_that_may_not_start_is_refused(command: Start, code: str) -> None:
    scenario(drafts).when(command).refused(code)


def save(step: int, fields: dict[str, str], card: Any = WIZARD, **options: Any) -> Save:
    return Save(
        SaveDraft(draft_id=DRAFT_ID, account_id=ACCOUNT, step=step, fields=fields, **options), card, AT
    )


def test_a_step_that_passes_moves_on_and_one_that_fails_keeps_what_was_typed() -> None:
    given = scenario(drafts).given(saved(step=2))
    moved = given.when(save(2, {"text": "متن", "unknown": "x"}, move="next")).event()
    assert (moved.step, moved.fields, moved.saved_at) == (3, {"text": "متن"}, AT.isoformat())
    stuck = given.when(save(4, {"first_name": "مریم", "national_code": "123"}, move="next")).event()
    assert (stuck.step, stuck.fields) == (4, {"first_name": "مریم", "national_code": "123"})
    back = given.when(save(4, {"national_code": "123"}, move="back")).event()
    assert back.step == 3


def test_checking_everything_goes_to_the_first_step_with_errors() -> None:
    given = scenario(drafts).given(saved(fields={"text": "متن"}, step=6))
    assert given.when(save(6, {}, check="all")).event().step == 4
    letter = scenario(drafts).given(saved(LETTER, {}, step=1))
    assert (
        letter.when(save(1, {"subject": "x"}, LETTER, check="all")).event().step == 1
    )  # a letter has no steps


def attach(ref: AttachmentRef) -> Attach:
    return Attach(
        AddAttachment(draft_id=DRAFT_ID, account_id=ACCOUNT, name=ref.name, content_base64="AA=="), ref, AT
    )


def test_a_checked_file_is_kept_on_the_draft_once() -> None:
    given = scenario(drafts).given(saved(fields={"text": "متن"}, attachments=(file(1),)))
    assert given.when(attach(file(2))).event().attachments == (file(1), file(2))
    given.when(attach(file(1))).nothing()


def test_a_file_is_taken_off_and_an_unknown_one_changes_nothing() -> None:
    given = scenario(drafts).given(saved(attachments=(file(1), file(2))))
    removal = RemoveAttachment(draft_id=DRAFT_ID, account_id=ACCOUNT, attachment_id=file(1).attachment_id)
    assert given.when(Detach(removal, AT)).event().attachments == (file(2),)
    unknown = RemoveAttachment(draft_id=DRAFT_ID, account_id=ACCOUNT, attachment_id=file(9).attachment_id)
    given.when(Detach(unknown, AT)).nothing()


def test_a_discarded_draft_is_gone() -> None:
    discard = Discard(DiscardDraft(draft_id=DRAFT_ID, account_id=ACCOUNT), AT)
    given = scenario(drafts).given(saved())
    given.when(discard).then(
        DraftDiscarded(draft_id=DRAFT_ID, account_id=ACCOUNT, discarded_at=AT.isoformat())
    )
    given.after(discard).when(save(1, {})).refused("draft_not_found")


@pytest.mark.parametrize(
    "history",
    [(), (saved(account_id="acc-other"),)],
    ids=["unknown", "someone-elses"],
)
@pytest.mark.parametrize(
    "command",
    [
        save(1, {}),
        attach(file(1)),
        Detach(
            RemoveAttachment(draft_id=DRAFT_ID, account_id=ACCOUNT, attachment_id=file(1).attachment_id), AT
        ),
        Discard(DiscardDraft(draft_id=DRAFT_ID, account_id=ACCOUNT), AT),
    ],
    ids=["save", "attach", "detach", "discard"],
)
def test_only_the_citizens_own_live_draft_changes(history: tuple[Any, ...], command: Any) -> None:
    scenario(drafts).given(*history).when(command).refused("draft_not_found")
    scenario(drafts).given(saved(), submitted()).when(command).refused("draft_submitted")


# -- the catalogue ------------------------------------------------------------------------------


def test_a_unit_is_defined_and_renamed() -> None:
    define = DefineUnit(admin="admin-1", unit_id="water", name="دفتر آب")
    first = UnitDefined(unit_id="water", name="دفتر آب", description="", defined_by="admin-1")
    scenario(units).when(define).then(first)
    rename = DefineUnit(admin="admin-2", unit_id="water", name="دفتر آب و فاضلاب")
    outcome = scenario(units).given(first).when(rename).then_types("UnitDefined")
    assert units.fold([first, *outcome.events]) == outcome.event()


CARD = {
    **WIZARD.model_dump(mode="json", exclude={"unit_name", "published_by"}),
    "service_id": "10012134009",
    "unit_id": UNITS[0].unit_id,
}


def publish(card: dict[str, Any] = CARD, unit: UnitDefined | None = UNITS[0]) -> Publish:
    return Publish(PublishService(admin="admin-1", card=card), unit)


def test_a_card_is_published_with_its_units_name_and_publisher() -> None:
    card = scenario(services).when(publish()).then_types("ServicePublished").event()
    assert (card.service_id, card.unit_name, card.published_by) == ("10012134009", UNITS[0].name, "admin-1")


def test_a_new_edition_replaces_the_card_and_takes_new_requests_again() -> None:
    first = scenario(services).when(publish()).event()
    retired = ServiceRetired(service_id="10012134009", retired_by="admin-1")
    edition = scenario(services).given(first, retired).when(publish({**CARD, "expected_duration_days": 5}))
    entry = services.fold([first, retired, *edition.events])
    assert entry == CatalogueEntry(edition.event()) and entry.card.expected_duration_days == 5


def test_a_card_without_its_unit_or_its_province_is_refused() -> None:
    scenario(services).when(publish(unit=None)).refused("unit_not_found")
    scenario(services).when(publish({**CARD, "province": "mars"})).refused("invalid_province")


def test_a_card_that_is_not_one_is_refused_as_an_invalid_payload() -> None:
    with pytest.raises(ValidationError, match="service_id"):
        scenario(services).when(publish({**CARD, "service_id": "123"}))


def test_a_service_is_retired_once() -> None:
    first = scenario(services).when(publish()).event()
    retire = RetireService(admin="admin-1", service_id="10012134009", reason="ادغام")
    scenario(services).given(first).when(retire).then(
        ServiceRetired(service_id="10012134009", reason="ادغام", retired_by="admin-1")
    )
    scenario(services).given(first, ServiceRetired(service_id="10012134009", retired_by="a")).when(
        retire
    ).nothing()
    scenario(services).when(retire).refused("service_not_found")


# -- through the store: what the commands read -------------------------------------------------


class CountedStore(SqlEventStore):
    """A SQLite store that counts the streams read (`read_stream`, `stream_version`)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.reads: list[str] = []

    def read_stream(self, stream: str, *args: Any, **kwargs: Any) -> list[RecordedEvent]:
        self.reads.append(stream)
        return super().read_stream(stream, *args, **kwargs)

    def stream_version(self, stream: str) -> int | None:
        self.reads.append(stream)
        return super().stream_version(stream)


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[CountedStore]:
    opened = CountedStore(f"sqlite:///{tmp_path / 'events.db'}")
    sample_catalogue.load(opened)
    yield opened
    opened.close()


def test_a_submission_reads_nothing_and_a_repeat_gets_the_first_code(counted: CountedStore) -> None:
    keyed = SubmitRequest.model_validate({**CITIZEN, "command_id": "submit-key-1", "fingerprint": "a" * 64})
    first = commands.submit(counted, keyed)
    assert counted.reads == []  # no read before the append, nor after it with a client's key
    assert commands.submit(counted, keyed) == first
    other = SubmitRequest.model_validate({**CITIZEN, "command_id": "submit-key-1", "fingerprint": "b" * 64})
    with pytest.raises(DomainError, match="idempotency_key_reused"):
        commands.submit(counted, other)
    (recorded,) = counted.read_stream(f"request-{first['request_id']}")
    assert recorded.data["tracking_code"] == first["tracking_code"]


def test_a_draft_command_reads_the_draft_once(counted: CountedStore) -> None:
    start_command = StartDraft(account_id=ACCOUNT, service_id=WIZARD.service_id, consent=True)
    draft_id = drafts_commands.start_draft(counted, start_command)["draft_id"]
    counted.reads.clear()
    save_command = SaveDraft(
        draft_id=draft_id, account_id=ACCOUNT, step=2, fields={"text": "متن"}, move="next"
    )
    assert drafts_commands.save_draft(counted, save_command)["step"] == 3
    assert sorted(counted.reads) == sorted(
        [f"draft-{draft_id}", f"request-{draft_id}", f"catalogue-service-{WIZARD.service_id}"]
    )
