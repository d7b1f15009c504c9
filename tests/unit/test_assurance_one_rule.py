"""What a level allows is one rule: the requests service refuses a filing exactly where the account
page's «آنچه سطح شما اجازه می‌دهد» says «نیازمند سطح …» (both ask `contracts.identity.may_file` of the
service card's level), for every sample service and every level."""

from __future__ import annotations

import pytest

from contracts.errors import DomainError
from contracts.identity import may_file
from services.requests.catalogue_rules import CatalogueEntry, usable
from services.requests.sample_catalogue import SERVICES


@pytest.mark.parametrize("card", SERVICES, ids=lambda card: card.service_id)
def test_the_service_refuses_exactly_where_the_page_says_a_higher_level_is_needed(card: object) -> None:
    entry = CatalogueEntry(card)  # type: ignore[arg-type]
    for level in range(4):
        try:
            usable(entry, level)
        except DomainError as refused:
            assert refused.code == "assurance_too_low"
            filed = False
        else:
            filed = True
        assert filed == may_file(level, entry.card.required_assurance_level), (level, entry.card.service_id)


def test_the_formal_letter_is_open_at_the_level_its_card_asks() -> None:
    letter = next(card for card in SERVICES if card.service_id == "17011230001")
    assert letter.required_assurance_level == 2
    assert may_file(2, letter.required_assurance_level) and not may_file(1, letter.required_assurance_level)
