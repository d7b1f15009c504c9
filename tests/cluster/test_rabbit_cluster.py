"""The desk on a three-node RabbitMQ cluster keeps answering when the node leading its queues dies.

A whole desk runs on a private PostgreSQL and a private three-node cluster, every service and
gateway given all three nodes (a failover `AMQP_URI`), the services' `rpc-<service>` queues
quorum queues on all three. Under the fault tests' steady load of citizens and clerks, the node
leading those queues is killed (SIGKILL), then, once it is back and caught up, the node leading
them after that, then the node holding most of the desk's connections. Each time we measure
the seconds from the kill to the first submission acknowledged and to every read model caught
up with what the store then held. At the end every invariant of the fault tests must hold, and
no call may have failed with a 5xx other than 503.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.cluster.rabbit import RECOVERIES, VHOST, RabbitCluster
from tests.faults.conftest import Campaign
from tests.faults.instances import PrivatePostgres, PrivateRabbit, missing_tools
from tests.faults.invariants import check, wait_caught_up, wait_settled
from tests.faults.load import desk_under_load
from tests.faults.test_faults import BOUND, first_success, steady

pytestmark = pytest.mark.cluster

SERVICE_QUEUES = {f"rpc-{s}" for s in ("identity", "requests", "secretariat", "notify", "survey", "relay")}


@dataclass
class ClusterCampaign:
    """The fault tests' campaign (desk, load, PostgreSQL) on a RabbitMQ cluster."""

    campaign: Campaign
    cluster: RabbitCluster


@pytest.fixture(scope="module")
def on_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterCampaign]:
    reason = missing_tools()
    if reason is not None:
        pytest.fail(f"the cluster tests need private server instances: {reason}")
    folder = tmp_path_factory.mktemp("rabbit-cluster")
    postgres = PrivatePostgres()
    cluster = RabbitCluster()
    try:
        postgres.start()
        cluster.start()
        url = postgres.create_database("pishkhan")
        with desk_under_load(folder, cluster.uri, url) as (desk, load, outbox_url):
            campaign = Campaign(desk, load, postgres, cluster.nodes[0], url, outbox_url, RECOVERIES)
            yield ClusterCampaign(campaign, cluster)
    finally:
        cluster.close()
        postgres.close()


def test_the_services_queues_are_quorum_queues_on_every_node(on_cluster: ClusterCampaign) -> None:
    queues = on_cluster.cluster.wait_replicated(timeout=BOUND)
    print("\n" + on_cluster.cluster.ctl("list_queues", "-p", VHOST, "name", "type", "leader", "members"))
    assert set(queues) >= SERVICE_QUEUES
    assert {name: q["type"] for name, q in queues.items()} == dict.fromkeys(queues, "quorum")
    nodes = {n.node for n in on_cluster.cluster.nodes}
    assert all(set(q["members"].strip("[]").split(", ")) == nodes for q in queues.values())


def fail_over(on_cluster: ClusterCampaign, fault: str, victim: PrivateRabbit) -> None:
    """Kill `victim` under the load; measure from the kill to the first submission acknowledged
    and to read models caught up; start it again and wait until it is back in every queue."""
    campaign, cluster = on_cluster.campaign, on_cluster.cluster
    led = [name for name, q in cluster.rpc_queues().items() if q["leader"] == victim.node]
    clients = cluster.connections(victim)
    killed = time.monotonic()
    victim.crash()
    try:
        submitted = first_success(campaign, killed) - killed
    finally:
        print(f"\nafter killing {victim.node}: client-side errors {dict(campaign.load.ledger.errors)}")
    wait_caught_up(campaign.url, timeout=BOUND)
    caught_up = time.monotonic() - killed
    campaign.recoveries[fault] = {"first submission": submitted, "caught up": caught_up}
    print(
        f"\n{fault} ({victim.node}: leading {len(led)} of the services' queues, holding"
        f" {clients} client connections): first submission {submitted:.2f}s,"
        f" read models caught up {caught_up:.2f}s after the kill"
    )
    # The survivors lead every queue now; the killed node comes back and rejoins them.
    assert victim.node not in {q["leader"] for q in cluster.rpc_queues().values()}
    victim.start()
    cluster.wait_replicated(timeout=BOUND)
    campaign.desk.wait_healthy(timeout=BOUND)


@pytest.mark.timeout(600)
def test_the_desk_fails_over_when_the_leading_node_dies_twice(on_cluster: ClusterCampaign) -> None:
    for round_ in (1, 2):
        on_cluster.cluster.wait_replicated(timeout=BOUND)
        steady(on_cluster.campaign)
        fail_over(on_cluster, f"cluster: kill -9 leader {round_}", on_cluster.cluster.leader())


def test_the_desk_fails_over_when_the_node_its_clients_use_dies(on_cluster: ClusterCampaign) -> None:
    """After the first failover the clients may sit on a node that leads no queue: kill it too."""
    cluster = on_cluster.cluster
    cluster.wait_replicated(timeout=BOUND)
    steady(on_cluster.campaign)
    busiest = max(cluster.running(), key=cluster.connections)
    assert cluster.connections(busiest) > 0
    fail_over(on_cluster, "cluster: kill -9 clients' node", busiest)


def test_acknowledged_work_survives_the_failovers_exactly_once(on_cluster: ClusterCampaign) -> None:
    campaign = on_cluster.campaign
    steady(campaign)
    campaign.load.stop()
    settled = wait_settled(campaign.url, timeout=BOUND)
    counts = check(campaign.url, campaign.outbox_url, campaign.load.ledger)
    errors = dict(campaign.load.ledger.errors)
    print(f"\nsettled in {settled:.2f}s; {counts}; client-side errors {errors}")
    assert counts["acknowledged submissions"] > 0 and counts["sms"] >= counts["acknowledged submissions"]
    # While a queue moves the desk answers "try again later" (503), never as our own failure.
    assert [error for error in errors if error.startswith("5") and error[:3] != "503"] == []
