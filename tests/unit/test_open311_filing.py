"""A request a partner system files through Open311, decided with no store: the applicant is
the person the partner named (kind "partner", its id, no national code), the service's
attributes are checked (unknown, missing required, off their list: refused, naming the field),
a phone that is not a mobile is kept as a landline, and v3's events read as v4."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.errors import DomainError
from contracts.events import registry
from contracts.requests import RequestSubmitted, SubmitForPartner
from services.requests import open311
from services.requests.catalogue_rules import CatalogueEntry
from services.requests.request import SubmitPartnered, decide, partnered_id, requests
from services.requests.sample_catalogue import SERVICES

AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
WIZARD = SERVICES[0]
LETTER = next(s for s in SERVICES if s.form == "letter")


def _filed(service: Any = WIZARD, **given: Any) -> RequestSubmitted:
    payload = SubmitForPartner(
        **{
            "partner_id": "p-1",
            "service_id": service.service_id,
            "first_name": "مریم",
            "last_name": "کاظمی",
            "phone": "09123456789",
            "description": "چراغ کوچه خاموش است",
            **given,
        }
    )
    events = decide(SubmitPartnered(payload, CatalogueEntry(service), "1234567890", AT), requests.initial())
    assert len(events) == 1 and isinstance(events[0], RequestSubmitted)
    assert events[0].request_id == partnered_id(payload)
    return events[0]


def test_the_applicant_is_the_person_the_partner_named_without_a_national_code() -> None:
    event = _filed(attributes={"previous_result": open311.PREVIOUS_RESULTS[1]})
    assert event.applicant.kind == "partner" and event.applicant.partner_id == "p-1"
    assert event.applicant.national_code == "" and event.applicant.mobile == "09123456789"
    assert event.applicant.full_name == "مریم کاظمی"
    assert event.unit == WIZARD.unit_id and event.service_id == WIZARD.service_id
    assert event.visit is not None and event.visit.previous_result == open311.PREVIOUS_RESULTS[1]


def test_a_landline_is_kept_and_the_mobile_left_empty() -> None:
    event = _filed(phone="021-88776655", email="a@example.com")
    assert event.applicant.mobile == "" and event.applicant.landline == "02188776655"
    assert event.applicant.email == "a@example.com"


def test_a_letter_takes_its_subject_and_province_from_the_attributes() -> None:
    event = _filed(LETTER, attributes={"subject": "مجوز", "province": "fars"})
    assert (event.subject, event.province) == ("مجوز", "fars")


@pytest.mark.parametrize(
    ("service", "given", "field"),
    [
        (WIZARD, {"attributes": {"colour": "red"}}, "attribute[colour]"),
        (WIZARD, {"attributes": {"previous_result": "هر چه"}}, "attribute[previous_result]"),
        (WIZARD, {"attributes": {"visit_date": "1500/01/01"}}, "attribute[visit_date]"),
        (LETTER, {"attributes": {"province": "fars"}}, "attribute[subject]"),
        (LETTER, {"attributes": {"subject": "x", "province": "atlantis"}}, "attribute[province]"),
        (WIZARD, {"first_name": "", "last_name": ""}, "first_name"),
        (WIZARD, {"phone": "12"}, "phone"),
        (WIZARD, {"email": "not-an-address"}, "email"),
    ],
)
def test_what_breaks_a_rule_is_refused_naming_the_field(
    service: Any, given: dict[str, Any], field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        _filed(service, **given)
    assert (refused.value.code, refused.value.detail) == ("partner_request_invalid", field)


def test_a_v3_submission_reads_as_v4_unchanged() -> None:
    v3 = _filed().model_dump(mode="json")
    v3["applicant"] = {k: v for k, v in v3["applicant"].items() if k != "partner_id"} | {
        "kind": "natural", "national_code": "0084575948"
    }  # fmt: skip
    upcast = registry.upcast("RequestSubmitted", 3, v3)
    assert RequestSubmitted.model_validate(upcast).applicant.partner_id is None
