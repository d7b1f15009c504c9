"""A repeated `submit` (the same command id) answers with the first request and reserves no
second tracking code; a first attempt cut short is completed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from contracts.envelope import AppendResult, NewEvent, StreamState
from contracts.events import new_event
from contracts.requests import TrackingCodeIssued
from contracts.rpc import SubmitRequest
from infra.eventstore.sql import SqlEventStore
from services.requests import commands
from tests.pg import required_database

CITIZEN = {
    "national_code": "0084575948",
    "full_name": "مریم کاظمی",
    "mobile": "09123456789",
    "province": "tehran",
    "subject": "درخواست صدور مجوز",
    "text": "متن درخواست",
    "command_id": "retry-key-7",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlEventStore]:
    with ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'events.db'}" if request.param == "sqlite" else None
        opened = SqlEventStore(url or stack.enter_context(required_database()))
        yield opened
        opened.close()


def _codes_issued(store: SqlEventStore) -> list[str]:
    return [e.data["tracking_code"] for e in store.read_all(0, types=["TrackingCodeIssued"])]


def test_a_repeat_answers_the_first_request_and_reserves_no_code(store: SqlEventStore) -> None:
    command = SubmitRequest.model_validate(CITIZEN)
    first = commands.submit(store, command)
    assert commands.submit(store, command) == first
    assert _codes_issued(store) == [first["tracking_code"]]
    assert len(store.read_stream(commands.request_stream(first["request_id"]))) == 1


def test_a_first_attempt_that_stopped_after_reserving_a_code_is_completed(store: SqlEventStore) -> None:
    command = SubmitRequest.model_validate(CITIZEN)
    request_id = command.derived("request").hex
    lost = TrackingCodeIssued(tracking_code="123456789050", request_id=request_id)
    store.append(
        "tracking-123456789050",
        [new_event(lost, event_id=command.derived("tracking"))],
        StreamState.NO_STREAM,
    )
    done = commands.submit(store, command)
    assert done["request_id"] == request_id and done["tracking_code"] != "123456789050"
    (recorded,) = store.read_stream(commands.request_stream(request_id))
    assert recorded.data["tracking_code"] == done["tracking_code"]
    assert commands.submit(store, command) == done


class _NoIdIndexAcrossStreams:
    """A store that, like EventStoreDB, writes an id again in another stream."""

    def __init__(self, store: SqlEventStore) -> None:
        self._store = store

    def append(self, stream: str, events: list[NewEvent], expected: Any = StreamState.ANY) -> AppendResult:
        if stream.startswith("tracking-"):
            events = [new_event(TrackingCodeIssued.model_validate(e.data)) for e in events]
        return self._store.append(stream, events, expected)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_repeat_on_a_store_without_an_id_index_across_streams_still_answers_the_first(
    store: SqlEventStore,
) -> None:
    command = SubmitRequest.model_validate(CITIZEN)
    plain = _NoIdIndexAcrossStreams(store)
    first = commands.submit(plain, command)  # type: ignore[arg-type]
    assert commands.submit(plain, command) == first  # type: ignore[arg-type]
    assert len(store.read_stream(commands.request_stream(first["request_id"]))) == 1
