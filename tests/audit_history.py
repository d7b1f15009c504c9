"""A request's whole history as the services record it, for the audit's tests: the staff's and
the citizen's accounts, the submission (with its tracking code's claim), its number, a referral,
the reply, the SMS each of these caused, and the survey; and beside it a second request of the
same citizen and one of someone else. Apart from these, requests a partner system filed through
Open311 (`record_partner_requests`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from contracts.envelope import RecordedEvent
from contracts.events import Event, new_event
from contracts.eventstore import EventStore
from contracts.identity import CitizenRegistered, RoleGranted, StaffCreated
from contracts.notify import SmsQueued, SmsSent
from contracts.partners import AddPartner, RevokePartner
from contracts.requests import SubmitForPartner
from contracts.rpc import SubmitRequest
from contracts.secretariat_rpc import CaseCommand, Refer, Reply, Staff
from contracts.survey import QUESTIONS, AnswerSurvey
from tests.units import define_units

with warnings.catch_warnings():
    # Nameko's eventlet reads dnspython's DSA classes, which cryptography 51 deprecates.
    warnings.filterwarnings("ignore", message="DSA is deprecated")
    from services.identity import partners
    from services.requests import commands as requests
    from services.requests import sample_catalogue
    from services.secretariat import commands as secretariat
    from services.survey.commands import answer_survey

NATIONAL_CODE = "0084575948"
CITIZEN_NAME = "مریم کاظمی"
MOBILE = "09123456789"
CLERK = Staff(account_id="clerk-1", name="سارا دبیری", roles=("clerk",), province="tehran")
REP = Staff(account_id="rep-1", name="رضا پیگیر", roles=("representative",), unit="permits")
AT = "2026-03-01T08:00:00+00:00"
PARTNER_NAME = "سامانهٔ شهرداری منطقه ۳"
UNKNOWN_PARTNER = "f" * 32


@dataclass(frozen=True)
class History:
    """What was recorded: the request's id, tracking code and registration number, the
    citizen's account, and the ids of the other requests."""

    request_id: str
    tracking_code: str
    registration_number: str
    account_id: str
    second_request: str
    stranger_request: str


def _account(store: EventStore, account_id: str, *events: Event) -> None:
    store.append(f"account-{account_id}", [new_event(e, actor="staff:admin") for e in events])


def _staff(store: EventStore, staff: Staff, national_code: str) -> None:
    created = StaffCreated(
        account_id=staff.account_id,
        national_code=national_code,
        full_name=staff.name or staff.account_id,
        mobile="09120000000",
        created_by="admin",
        created_at=AT,
    )
    granted = [
        RoleGranted(account_id=staff.account_id, role=role, granted_by="admin", at=AT) for role in staff.roles
    ]
    _account(store, staff.account_id, created, *granted)


def _submit(store: EventStore, national_code: str, name: str) -> tuple[str, str]:
    command = SubmitRequest(
        national_code=national_code,
        full_name=name,
        mobile=MOBILE,
        province="tehran",
        subject="درخواست مجوز",
        text="متن درخواست",
    )
    answer = requests.submit(store, command)
    return answer["request_id"], answer["tracking_code"]


def _sms(store: EventStore, cause: RecordedEvent, template: str, request_id: str) -> None:
    """The messages the notify planner queues for `cause`, and the provider's acceptance."""
    message_id = f"{template}-{cause.id.hex[:12]}"
    queued = new_event(
        SmsQueued(message_id=message_id, to=MOBILE, template=template, text="پیام", request_id=request_id),
        cause=cause,
        actor="service:notify",
    )
    sent = new_event(
        SmsSent(message_id=message_id, provider="outbox", provider_message_id=f"outbox-{message_id}"),
        cause=queued,
        actor="service:notify",
    )
    store.append(f"sms-{message_id}", [queued, sent])


def _last(store: EventStore, stream: str) -> RecordedEvent:
    return store.read_stream(stream, backwards=True, limit=1)[0]


def record_history(store: EventStore) -> History:
    """Record the history (see the module's docstring) through the services' own commands."""
    define_units(store)
    _staff(store, CLERK, "0010000001")
    _staff(store, REP, "0010000002")
    citizen = "acc-citizen-1"
    registered = CitizenRegistered(
        account_id=citizen,
        national_code=NATIONAL_CODE,
        mobile=MOBILE,
        kind="natural",
        full_name=CITIZEN_NAME,
        first_name="مریم",
        last_name="کاظمی",
        birth_date="1370/01/01",
        method="mobile",
        registered_at=AT,
    )
    store.append(f"account-{citizen}", [new_event(registered, actor=f"citizen:{citizen}")])

    request_id, code = _submit(store, NATIONAL_CODE, CITIZEN_NAME)
    _sms(store, _last(store, f"request-{request_id}"), "submitted", request_id)
    number = secretariat.register(store, CaseCommand(request_id=request_id, staff=CLERK))
    assigned = next(
        e for e in store.read_all(0, types=["NumberAssigned"]) if e.data["request_id"] == request_id
    )
    _sms(store, assigned, "numbered", request_id)
    secretariat.refer(
        store,
        Refer(
            request_id=request_id,
            staff=CLERK,
            unit="permits",
            representative=REP.account_id,
            instruction="بررسی شود",
        ),
    )
    secretariat.reply(store, Reply(request_id=request_id, staff=REP, kind="final", body="مجوز صادر شد"))
    _sms(store, _last(store, f"case-{request_id}"), "replied", request_id)
    answer_survey(
        store,
        AnswerSurvey(
            tracking_code=code,
            national_code=NATIONAL_CODE,
            first_name="مریم",
            last_name="کاظمی",
            respondent_national_code=NATIONAL_CODE,
            mobile=MOBILE,
            answers={q.id: 4 for q in QUESTIONS},
        ),
    )
    second, _ = _submit(store, NATIONAL_CODE, CITIZEN_NAME)
    stranger, _ = _submit(store, "0012345679", "علی رضایی")
    return History(request_id, code, number["registration_number"], citizen, second, stranger)


@dataclass(frozen=True)
class PartnerFiled:
    """A partner (added by an administrator, revoked after it filed), the request it filed, and
    a request filed under a partner id the store does not know."""

    partner_id: str
    request_id: str
    tracking_code: str
    stranger_request: str


def _file_for(store: EventStore, partner_id: str, description: str) -> dict[str, str]:
    command = SubmitForPartner(
        partner_id=partner_id,
        service_id=sample_catalogue.SERVICES[0].service_id,
        first_name="مریم",
        last_name="کاظمی",
        phone=MOBILE,
        description=description,
    )
    return requests.submit_for_partner(store, command)


def record_partner_requests(store: EventStore) -> PartnerFiled:
    """A partner added, a request it filed through Open311, the partner revoked; and a request
    filed as a partner the store has no stream of (its events lost, or written by hand)."""
    sample_catalogue.load(store)
    admin = partners.Actor("staff:admin", operator=True)
    partner_id = partners.add(store, AddPartner(name=PARTNER_NAME, actor="staff:admin"), admin)["id"]
    filed = _file_for(store, partner_id, "چراغ کوچه خاموش است")
    partners.revoke(store, RevokePartner(partner_id=partner_id, reason="پایان قرارداد", actor="admin"), admin)
    stranger = _file_for(store, UNKNOWN_PARTNER, "درخت افتاده است")
    return PartnerFiled(partner_id, filed["request_id"], filed["tracking_code"], stranger["request_id"])
