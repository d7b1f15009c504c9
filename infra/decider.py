"""The one way every service handles a command: load the aggregate's stream, fold it with the
aggregate's pure `evolve`, `decide`, and append what was decided with the version decided on and
ids derived from the command's id. A concurrent append (`WrongExpectedVersion`) is decided again
on the new state, never overwritten and never blindly refused.

An aggregate is a `Decider`: three pure parts (an initial state, `evolve(state, event)` and
`decide(command, state) -> events`), so its rules are tested with given-events / when-command /
then-events and no store at all (`tests/scenario.py`); `handle` is the only code that talks to
the store, the same for identity, requests, secretariat, notify and survey.

A repeated command (a redelivered RPC message, a client retrying with its `Idempotency-Key`)
finds its own events in the stream by their ids and gets them again, recording nothing; the same
key with other input is refused (`Payload.check_repeat`, `idempotency_key_reused`).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from contracts.envelope import (
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamNotFound,
    StreamState,
    WrongExpectedVersion,
)
from contracts.errors import DomainError
from contracts.events import Cause, Event, new_event, registry
from contracts.eventstore import EventStore
from infra.commands import Identified, append_command

State = TypeVar("State")
Cmd = TypeVar("Cmd")

CONFLICT_ATTEMPTS = 20
"""How often a command is decided again after another append won the race for its stream."""


@dataclass(frozen=True)
class Decider(Generic[Cmd, State]):
    """An aggregate's rules: where it starts, how an event changes it, what a command decides.

    `evolve` and `decide` are pure: no store, no clock, no randomness (what a decision needs
    from the world, the command carries)."""

    initial: Callable[[], State]
    evolve: Callable[[State, Event], State]
    decide: Callable[[Cmd, State], Sequence[Event]]

    def fold(self, events: Iterable[Event], state: State | None = None) -> State:
        """The state after `events`, from `state` or the start."""
        current = self.initial() if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current


@dataclass(frozen=True)
class Decided(Generic[State]):
    """What `handle` did: the events the command recorded (or had recorded, when `repeated`),
    the aggregate's state after them and its stream's revision (None: the stream is empty)."""

    events: tuple[Event, ...]
    state: State
    revision: int | None
    repeated: bool = False
    recorded: tuple[RecordedEvent, ...] = field(default=(), repr=False)
    position: int | None = None
    """The `$all` position of the command's last event (None when it decided nothing): what a
    service waits for its read models to reach before it answers from them."""


Loader = Callable[[EventStore, str], list[RecordedEvent]]
Causes = Callable[[Sequence[NewEvent]], Cause | None]
"""The cause of each event an append records, given the events it records before that one."""
Found = Callable[[EventStore], Sequence[RecordedEvent]]
"""Events an aggregate folds that are not a stream read whole (one found by its id)."""


def read_whole(store: EventStore, stream: str) -> list[RecordedEvent]:
    """Every readable event of `stream` ([] when it does not exist)."""
    try:
        return store.read_stream(stream)
    except StreamNotFound:
        return []


def read_last(store: EventStore, stream: str) -> list[RecordedEvent]:
    """The stream's last event alone: for aggregates whose state is their last event (a book of
    numbers), however long the stream."""
    try:
        return store.read_stream(stream, backwards=True, limit=1)
    except StreamNotFound:
        return []


def event_ids(command: Identified, purpose: str, count: int) -> list[uuid.UUID]:
    """The ids of the `count` events a command records: the first is `derived(purpose)` (one id
    per command and purpose), the next `derived(f"{purpose}.{i}")`."""
    return [command.derived(purpose if i == 0 else f"{purpose}.{i}") for i in range(count)]


@dataclass(frozen=True)
class Loaded(Generic[State]):
    """An aggregate as `load_state` read it: its state, its stream's revision (None: empty) and
    that stream's events (for `handle(loaded=...)` to recognise a repeated command)."""

    state: State
    revision: int | None
    own: tuple[RecordedEvent, ...] = field(default=(), repr=False)


def load_state(
    store: EventStore,
    decider: Decider[Cmd, State],
    stream: str,
    *,
    also: Sequence[str | Found] = (),
    load: Loader = read_whole,
) -> Loaded[State]:
    """The aggregate in `stream` now (with `also` folded in, as `handle` does): for a query, or
    to gather what a command needs that depends on the state (a draft's service card) before
    `handle(loaded=...)` decides on the same reading."""
    own = load(store, stream)
    state, version = _fold(decider, own, [_read_also(store, source) for source in also])
    return Loaded(state, version, tuple(own))


def handle(
    store: EventStore,
    decider: Decider[Cmd, State],
    command: Cmd,
    stream: str,
    *,
    identity: Identified | None = None,
    purpose: str = "event",
    ids: Callable[[int], Sequence[uuid.UUID]] | None = None,
    also: Sequence[str | Found] = (),
    load: Loader = read_whole,
    new_stream: bool = False,
    after: Decided[State] | None = None,
    loaded: Loaded[State] | None = None,
    fresh_ids: bool = False,
    actor: str | None = None,
    metadata: dict[str, Any] | None = None,
    cause: Cause | Causes | None = None,
    attempts: int = CONFLICT_ATTEMPTS,
) -> Decided[State]:
    """Decide `command` on the aggregate in `stream` and append what it decided.

    - `identity`: the RPC payload the command came with (its id and fingerprint), when `command`
      is not that payload itself; the events' ids are derived from it (`event_ids`), or given by
      `ids(count)` when the aggregate has its own idempotency key (a request's number).
    - `also`: streams read to build the state but not written (a case folds its request's
      stream), or functions finding such events another way (a case's number, by its id in
      whatever book holds it); all are folded in their global order.
    - `load`: how the written stream is read (`read_last` for a long stream whose last event
      is its state).
    - `new_stream`: the command usually starts the stream: decide on the initial state without
      reading, and read only when the append finds the stream there (the hot path of a
      submission pays no read).
    - `after`: what the caller's previous command on this stream left (its `Decided`): decide
      on that state and revision without reading, and read only when the append finds the
      stream moved on (a message's outcome, recorded right after its claim).
    - `loaded`: the aggregate as the caller just read it (`load_state`) to gather the command's
      inputs: the first decision uses that reading (a repeat is recognised in it), a decision
      again after a lost race reads afresh.
    - `fresh_ids`: the command's `purpose` names something this attempt alone holds (a tracking
      code it just claimed), so the store never held its ids: a command with a fingerprint pays
      no read after its append to tell a retry from a reused key (`append_command(verify=False)`);
      a repeat finds the stream there, and its decision on it tells.
    - `actor`, `metadata`, `cause`: what every recorded event's envelope carries; `cause` may
      also name each event's cause from the events recorded before it in the same append (a
      message's claim, appended with the message, is caused by it).

    Raises the decision's `DomainError`, or `DomainError("conflict")` after `attempts` lost
    races."""
    who = identity if identity is not None else _as_identified(command)
    skip_read = new_stream or after is not None
    given = loaded
    for attempt in range(attempts):
        if skip_read:
            own: list[RecordedEvent] = []
            state, version = (decider.initial(), None) if after is None else (after.state, after.revision)
        elif given is not None:
            own, state, version = list(given.own), given.state, given.revision
            given = None
        else:
            own = load(store, stream)
            state, version = _fold(decider, own, [_read_also(store, source) for source in also])
        if own and (earlier := _earlier(who, purpose, ids, own)):
            who.check_repeat(earlier[0])
            events = tuple(registry.decode(r) for r in earlier)
            return Decided(
                events, state, version, repeated=True, recorded=tuple(earlier), position=earlier[-1].position
            )
        decided = tuple(decider.decide(command, state))
        if not decided:
            return Decided((), state, version)
        envelopes = _envelopes(decided, who, purpose, ids, actor, metadata, cause)
        expected: ExpectedVersion = StreamState.NO_STREAM if version is None else version
        try:
            result = append_command(store, stream, envelopes, expected, who, verify=not fresh_ids)
        except WrongExpectedVersion:
            skip_read = False
            time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
            continue
        return Decided(decided, decider.fold(decided, state), result.revision, position=result.position)
    raise DomainError("conflict", f"{stream} stayed busy")


def _read_also(store: EventStore, source: str | Found) -> list[RecordedEvent]:
    return read_whole(store, source) if isinstance(source, str) else list(source(store))


def _as_identified(command: object) -> Identified:
    if not hasattr(command, "derived") or not hasattr(command, "check_repeat"):
        raise TypeError("handle() needs `identity=` when the command is not a Payload")
    return command  # type: ignore[return-value]  # checked structurally just above


def _fold(
    decider: Decider[Cmd, State], own: list[RecordedEvent], others: list[list[RecordedEvent]]
) -> tuple[State, int | None]:
    version = own[-1].revision if own else None
    recorded = own if not any(others) else sorted([*own, *(e for s in others for e in s)], key=_position)
    return decider.fold(registry.decode(r) for r in recorded), version


def _position(recorded: RecordedEvent) -> int:
    return recorded.position


def _earlier(
    who: Identified,
    purpose: str,
    ids: Callable[[int], Sequence[uuid.UUID]] | None,
    own: list[RecordedEvent],
) -> list[RecordedEvent]:
    """This command's events already in the stream, in order ([] when it is new here)."""
    wanted = list(ids(len(own))) if ids is not None else event_ids(who, purpose, len(own))
    by_id = {recorded.id: recorded for recorded in own}
    found = []
    for event_id in wanted:
        if event_id not in by_id:
            break
        found.append(by_id[event_id])
    return found


def _envelopes(
    decided: Sequence[Event],
    who: Identified,
    purpose: str,
    ids: Callable[[int], Sequence[uuid.UUID]] | None,
    actor: str | None,
    metadata: dict[str, Any] | None,
    cause: Cause | Causes | None,
) -> list[NewEvent]:
    chosen = ids(len(decided)) if ids is not None else event_ids(who, purpose, len(decided))
    envelopes: list[NewEvent] = []
    for event, event_id in zip(decided, chosen, strict=True):
        named = cause(envelopes) if callable(cause) else cause
        envelope = new_event(event, event_id=event_id, cause=named, actor=actor)
        envelope.metadata.update(metadata or {})
        envelopes.append(envelope)
    return envelopes
