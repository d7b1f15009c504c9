"""The fault tests share one desk on private PostgreSQL and RabbitMQ instances, under one steady
load that runs from the first fault to the final check; each test restarts one thing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from deploy.run import Desk
from tests.faults.instances import PrivatePostgres, PrivateRabbit, missing_tools
from tests.faults.load import Load, desk_under_load


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
    try:
        postgres.start()
        rabbit.start()
        url = postgres.create_database("pishkhan")
        with desk_under_load(folder, rabbit.amqp_uri, url) as (desk, load, outbox_url):
            yield Campaign(desk, load, postgres, rabbit, url, outbox_url, RECOVERIES)
    finally:
        rabbit.close()
        postgres.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The recovery times, for the README and the report."""
    if not RECOVERIES:
        return
    terminalreporter.section("fault recoveries (seconds from the restart)")
    for fault, figures in RECOVERIES.items():
        terminalreporter.write_line(f"{fault:<24} " + "  ".join(f"{k} {v:6.2f}" for k, v in figures.items()))
