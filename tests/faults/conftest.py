"""The fault tests share one desk on private PostgreSQL and RabbitMQ instances, under one steady
load that runs from the first fault to the final check; each test restarts one thing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from deploy.run import GATEWAYS, SIMULATORS, Desk
from tests.desk import DATABASE_VARIABLES, free_port
from tests.faults.instances import PrivatePostgres, PrivateRabbit, missing_tools
from tests.faults.load import Load


@dataclass
class Campaign:
    """The desk under load, the instances the tests may crash, and the recoveries measured."""

    desk: Desk
    load: Load
    postgres: PrivatePostgres
    rabbit: PrivateRabbit
    url: str
    outbox_url: str
    recoveries: dict[str, dict[str, float]] = field(default_factory=dict)


RECOVERIES: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    reason = missing_tools()
    if reason is not None:
        pytest.fail(f"the fault tests need private server instances: {reason}")
    folder = tmp_path_factory.mktemp("faults")
    postgres = PrivatePostgres()
    rabbit = PrivateRabbit()
    desk: Desk | None = None
    load: Load | None = None
    try:
        postgres.start()
        rabbit.start()
        url = postgres.create_database("pishkhan")
        outbox_url = f"sqlite:///{folder / 'outbox.db'}"
        variables = {
            **{k: v for k, v in os.environ.items() if k not in DATABASE_VARIABLES},
            "AMQP_URI": rabbit.amqp_uri,
            "SMS_OUTBOX_URL": outbox_url,
            "PISHKHAN_VAR": str(folder),
            "EVENTSTORE_URL": url,
            "DATABASE_URL": url,
            # The outbox answers in milliseconds: a claim older than this was abandoned by a crash.
            "NOTIFY_LEASE": "10",
        }
        desk = Desk(
            env=variables,
            ports={g: free_port() for g in GATEWAYS},
            simulator_ports={s: free_port() for s in SIMULATORS},
            log_dir=folder / "log",
        )
        desk.start()
        load = Load(desk)
        load.start()
        yield Campaign(desk, load, postgres, rabbit, url, outbox_url, RECOVERIES)
    finally:
        if load is not None:
            load.stop()
        if desk is not None:
            desk.stop()
        rabbit.close()
        postgres.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The recovery times, for the README and the report."""
    if not RECOVERIES:
        return
    terminalreporter.section("fault recoveries (seconds from the restart)")
    for fault, figures in RECOVERIES.items():
        terminalreporter.write_line(f"{fault:<24} " + "  ".join(f"{k} {v:6.2f}" for k, v in figures.items()))
