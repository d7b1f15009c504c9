"""Given events, when a command, then events (or a refusal): an aggregate's rules tested as pure
functions, with no store and no SQL.

    scenario(case_decider).given(submitted, referred).when(reply).then(ReplyPosted(...))
    scenario(case_decider).given(submitted).when(reply).refused("not_numbered")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from contracts.errors import DomainError
from contracts.events import Event
from infra.decider import Decider

State = TypeVar("State")
Cmd = TypeVar("Cmd")


@dataclass
class Outcome(Generic[State]):
    """What a command decided on the given history: its events, or the refusal's code."""

    state: State
    events: tuple[Event, ...] = ()
    error: DomainError | None = None

    def then(self, *expected: Event, ignoring: Sequence[str] = ()) -> Outcome[State]:
        """The command decided exactly `expected` (fields in `ignoring` are not compared)."""
        assert self.error is None, f"refused with {self.error.code}: {self.error}"
        assert [_dump(e, ignoring) for e in self.events] == [_dump(e, ignoring) for e in expected]
        return self

    def then_types(self, *names: str) -> Outcome[State]:
        """The command decided events of these types, in this order."""
        assert self.error is None, f"refused with {self.error.code}: {self.error}"
        assert [event.type_name for event in self.events] == list(names)
        return self

    def nothing(self) -> Outcome[State]:
        """The command was accepted and decided that nothing needs recording."""
        assert self.error is None, f"refused with {self.error.code}: {self.error}"
        assert self.events == ()
        return self

    def refused(self, code: str) -> Outcome[State]:
        """The command was refused with the error `code`."""
        assert self.error is not None, f"accepted, deciding {[e.type_name for e in self.events]}"
        assert self.error.code == code, f"refused with {self.error.code}, not {code}"
        return self

    def event(self, index: int = 0) -> Any:
        """One decided event, to look at its fields."""
        assert self.error is None, f"refused with {self.error.code}: {self.error}"
        return self.events[index]


@dataclass
class Scenario(Generic[Cmd, State]):
    """A history for one aggregate, and the commands decided on it."""

    decider: Decider[Cmd, State]
    history: list[Event] = field(default_factory=list)

    def given(self, *events: Event) -> Scenario[Cmd, State]:
        """These events already happened."""
        self.history.extend(events)
        return self

    @property
    def state(self) -> State:
        return self.decider.fold(self.history)

    def when(self, command: Cmd) -> Outcome[State]:
        """Decide `command` on the history (which it does not change)."""
        state = self.state
        try:
            events = tuple(self.decider.decide(command, state))
        except DomainError as error:
            return Outcome(state, error=error)
        return Outcome(state, events)

    def after(self, command: Cmd) -> Scenario[Cmd, State]:
        """Decide `command` and take what it decided into the history (for the next `when`)."""
        outcome = self.when(command)
        assert outcome.error is None, f"refused with {outcome.error.code}: {outcome.error}"
        self.history.extend(outcome.events)
        return self


def scenario(decider: Decider[Cmd, State]) -> Scenario[Cmd, State]:
    """A fresh history for `decider`'s aggregate."""
    return Scenario(decider)


def _dump(event: Event, ignoring: Sequence[str]) -> tuple[str, dict[str, Any]]:
    data = event.model_dump(mode="json")
    for name in ignoring:
        data.pop(name, None)
    return event.type_name, data
