"""Crash every part of the desk in turn while citizens and clerks keep working, then check that
all acknowledged work survived exactly once.

Each fault test measures its recovery from the moment of the restart: until both gateways report
every service healthy, until the first submission sent after the restart is acknowledged, and
until every projection has dealt with everything stored by then.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from deploy.run import SERVICES
from tests.faults.conftest import Campaign
from tests.faults.invariants import check, wait_caught_up, wait_settled

pytestmark = pytest.mark.faults

OUTAGE = 1.0  # seconds the crashed part stays down while the load keeps coming
BOUND = 90.0  # seconds any recovery step may take before the test fails


def steady(campaign: Campaign) -> None:
    """Wait for a submission acknowledged from now on: the previous fault is behind us."""
    first_success(campaign, time.monotonic())


def first_success(campaign: Campaign, since: float) -> float:
    deadline = since + BOUND
    while (done := campaign.load.ledger.first_success_after(since)) is None:
        assert time.monotonic() < deadline, f"no submission acknowledged in {BOUND}s"
        time.sleep(0.05)
    return done


def crash_and_recover(
    campaign: Campaign, fault: str, crash: Callable[[], None], restart: Callable[[], None]
) -> None:
    steady(campaign)
    before = len(campaign.load.ledger.submitted)
    crash()
    time.sleep(OUTAGE)
    restarted = time.monotonic()
    restart()
    campaign.desk.wait_healthy(timeout=BOUND)
    healthy = time.monotonic() - restarted
    submitted = first_success(campaign, restarted) - restarted
    wait_caught_up(campaign.url, timeout=BOUND)
    caught_up = time.monotonic() - restarted
    campaign.recoveries[fault] = {"healthy": healthy, "first submission": submitted, "caught up": caught_up}
    print(
        f"{fault}: healthy after {healthy:.2f}s, first submission {submitted:.2f}s,"
        f" caught up {caught_up:.2f}s"
    )
    assert len(campaign.load.ledger.submitted) > before


@pytest.mark.parametrize("service", SERVICES)
def test_a_killed_service_restarts_and_the_desk_recovers(campaign: Campaign, service: str) -> None:
    desk = campaign.desk
    crash_and_recover(
        campaign, f"kill -9 {service}", lambda: desk.kill(service), lambda: desk.start_service(service)
    )


def test_the_desk_recovers_from_a_rabbitmq_crash(campaign: Campaign) -> None:
    crash_and_recover(campaign, "RabbitMQ crash", campaign.rabbit.crash, campaign.rabbit.start)


def test_the_desk_recovers_from_a_postgresql_crash(campaign: Campaign) -> None:
    crash_and_recover(campaign, "PostgreSQL crash", campaign.postgres.crash, campaign.postgres.start)


def test_acknowledged_work_survives_every_fault_exactly_once(campaign: Campaign) -> None:
    steady(campaign)  # some work to check, also when this test runs alone
    campaign.load.stop()
    settled = wait_settled(campaign.url, timeout=BOUND)
    counts = check(campaign.url, campaign.outbox_url, campaign.load.ledger)
    print(f"settled in {settled:.2f}s; {counts}; client-side errors {dict(campaign.load.ledger.errors)}")
    assert counts["acknowledged submissions"] > 0 and counts["sms"] >= counts["acknowledged submissions"]
    # An outage is answered "try again later" (503), never as our own failure (500).
    assert [
        error for error in campaign.load.ledger.errors if error.startswith("5") and error[:3] != "503"
    ] == []
