"""The letter form as the guides have it: a company account's pre-filled fields (seed 000), the
«واحد سازمانی مخاطب» kept with the letter (seed 002), and the visit calendar's month (seed 003)."""

from __future__ import annotations

import jdatetime

from contracts.events import registry
from contracts.requests import RequestSubmitted
from gateway.citizen.visit_calendar import month_grid
from services.requests import sample_catalogue
from services.requests.draft import prefill
from tests.unit.test_requests_files import PDF
from tests.unit.test_requests_journey import Journey, journey  # noqa: F401 - the fixture

LETTER = next(s for s in sample_catalogue.SERVICES if s.service_id == "17011230001")
COMPANY_ACCOUNT = {
    "kind": "legal",
    "full_name": "نرگس طاهری",
    "national_code": "0011223340",
    "mobile": "09123334455",
    "birth_date": "1370/05/20",
    "company_name": "شرکت نمونه",
    "company_national_id": "10380284790",
}


def test_a_company_account_fills_the_owner_with_the_person_and_the_company_fields() -> None:
    fields = prefill(LETTER, COMPANY_ACCOUNT)
    assert fields["kind"] == "legal"
    assert fields["owner_name"] == "نرگس طاهری"
    assert (fields["owner_national_code"], fields["owner_mobile"]) == ("0011223340", "09123334455")
    assert fields["owner_birth_date"] == "1370/05/20"
    assert (fields["company_name"], fields["company_national_id"]) == ("شرکت نمونه", "10380284790")


def test_a_person_account_fills_the_natural_form() -> None:
    fields = prefill(LETTER, {"full_name": "مریم کاظمی", "father_name": "علی", "birth_date": "1368/04/15"})
    assert (fields["kind"], fields["full_name"], fields["father_name"]) == ("natural", "مریم کاظمی", "علی")
    assert "company_name" not in fields


def _letter(journey: Journey, unit: str) -> tuple[str, dict[str, str]]:  # noqa: F811
    draft_id = journey.start("17011230002")
    fields = {
        "full_name": "محمدرضا امینی",
        "national_code": "0084575948",
        "mobile": "09123456789",
        "province": "tehran",
        "subject": "اصلاحیه صورتجلسه",
        "addressee_unit": unit,
    }
    errors = journey.save(draft_id, 1, fields, check="none")["errors"]
    return draft_id, errors


def test_the_addressee_unit_is_kept_with_the_letter(journey: Journey) -> None:  # noqa: F811
    draft_id, errors = _letter(journey, sample_catalogue.SECRETARIAT)
    assert errors == {}
    journey.attach(draft_id, "بدنه.pdf", PDF)
    request_id = journey.submit(draft_id)["request_id"]
    event = registry.decode(journey.store.read_stream(f"request-{request_id}")[0])
    assert isinstance(event, RequestSubmitted) and event.addressee_unit == sample_catalogue.SECRETARIAT


def test_a_unit_nobody_defined_is_refused_and_not_kept(journey: Journey) -> None:  # noqa: F811
    draft_id, errors = _letter(journey, "no-such-unit")
    assert errors["addressee_unit"] == "واحد سازمانی مخاطب را از فهرست انتخاب کنید."
    saved = journey.save(draft_id, 1, {}, check="none")
    assert saved["fields"]["addressee_unit"] == "" and saved["fields"]["subject"] == "اصلاحیه صورتجلسه"


def test_a_v2_submission_reads_as_addressed_to_no_unit() -> None:
    data = {
        "request_id": "r1",
        "tracking_code": "123456789012",
        "applicant": {"national_code": "0084575948", "full_name": "م ک", "mobile": "09123456789"},
        "province": "tehran",
        "subject": "موضوع",
        "text": "",
        "submitted_at": "2026-01-01T00:00:00+00:00",
    }
    event = registry.upcast("RequestSubmitted", 2, data)
    assert event["addressee_unit"] == ""


def test_the_visit_calendar_offers_no_day_after_today_and_marks_the_chosen_one() -> None:
    today = jdatetime.date(1405, 9, 16)
    month = month_grid(None, "1405/09/10", today)
    days = {d.number: d for week in month.weeks for d in week if d}
    assert (month.name, month.year, len(days), month.next) == ("آذر", 1405, 30, None)
    assert days[16].selectable and not days[17].selectable and days[10].chosen
    assert month.weeks[0][0] is None and month.weeks[0][1] is not None  # 1 Azar 1405 is a Sunday
    earlier = month_grid(month.previous, "", today)
    assert (earlier.name, earlier.next) == ("آبان", "1405/09")
    leap = month_grid("1403/12", "", today)
    assert max(d.number for week in leap.weeks for d in week if d) == 30  # 1403 is a leap year
    assert month_grid("1406/01", "", today).name == "آذر"  # no month after today's
