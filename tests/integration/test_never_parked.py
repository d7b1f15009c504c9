"""Whatever a command accepts, every projection applies: on SQLite and on PostgreSQL.

A subject holding NUL was once accepted (a tracking code went out by SMS) and then parked in
three read models, as PostgreSQL text cannot hold NUL. Here every command that takes text is
fed arbitrary Unicode (the whole range with NUL and the other controls, bidi overrides,
invisible characters, digits of every script, strings as long as the limits allow), through
the service command functions on a real store, and then every projection of every service is
run: none may park an event. A refusal is fine; what is accepted must be stored everywhere.
"""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from contracts.catalogue import DefineUnit
from contracts.errors import DomainError
from contracts.events import new_event
from contracts.identity import CitizenRegistered, RoleGranted, StaffCreated
from contracts.identity_rpc import Decide, SubmitVerification, UpdateProfile
from contracts.normalise import RefusedInput
from contracts.notify import ChangeTemplate
from contracts.requests import AddAttachment, Resubmit, SaveDraft, StartDraft, SubmitDraft
from contracts.rpc import SubmitRequest
from contracts.secretariat_rpc import (
    AddNote,
    CaseCommand,
    Refer,
    Reply,
    ReturnToApplicant,
    SaveCannedReply,
    SetRequestStatus,
    Staff,
    WithReason,
)
from contracts.survey import QUESTIONS, AnswerSurvey
from infra.attachments import AttachmentStore
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.identity import profile, verification
from services.identity.accounts import account_stream, citizen_id
from services.identity.deps import Deps
from services.notify import commands as notify_commands
from services.notify.dispatch import Channels
from services.notify.projections import Planner
from services.notify.providers import OutboxProvider
from services.read_models import read_models
from services.requests import catalogue, commands, corrections, drafts, sample_catalogue
from services.secretariat import canned
from services.secretariat import commands as secretariat
from services.survey import commands as survey
from tests.fakes import FakeCivilRegistry, FakeCodeSender, FakeShahkar
from tests.pg import required_database
from tests.units import define_units

pytestmark = pytest.mark.integration

M = TypeVar("M", bound=BaseModel)

LETTER_SERVICE = "17011230002"
WIZARD_SERVICE = "10012134001"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CLERK = Staff(account_id="clerk-1", name="سارا دبیری", roles=("clerk",), province="tehran")
REP = Staff(account_id="rep-1", name="رضا پیگیر", roles=("representative",), unit="permits")
OFFICER = "officer-1"

SPECIAL = (
    "\x00\x01\x07\x08\x0b\x0c\x0e\x1b\x7f\x85\x9f\r\n\t "
    "\u00a0\u00ad\u034f\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u2060\u3164\ufeff\ufffe\uffff"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "٠١۲۳０１２३𝟎𝟗①²\u0301\u0640ﷺ'\"\\%_<>&{}$\U0010ffff\U0001f600"
)
PERSIAN = "آابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكى۰۱۲ "
TEXT_FIELDS = (
    "full_name", "subject", "text", "address", "father_name", "first_name", "last_name",
    "unit_name", "instruction", "note", "reason", "body", "legal_basis", "reply_number",
    "reply_date", "comment", "title", "template", "description", "file_name",
)  # fmt: skip

huge = st.builds(
    lambda chars, size: (chars * size)[:size],
    st.text(alphabet=st.sampled_from(SPECIAL + PERSIAN), min_size=1, max_size=3)
    | st.text(min_size=1, max_size=2),
    st.sampled_from([99, 100, 101, 199, 200, 201, 500, 2000, 4000, 10000]),
)
texts = st.one_of(
    st.text(max_size=40),  # the whole range but surrogates, which JSON cannot carry
    st.text(alphabet=st.sampled_from(SPECIAL + PERSIAN), max_size=40),
    st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40),
    huge,
)
inputs = st.fixed_dictionaries({name: texts for name in TEXT_FIELDS})


@dataclass
class World:
    """Every service's projections over one store, and what their commands need."""

    store: SqlEventStore
    databases: dict[str, Database]
    runners: list[ProjectionRunner]
    files: AttachmentStore
    deps: Deps

    def db(self, service: str) -> Any:
        return self.databases[service].read

    def catch_up(self) -> None:
        while sum(runner.run_once() for runner in self.runners):
            pass

    def parked(self) -> list[str]:
        """What each projection parked: its name, the event's type and the error's last line."""
        rows = {(row["projection"], row["id"]): row for runner in self.runners for row in runner.parked()}
        return [
            f"{name}: {row['event_type']}: {_cause(row['error'])}" for (name, _), row in sorted(rows.items())
        ]


def _cause(trace: str) -> str:
    """The line of a parked event's trace that says what the database refused."""
    lines = [line for line in trace.splitlines() if "Error" in line and not line.startswith(" ")]
    return (lines or trace.strip().splitlines())[-1][:400]


@contextlib.contextmanager
def _world(folder: Path, url: str | None) -> Iterator[World]:
    store = SqlEventStore(url or f"sqlite:///{folder / 'events.db'}")
    define_units(store)
    outbox = OutboxProvider(f"sqlite:///{folder / 'outbox.db'}")
    databases: dict[str, Database] = {}
    runners = []
    for service, projections in read_models().items():
        databases[service] = Database(url or f"sqlite:///{folder / service}.db")
        chosen = [Planner(channels=Channels(outbox)) if isinstance(p, Planner) else p for p in projections]
        runner = ProjectionRunner(store, databases[service], chosen, attempts=2, backoff=0.01)
        runner.setup()
        runners.append(runner)
    files = AttachmentStore(folder / "files")
    # No registry answers, Shahkar knows no one, and the SMS channel accepts every code.
    deps = Deps(
        store, databases["identity"], FakeCivilRegistry(down=True), FakeShahkar(), FakeCodeSender(), files
    )
    sample_catalogue.load(store)
    _staff(store)
    try:
        yield World(store, databases, runners, files, deps)
    finally:
        store.close()
        outbox.db.dispose()
        for db in databases.values():
            db.dispose()


def _staff(store: SqlEventStore) -> None:
    """A desk officer, appended as identity records one."""
    now = datetime.now(UTC).isoformat()
    created = StaffCreated(
        account_id=OFFICER,
        national_code="0045678901",
        full_name="مسئول میز",
        mobile="09131234567",
        created_by="bootstrap",
        created_at=now,
    )
    granted = RoleGranted(account_id=OFFICER, role="desk_officer", granted_by="bootstrap", at=now)
    store.append(account_stream(OFFICER), [new_event(created), new_event(granted)])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp(f"never-parked-{request.param}")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(required_database()) if request.param == "postgresql" else None
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setenv("IDENTITY_REGISTRY_CONNECTED", "1")  # a verification without scans
        yield stack.enter_context(_world(folder, url))


def _accepted(model: type[M], fields: dict[str, Any], fallback: dict[str, Any]) -> M:
    """`model` with the generated `fields`; each field it refuses is replaced by its plain
    `fallback` value, so that the steps after it still happen with what else was accepted."""
    for _ in range(100):  # one refused field (or key of a field) at a time
        try:
            return model.model_validate(fields)
        except ValidationError as error:
            places = [_place(item) for item in error.errors()]
            if not any(_replace(fields, place, fallback) for place in places):
                return model.model_validate({**fields, **fallback})
    raise AssertionError(f"{model.__name__}: no fallback accepted")


def _place(item: Any) -> list[str]:
    cause = item.get("ctx", {}).get("error")
    if isinstance(cause, RefusedInput) and not item["loc"]:
        return cause.field.split(".")
    return [str(part) for part in item["loc"]]


def _replace(fields: dict[str, Any], place: list[str], fallback: dict[str, Any]) -> bool:
    """Put the fallback value at `place` (a field, or a key inside a field); False without one."""
    for depth in range(len(place), 0, -1):
        value: Any = fallback
        for part in place[:depth]:
            value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING:
            continue
        target = fields
        for part in place[: depth - 1]:
            target[part] = dict(target[part])
            target = target[part]
        if target.get(place[depth - 1], _MISSING) == value:
            return False
        target[place[depth - 1]] = value
        return True
    return False


_MISSING = object()


def _try(step: Callable[[], Any]) -> Any:
    """A step's answer, or None when the service refused it (a refusal is not the property)."""
    try:
        return step()
    except (DomainError, ValidationError):
        return None


def _requests(world: World, t: dict[str, str], account: str) -> tuple[str, str | None]:
    """The API form, a letter and a wizard request: the API one's id and tracking code."""
    api = _accepted(
        SubmitRequest,
        {
            "national_code": "0084575948",
            "full_name": t["full_name"],
            "mobile": "09123456789",
            "province": "tehran",
            "subject": t["subject"],
            "text": t["text"],
        },
        {"full_name": "مریم کاظمی", "subject": "درخواست", "text": "متن"},
    )
    filed = commands.submit(world.store, api)
    letter = _draft(world, account, LETTER_SERVICE, t, {"kind": "natural", "province": "tehran"})
    _draft(world, account, WIZARD_SERVICE, t, {"previous_result": "مراجعه قبلی نداشته‌ام"})
    return filed["tracking_code"], letter


def _draft(
    world: World, account: str, service_id: str, t: dict[str, str], extra: dict[str, str]
) -> str | None:
    """Start, save (everything typed), attach and submit a draft; its request id when sent."""
    started = drafts.start_draft(
        world.store, StartDraft(account_id=account, service_id=service_id, consent=True, assurance_level=3)
    )
    draft_id = started["draft_id"]
    fields = {
        "full_name": t["full_name"],
        "first_name": t["first_name"],
        "last_name": t["last_name"],
        "national_code": "۰۰۸۴۵۷۵۹۴۸",
        "mobile": "09123456789",
        "father_name": t["father_name"],
        "subject": t["subject"],
        "address": t["address"],
        "text": t["text"],
        "visit_description": t["description"],
        **extra,
    }
    plain = {k: "مریم" for k in ("full_name", "first_name", "last_name", "father_name", "subject")}
    plain |= {"address": "تهران", "text": "متن", "visit_description": "شرح"}
    ids = {"draft_id": draft_id, "account_id": account}
    saved = _accepted(SaveDraft, {**ids, "step": 1, "fields": fields, "check": "none"}, {"fields": plain})
    drafts.save_draft(world.store, saved)
    content = base64.b64encode(PDF).decode()
    attachment = _accepted(
        AddAttachment,
        {**ids, "name": t["file_name"] + ".pdf", "content_base64": content},
        {"name": "نامه.pdf"},
    )
    _try(lambda: drafts.add_attachment(world.store, world.files, attachment))
    sent = _try(lambda: commands.submit_draft(world.store, SubmitDraft(**ids, assurance_level=3)))
    return None if sent is None else str(sent["request_id"])


def _secretariat(world: World, t: dict[str, str], request_id: str, *, final: bool) -> None:
    """Register, refer, take, note, reply (interim or final), status, canned replies."""
    case = {"request_id": request_id, "staff": CLERK}
    secretariat.register(world.store, CaseCommand(**case))
    world.catch_up()
    plain = {"unit_name": "صدور مجوز", "instruction": "بررسی شود", "text": "یادداشت", "reason": "علت"}
    refer = {**case, "unit": "permits", "unit_name": t["unit_name"], "instruction": t["instruction"]}
    secretariat.refer(world.store, _accepted(Refer, refer, plain))
    world.catch_up()
    on_case = {"request_id": request_id, "staff": REP}
    secretariat.take(world.store, CaseCommand(**on_case))
    secretariat.add_note(world.store, _accepted(AddNote, {**on_case, "text": t["note"]}, plain))
    status = {**on_case, "value": "yes", "reason": t["reason"]}
    _try(lambda: secretariat.set_request_status(world.store, _accepted(SetRequestStatus, status, plain)))
    reply = {
        **on_case,
        "kind": "final" if final else "interim",
        "body": t["body"],
        "legal_basis": t["legal_basis"],
        "appeal_authority": t["title"],
        "appeal_deadline": t["description"],
        "notes": t["note"],
        "reply_number": t["reply_number"],
        "reply_date": t["reply_date"],
    }
    fallback = {"body": "پاسخ", "legal_basis": None, "appeal_authority": None, "appeal_deadline": None}
    fallback |= {"notes": None, "reply_number": None, "reply_date": None}
    try:
        secretariat.reply(world.store, _accepted(Reply, reply, fallback))
    except DomainError as error:  # the rule checks the date is a Jalali day: reply without it
        if error.code != "invalid_jalali_date":
            raise
        secretariat.reply(world.store, _accepted(Reply, {**reply, "reply_date": None}, fallback))
    if not final:
        release = {**on_case, "reason": t["reason"]}
        _try(lambda: secretariat.release(world.store, _accepted(WithReason, release, plain)))
    saved = {
        "staff": CLERK,
        "service_id": LETTER_SERVICE,
        "title": t["title"],
        "body": t["body"],
        "legal_basis": t["legal_basis"],
        "notes": t["note"],
    }
    canned.save(
        world.store,
        _accepted(
            SaveCannedReply, saved, {"title": "پاسخ", "body": "پاسخ", "legal_basis": ""} | {"notes": ""}
        ),
    )


def _correction(world: World, t: dict[str, str], request_id: str, account: str) -> None:
    """The clerk returns the letter; the citizen corrects and sends it again."""
    case = {"request_id": request_id, "staff": CLERK}
    secretariat.register(world.store, CaseCommand(**case))
    world.catch_up()
    back = _accepted(ReturnToApplicant, {**case, "reason": t["reason"]}, {"reason": "ناقص است"})
    secretariat.return_to_applicant(world.store, back)
    world.catch_up()
    again = {"request_id": request_id, "account_id": account, "subject": t["subject"], "text": t["text"]}
    corrected = _accepted(Resubmit, again, {"subject": "اصلاح‌شده", "text": "متن"})
    corrections.resubmit(world.store, world.files, corrected)


def _survey(world: World, t: dict[str, str], tracking_code: str) -> None:
    answer = {
        "tracking_code": tracking_code,
        "national_code": "۰۰۸۴۵۷۵۹۴۸",
        "first_name": t["first_name"],
        "last_name": t["last_name"],
        "respondent_national_code": "0084575948",
        "mobile": "09123456789",
        "answers": {q.id: 3 for q in QUESTIONS},
        "comment": t["comment"],
    }
    plain = {"first_name": "مریم", "last_name": "کاظمی", "comment": None}
    survey.answer_survey(world.store, _accepted(AnswerSurvey, answer, plain))


def _identity(world: World, t: dict[str, str]) -> str:
    """A citizen (appended as registration records one) edits the profile and asks to be verified;
    the desk officer rejects with a reason. The account's id."""
    national_code = f"{uuid.uuid4().int % 10**9:09d}"
    national_code += str(next(d for d in range(10) if _check(national_code + str(d))))
    account = citizen_id(national_code)
    registered = CitizenRegistered(
        account_id=account,
        national_code=national_code,
        mobile="09123456789",
        kind="natural",
        full_name="مریم کاظمی",
        first_name="مریم",
        last_name="کاظمی",
        birth_date="1368/04/15",
        method="mobile",
        registered_at=datetime.now(UTC).isoformat(),
    )
    world.store.append(account_stream(account), [new_event(registered)])
    edit = {
        "account_id": account,
        "first_name": t["first_name"],
        "last_name": t["last_name"],
        "address": t["address"],
        "landline": t["reply_number"],
    }
    plain = {"first_name": "مریم", "last_name": "کاظمی", "address": None, "landline": None}
    profile.update(world.deps, _accepted(UpdateProfile, edit, plain))
    form = {"account_id": account, "father_name": t["father_name"], "note": t["note"]}
    verification.submit(world.deps, _accepted(SubmitVerification, form, {"father_name": None, "note": None}))
    case = verification.status(world.deps, account)["case_id"]
    decision = {"case_id": case, "officer": OFFICER, "decision": "reject", "reason": t["reason"]}
    _try(lambda: verification.decide(world.deps, _accepted(Decide, decision, {"reason": "تصویر خوانا نیست"})))
    return account


def _check(code: str) -> bool:
    from contracts.persian import is_national_code

    return is_national_code(code)


def _catalogue_and_notify(world: World, t: dict[str, str]) -> None:
    unit = {"admin": "admin", "unit_id": f"u-{uuid.uuid4().hex[:8]}", "name": t["unit_name"]}
    unit["description"] = t["description"]
    catalogue.define_unit(world.store, _accepted(DefineUnit, unit, {"name": "واحد", "description": ""}))
    template = {"template": "request_received", "text": t["template"] + " {tracking_code}", "admin": "admin"}
    changed = _accepted(ChangeTemplate, template, {"text": "درخواست شما ثبت شد: {tracking_code}"})
    _try(lambda: notify_commands.change_template(world.store, changed))


@settings(
    max_examples=int(os.environ.get("NEVER_PARKED_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(t=inputs)
@example(t={name: "موضوع\x00" for name in TEXT_FIELDS})  # the incident
@example(t={name: "x" * 100 for name in TEXT_FIELDS})  # names at their limits, joined
@example(t={name: "ن" * 200 for name in TEXT_FIELDS})  # a unit's name at its limit, in «واحد …»
@example(t={name: "\u202eمتن\u200c\u200b" for name in TEXT_FIELDS})
def test_every_projection_applies_whatever_the_commands_accept(world: World, t: dict[str, str]) -> None:
    _catalogue_and_notify(world, t)
    account = _identity(world, t)
    tracking_code, letter = _requests(world, t, account)
    world.catch_up()
    request_id = world.store.read_stream(f"tracking-{tracking_code}")[0].data["request_id"]
    _secretariat(world, t, request_id, final=True)
    if letter is not None:
        _correction(world, t, letter, account)
    world.catch_up()
    _survey(world, t, tracking_code)
    world.catch_up()
    assert world.parked() == []
