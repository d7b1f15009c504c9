"""Every service's projections wired in one process, for tests that need no RabbitMQ."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from contracts.eventstore import EventStore
from infra.db import Database
from infra.projections import ProjectionRunner
from services.notify.dispatch import Channels
from services.notify.projections import Planner, Status
from services.notify.providers import OutboxProvider
from services.requests.projections import CitizenRequests
from services.secretariat.projections import Inbox
from services.survey.projections import Invitations


@dataclass
class Desk:
    """The read models of all services over one store."""

    store: EventStore
    requests: ProjectionRunner
    secretariat: ProjectionRunner
    notify: ProjectionRunner
    survey: ProjectionRunner
    outbox: OutboxProvider

    @property
    def runners(self) -> list[ProjectionRunner]:
        return [self.requests, self.secretariat, self.notify, self.survey]

    def catch_up(self) -> None:
        """Run every projection until nothing is left (notify plans, then sends), each time
        waiting for the planner's sender to hand over what the planner claimed: its outcomes
        are events to apply in turn, and a message still being sent is not yet what a rebuild
        from the events says."""
        while True:
            applied = sum(runner.run_once() for runner in self.runners)
            for projection in self.notify.projections:
                if isinstance(projection, Planner) and projection.sender is not None:
                    assert projection.sender.drain(30), "the sender did not hand everything over"
            if not applied:
                return


def build_desk(store: EventStore, folder: Path) -> Desk:
    """Runners on SQLite read models under `folder`."""

    def db(name: str) -> Database:
        return Database(f"sqlite:///{folder / name}.db")

    outbox = OutboxProvider(f"sqlite:///{folder / 'outbox'}.db")
    desk = Desk(
        store=store,
        requests=ProjectionRunner(store, db("requests"), [CitizenRequests()]),
        secretariat=ProjectionRunner(store, db("secretariat"), [Inbox()]),
        notify=ProjectionRunner(store, db("notify"), [Planner(channels=Channels(outbox)), Status()]),
        survey=ProjectionRunner(store, db("survey"), [Invitations()]),
        outbox=outbox,
    )
    for runner in desk.runners:
        runner.setup()
    return desk
