"""The shared command handler: load, fold, decide, append with the version decided on; repeats
answered from the stream; a lost race decided again on the new state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from contracts.envelope import RecordedEvent, StreamState
from contracts.errors import DomainError
from contracts.events import Event, new_event
from contracts.eventstore import EventStore
from contracts.rpc import Payload
from contracts.secretariat import CaseReleased, CaseTaken
from infra.decider import Decider, handle, read_whole
from tests.scenario import scenario

STREAM = "holder-test"


class Take(Payload):
    """Take the thing in hand (refused while someone else holds it)."""

    actor: str


@dataclass(frozen=True)
class Holder:
    taken_by: str | None = None
    takes: int = 0


def evolve(state: Holder, event: Event) -> Holder:
    if isinstance(event, CaseTaken):
        return Holder(event.actor, state.takes + 1)
    if isinstance(event, CaseReleased):
        return Holder(None, state.takes)
    return state


def decide(command: Take, state: Holder) -> Sequence[Event]:
    if state.taken_by == command.actor:
        return []
    if state.taken_by is not None:
        raise DomainError("held_by_other")
    return [CaseTaken(request_id="r", actor=command.actor)]


holder = Decider(initial=Holder, evolve=evolve, decide=decide)


def test_given_when_then_needs_no_store() -> None:
    scenario(holder).when(Take(actor="a")).then(CaseTaken(request_id="r", actor="a"))
    scenario(holder).given(CaseTaken(request_id="r", actor="a")).when(Take(actor="b")).refused(
        "held_by_other"
    )
    scenario(holder).given(CaseTaken(request_id="r", actor="a")).when(Take(actor="a")).nothing()


def test_handle_appends_with_ids_from_the_command(store: EventStore) -> None:
    command = Take(actor="a")
    decided = handle(store, holder, command, STREAM, actor="staff:a")
    assert decided.state == Holder("a", 1) and decided.revision == 0 and not decided.repeated
    (recorded,) = store.read_stream(STREAM)
    assert recorded.id == command.derived("event")
    assert recorded.metadata["actor"] == "staff:a"


def test_a_repeated_command_gets_its_first_events_and_records_nothing(store: EventStore) -> None:
    command = Take(actor="a", fingerprint="1" * 64)
    handle(store, holder, command, STREAM)
    again = handle(store, holder, command, STREAM)
    assert again.repeated and again.events == (CaseTaken(request_id="r", actor="a"),)
    assert len(store.read_stream(STREAM)) == 1
    reused = Take(actor="a", command_id=command.command_id, fingerprint="2" * 64)
    with pytest.raises(DomainError) as refused:
        handle(store, holder, reused, STREAM)
    assert refused.value.code == "idempotency_key_reused"


def test_a_lost_race_is_decided_again_on_the_new_state(store: EventStore) -> None:
    """Another writer appends between this command's read and its append: the append fails on
    its expected version, the command reads again and decides on what the other did."""
    calls = 0

    def racing_load(store_: EventStore, stream: str) -> list[RecordedEvent]:
        nonlocal calls
        calls += 1
        seen = read_whole(store_, stream)
        if calls == 1:
            store_.append(stream, [new_event(CaseTaken(request_id="r", actor="b"))], StreamState.NO_STREAM)
        return seen

    with pytest.raises(DomainError) as refused:
        handle(store, holder, Take(actor="a"), STREAM, load=racing_load)
    assert refused.value.code == "held_by_other" and calls == 2
    assert [r.data["actor"] for r in store.read_stream(STREAM)] == ["b"]


def test_new_stream_decides_without_reading_then_reads_when_it_exists(store: EventStore) -> None:
    handle(store, holder, Take(actor="a"), STREAM, new_stream=True)
    same = handle(store, holder, Take(actor="a"), STREAM, new_stream=True)
    assert same.events == () and same.state == Holder("a", 1) and same.revision == 0
    with pytest.raises(DomainError) as refused:
        handle(store, holder, Take(actor="b"), STREAM, new_stream=True)
    assert refused.value.code == "held_by_other"


def test_a_stream_that_stays_busy_ends_in_conflict(store: EventStore) -> None:
    def always_stale(store_: EventStore, stream: str) -> list[RecordedEvent]:
        store_.append(stream, [new_event(CaseReleased(request_id="r", reason="x", actor="z"))])
        return []

    with pytest.raises(DomainError) as refused:
        handle(store, holder, Take(actor="a"), STREAM, load=always_stale, attempts=3)
    assert refused.value.code == "conflict"
