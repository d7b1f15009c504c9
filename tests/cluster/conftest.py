"""The cluster tests' terminal summary: what each failover cost."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The recovery times, for the README and the report."""
    from tests.cluster.postgres import RECOVERIES as POSTGRES_RECOVERIES
    from tests.cluster.rabbit import RECOVERIES as RABBIT_RECOVERIES

    if RABBIT_RECOVERIES:
        terminalreporter.section("RabbitMQ cluster failovers (seconds from the kill)")
        for fault, figures in RABBIT_RECOVERIES.items():
            terminalreporter.write_line(
                f"{fault:<30} " + "  ".join(f"{k} {v:6.2f}" for k, v in figures.items())
            )
    if POSTGRES_RECOVERIES:
        terminalreporter.section("PostgreSQL failovers (seconds from the kill)")
        for fault, figures in POSTGRES_RECOVERIES.items():
            terminalreporter.write_line(
                f"{fault:<30} " + "  ".join(f"{k} {v:6.2f}" for k, v in figures.items())
            )
