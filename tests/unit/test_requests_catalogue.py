"""The administrator's catalogue commands and the back-office form's mapping."""

from __future__ import annotations

import pytest

from contracts.catalogue import DefineUnit, PublishService, RetireService, ServicePublished
from contracts.errors import DomainError
from contracts.requests import StartDraft
from gateway.backoffice.catalogue import card_from_form, form_from_card
from infra.eventstore.sql import SqlEventStore
from services.requests import catalogue, drafts
from services.requests.sample_catalogue import SERVICES

FORM = {
    "service_id": "۱۰۰۱۲۱۳۴۰۰۹",
    "unit_id": "water",
    "service_type": "انشعاب",
    "name": "درخواست انشعاب آب روستایی",
    "expected_duration_days": "۱۲",
    "steps": "ثبت درخواست\n\nبازدید\nصدور",
    "faq": "هزینه چقدر است؟ | طبق تعرفه",
    "officers": "علی احمدی | کارشناس",
    "form": "letter",
    "province": "fars",
    "required_assurance_level": "1",
    "max_size_kb": "300",
    "max_count": "1",
    "type_pdf": "on",
    "type_png": "on",
    "attachments_required": "on",
}


def test_a_service_needs_its_unit_and_gets_its_name(store: SqlEventStore) -> None:
    publish = PublishService(admin="admin-1", card=card_from_form(FORM))
    with pytest.raises(DomainError, match="unit_not_found"):
        catalogue.publish_service(store, publish)
    catalogue.define_unit(
        store, DefineUnit(admin="admin-1", unit_id="water", name="دفتر آب و فاضلاب روستایی")
    )
    assert catalogue.publish_service(store, publish) == {"service_id": "10012134009"}
    entry = catalogue.load_service(store, "10012134009")
    assert entry.card.unit_name == "دفتر آب و فاضلاب روستایی" and entry.card.published_by == "admin-1"
    assert entry.card.steps == ("ثبت درخواست", "بازدید", "صدور") and entry.card.faq[0].answer == "طبق تعرفه"
    assert entry.card.attachment_rules.types == ("pdf", "png") and entry.card.attachment_rules.required
    (recorded,) = store.read_stream("catalogue-service-10012134009")
    assert recorded.metadata == {"actor": "admin:admin-1"}


def test_a_bad_card_names_its_field(store: SqlEventStore) -> None:
    catalogue.define_unit(store, DefineUnit(admin="a", unit_id="water", name="دفتر آب"))
    with pytest.raises(DomainError) as refused:
        catalogue.publish_service(
            store, PublishService(admin="a", card=card_from_form({**FORM, "service_id": "123"}))
        )
    assert refused.value.code == "invalid_input" and "service_id" in (refused.value.detail or "")
    with pytest.raises(DomainError, match="invalid_province"):
        catalogue.publish_service(
            store, PublishService(admin="a", card=card_from_form({**FORM, "province": "mars"}))
        )


def test_a_new_edition_replaces_the_card_and_retiring_stops_new_drafts(store: SqlEventStore) -> None:
    catalogue.define_unit(store, DefineUnit(admin="a", unit_id="water", name="دفتر آب"))
    catalogue.publish_service(store, PublishService(admin="a", card=card_from_form(FORM)))
    catalogue.publish_service(
        store, PublishService(admin="a", card=card_from_form({**FORM, "expected_duration_days": "5"}))
    )
    assert catalogue.load_service(store, "10012134009").card.expected_duration_days == 5
    catalogue.retire_service(store, RetireService(admin="a", service_id="10012134009", reason="ادغام"))
    with pytest.raises(DomainError, match="service_retired"):
        drafts.start_draft(
            store, StartDraft(account_id="c", service_id="10012134009", consent=True, assurance_level=3)
        )


@pytest.mark.parametrize("card", SERVICES, ids=lambda s: s.service_id)
def test_the_form_shows_a_card_as_it_was_published(card: ServicePublished) -> None:
    shown = card.model_dump(mode="json")
    again = card_from_form(form_from_card(shown))
    rebuilt = ServicePublished.model_validate(
        {**again, "unit_name": card.unit_name, "published_by": card.published_by}
    )
    assert rebuilt == card
