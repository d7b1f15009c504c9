"""Hand-written fakes of notify's provider ports, shared by the notify unit tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.notify.dispatch import Channels
from services.notify.email import EmailProvider
from services.notify.projections import Planner, Status
from services.notify.providers import Delivery, PermanentFailure, Receipt, SmsProvider, TransientFailure


@dataclass
class FakeSms(SmsProvider):
    """Records every hand-over; de-duplicates by message id like a real provider.

    `script` holds what the next calls do: "ok", "transient", "permanent", or a callable run
    during the call (to act as a second instance racing this one)."""

    name: str = "fake"
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    script: list[str | Callable[[], None]] = field(default_factory=list)
    receipts_by_id: dict[str, Receipt] = field(default_factory=dict)

    def send(self, message_id: str, to: str, text: str) -> Delivery:
        self.calls.append((message_id, to, text))
        step = self.script.pop(0) if self.script else "ok"
        if callable(step):
            step()
        elif step == "transient":
            raise TransientFailure("provider down")
        elif step == "permanent":
            raise PermanentFailure("number blocks promotional messages")
        return Delivery(provider_message_id=f"p-{message_id}")

    def receipts(self, provider_message_ids: list[str]) -> dict[str, Receipt]:
        return {key: self.receipts_by_id[key] for key in provider_message_ids if key in self.receipts_by_id}

    @property
    def sent_ids(self) -> list[str]:
        """Distinct message ids handed over, in order."""
        return list(dict.fromkeys(call[0] for call in self.calls))


@dataclass
class FakeMail(EmailProvider):
    """Records every e-mail handed over."""

    name: str = "fake-mail"
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, message_id: str, to: str, subject: str, text: str) -> Delivery:
        self.sent.append((to, subject, text))
        return Delivery(provider_message_id=f"mail-{message_id}")


@dataclass
class NotifyDesk:
    """A store, notify's read models and a fake provider, in one process."""

    store: SqlEventStore
    runner: ProjectionRunner
    sms: FakeSms

    @property
    def db(self) -> Database:
        return self.runner.db

    def catch_up(self) -> None:
        """Apply every event, each time waiting for the planner's sender to hand over what the
        planner claimed (their outcomes are events to apply in turn)."""
        while True:
            applied = self.runner.run_once()
            for projection in self.runner.projections:
                if isinstance(projection, Planner) and projection.sender is not None:
                    assert projection.sender.drain(30), "the sender did not hand everything over"
            if not applied:
                return


@contextlib.contextmanager
def open_notify_desk(tmp_path: Path) -> Iterator[NotifyDesk]:
    """A store and notify's projections (the planner, which sends, and the status view) on
    SQLite under `tmp_path`."""
    store = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    sms = FakeSms()
    planner = Planner(channels=Channels(sms))
    runner = ProjectionRunner(store, Database(f"sqlite:///{tmp_path / 'notify.db'}"), [planner, Status()])
    runner.setup()
    yield NotifyDesk(store, runner, sms)
    runner.db.dispose()
    store.close()


def test_the_fake_de_duplicates_nothing_itself_but_records_each_call() -> None:
    sms = FakeSms(script=["transient", "ok"])
    with pytest.raises(TransientFailure):
        sms.send("m1", "09120000000", "x")
    assert sms.send("m1", "09120000000", "x").provider_message_id == "p-m1"
    assert (len(sms.calls), sms.sent_ids) == (2, ["m1"])
