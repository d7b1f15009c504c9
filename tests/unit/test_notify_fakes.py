"""Notify in one process (the `notify_desk` fixture of tests/conftest.py gives one), and the
fake SMS provider's own behaviour, which the notify unit tests rely on."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.notify.planner import Planner
from services.notify.providers import TransientFailure
from tests.fakes import FakeSmsProvider


@dataclass
class NotifyDesk:
    """A store, notify's read models and a fake provider, in one process."""

    store: SqlEventStore
    runner: ProjectionRunner
    sms: FakeSmsProvider

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


def test_the_fake_de_duplicates_nothing_itself_but_records_each_call() -> None:
    sms = FakeSmsProvider(script=["transient", "ok"])
    with pytest.raises(TransientFailure):
        sms.send("m1", "09120000000", "x")
    assert sms.send("m1", "09120000000", "x").provider_message_id == "p-m1"
    assert (len(sms.calls), sms.sent_ids) == (2, ["m1"])
