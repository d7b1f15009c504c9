"""The desk on a PostgreSQL primary with a synchronous standby, failed over under load.

Services, gateways and the operator's commands name both servers in one multi-host URL with
`target_session_attrs=read-write`. The primary's postmaster is killed with SIGKILL while
citizens and clerks keep working, and the standby is promoted; nothing is restarted on the
desk's side. Measured from the kill: the first acknowledged submission, and every read model
caught up with what the promoted server holds. Then every acknowledged piece of work must be
there exactly once, `$all` without a gap, the hash chains whole (`pishkhan integrity`) and every
read model equal to a rebuild (`pishkhan verify`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.eventstore.schema import events_table
from tests.cluster.postgres import RECOVERIES, StreamingPair
from tests.faults.conftest import Campaign
from tests.faults.instances import PrivateRabbit, missing_tools
from tests.faults.invariants import check, wait_caught_up, wait_settled
from tests.faults.load import desk_under_load
from tests.faults.test_faults import BOUND, first_success, steady

pytestmark = pytest.mark.cluster

PISHKHAN = Path(sys.executable).with_name("pishkhan")
WORK = 6
"""Submissions acknowledged before the kill, and again after it, at the least."""


@dataclass
class Failover:
    """The fault tests' campaign (desk, load, RabbitMQ) on a primary and its standby."""

    campaign: Campaign
    pair: StreamingPair


@pytest.fixture(scope="module")
def on_standby_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Failover]:
    reason = missing_tools()
    if reason is not None:
        pytest.fail(f"the cluster tests need private server instances: {reason}")
    folder = tmp_path_factory.mktemp("postgres-failover")
    pair = StreamingPair()
    rabbit = PrivateRabbit()
    try:
        pair.start("pishkhan")
        rabbit.start()
        url = pair.url("pishkhan")
        with desk_under_load(folder, rabbit.amqp_uri, url) as (desk, load, outbox_url):
            yield Failover(Campaign(desk, load, pair.primary, rabbit, url, outbox_url, RECOVERIES), pair)
    finally:
        rabbit.close()
        pair.close()


def pishkhan(campaign: Campaign, *args: str) -> subprocess.CompletedProcess[str]:
    """The operator's command line, pointed at the same multi-host URL as the desk."""
    return subprocess.run(
        [str(PISHKHAN), *args],
        env=dict(campaign.desk.env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def acknowledged(campaign: Campaign, at_least: int) -> int:
    """Wait until the load has `at_least` acknowledged submissions; how many it has."""
    deadline = time.monotonic() + BOUND
    while (count := len(campaign.load.ledger.submitted)) < at_least:
        assert time.monotonic() < deadline, f"{count} of {at_least} submissions acknowledged in {BOUND}s"
        time.sleep(0.1)
    return count


def positions(url: str) -> list[int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(sa.select(events_table.c.position).order_by(events_table.c.position)))
    finally:
        engine.dispose()


@pytest.mark.timeout(600)
def test_the_desk_fails_over_to_the_promoted_standby_and_loses_nothing(on_standby_pair: Failover) -> None:
    campaign, pair = on_standby_pair.campaign, on_standby_pair.pair
    steady(campaign)
    before = acknowledged(campaign, at_least=WORK)  # work to lose, numbered and replied to

    pair.kill_primary()
    killed = time.monotonic()
    pair.promote()
    promoted = time.monotonic() - killed
    submitted = first_success(campaign, killed) - killed
    wait_caught_up(campaign.url, timeout=BOUND)
    caught_up = time.monotonic() - killed
    campaign.recoveries["kill -9 primary, promote"] = {
        "promoted": promoted,
        "first submission": submitted,
        "caught up": caught_up,
    }
    print(
        f"kill -9 primary, promote standby: promoted after {promoted:.2f}s, first submission"
        f" {submitted:.2f}s, read models caught up {caught_up:.2f}s"
    )
    assert not pair.in_recovery(pair.standby), "the standby was not promoted"
    acknowledged(campaign, at_least=before + WORK)  # the desk keeps working on the promoted server

    campaign.load.stop()
    settled = wait_settled(campaign.url, timeout=BOUND)
    counts = check(campaign.url, campaign.outbox_url, campaign.load.ledger)
    print(f"settled in {settled:.2f}s; {counts}; client-side errors {dict(campaign.load.ledger.errors)}")
    assert counts["acknowledged submissions"] > 0 and counts["sms"] >= counts["acknowledged submissions"]

    stored = positions(campaign.url)
    assert stored == list(range(1, len(stored) + 1)), "a gap or a repeat in $all"

    for command in (["integrity"], ["verify"]):
        done = pishkhan(campaign, *command)
        print(f"pishkhan {' '.join(command)} → {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        assert done.returncode == 0, f"pishkhan {' '.join(command)} failed"

    # The failover is answered "try again later" (503), never as our own failure (500).
    assert [
        error for error in campaign.load.ledger.errors if error.startswith("5") and error[:3] != "503"
    ] == []
