"""The audit on PostgreSQL: its look-ups by tracking code, registration number and national
code (`LIKE` on the stored JSON, behind the index on `type`) find what they find on SQLite."""

from __future__ import annotations

import pytest

from contracts.persian import persian_digits
from infra.eventstore.sql import SqlEventStore
from infra.ops import history
from tests.audit_history import NATIONAL_CODE, record_history

pytestmark = pytest.mark.integration


def test_every_name_of_a_request_finds_the_same_events_on_postgresql(scratch_pg_url: str) -> None:
    store = SqlEventStore(scratch_pg_url)
    try:
        recorded = record_history(store)
        by_id = {e.id for e in history.find_history(store, recorded.request_id)}
        assert len(by_id) == 12
        for subject in (
            recorded.tracking_code,
            persian_digits(recorded.tracking_code),
            recorded.registration_number,
            persian_digits(recorded.registration_number),
        ):
            assert [{e.id for e in g.events} for g in history.find_groups(store, subject)] == [by_id]
        groups = history.find_groups(store, NATIONAL_CODE)
        assert [(g.subject.kind, g.subject.id) for g in groups] == [
            ("request", recorded.request_id),
            ("request", recorded.second_request),
            ("account", recorded.account_id),
        ]
        assert {e.id for e in groups[0].events} == by_id
        rows = history.group_rows(groups[:1], history.Actors(store))[0]["rows"]
        number = next(r for r in rows if r["type"] == "NumberAssigned")
        assert (number["actor_name"], number["role"]) == ("سارا دبیری", "clerk")
    finally:
        store.close()
