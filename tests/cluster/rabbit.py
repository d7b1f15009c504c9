"""A private three-node RabbitMQ cluster on free ports, whose nodes a test may kill.

Each node is a `tests.faults.instances.PrivateRabbit` (its own config, data and ports, run as the
`rabbitmq` user, whose Erlang cookie every node and `rabbitmqctl` share). The second and third
join the first (`stop_app`, `join_cluster`, `start_app`). A node killed with SIGKILL and started
again on the same data rejoins the cluster by itself.

The desk's durable queues (`rpc-<service>`) become quorum queues, replicated on all three nodes,
the way the cluster in `deploy/k8s/` makes them: the vhost's default queue type (see `VHOST`).
"""

from __future__ import annotations

import time

from tests.faults.instances import PrivateRabbit

VHOST = "pishkhan"
"""The desk's vhost, made with `--default-queue-type quorum`: RabbitMQ 3.10 ignores
`default_queue_type` in rabbitmq.conf; a vhost's default queue type applies to every queue
declared in it without an `x-queue-type` that is durable (exclusive reply queues stay classic)."""

RECOVERIES: dict[str, dict[str, float]] = {}
"""Seconds from each node's kill to the first acknowledged submission and to read models caught
up, for the terminal summary (tests/cluster/conftest.py)."""


class RabbitCluster:
    """Three clustered nodes; `uri` names all three (kombu's failover list, `;`-separated)."""

    def __init__(self, size: int = 3) -> None:
        self.nodes = [PrivateRabbit(prefix="cluster") for _ in range(size)]

    @property
    def uri(self) -> str:
        """The failover AMQP_URI of the desk's vhost: every node, first one first."""
        return ";".join(f"pyamqp://guest:guest@127.0.0.1:{node.port}/{VHOST}" for node in self.nodes)

    def start(self) -> None:
        """Start every node, join the others to the first, and make the desk's vhost."""
        for node in self.nodes:
            node.start()
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.node)
            node.ctl("start_app")
        first.ctl("add_vhost", VHOST, "--default-queue-type", "quorum")
        first.ctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")

    def running(self) -> list[PrivateRabbit]:
        """The nodes whose process runs."""
        return [n for n in self.nodes if n.process is not None and n.process.poll() is None]

    def ctl(self, *args: str, timeout: float = 60) -> str:
        """`rabbitmqctl` on any running node."""
        return self.running()[0].ctl(*args, timeout=timeout)

    def queues(self) -> dict[str, dict[str, str]]:
        """The desk vhost's queues: name → type, leader, members, online (as rabbitmqctl prints them)."""
        columns = ("name", "type", "leader", "members", "online")
        text = self.ctl("list_queues", "-p", VHOST, "-q", "--no-table-headers", *columns)
        found = {}
        for line in text.splitlines():
            cells = line.split("\t")
            if len(cells) == len(columns):
                found[cells[0]] = dict(zip(columns[1:], cells[1:], strict=True))
        return found

    def rpc_queues(self) -> dict[str, dict[str, str]]:
        """The services' `rpc-<service>` queues."""
        return {name: q for name, q in self.queues().items() if name.startswith("rpc-")}

    def connections(self, node: PrivateRabbit) -> int:
        """How many client connections `node` holds (each node has its own AMQP port)."""
        ports = self.ctl("list_connections", "-q", "--no-table-headers", "port").split()
        return ports.count(str(node.port))

    def leader(self) -> PrivateRabbit:
        """The node that leads the most of the services' queues."""
        leaders = [q["leader"] for q in self.rpc_queues().values()]
        return max(self.running(), key=lambda n: leaders.count(n.node))

    def wait_replicated(self, timeout: float = 90) -> dict[str, dict[str, str]]:
        """Wait until every services' queue has every node online (a restarted node caught up)."""
        deadline = time.monotonic() + timeout
        names = {n.node for n in self.nodes}
        while True:
            try:
                queues = self.rpc_queues()
                if queues and all(_nodes(q["online"]) == names for q in queues.values()):
                    return queues
            except Exception:  # noqa: BLE001 - a node still starting; ask again
                queues = {}
            if time.monotonic() > deadline:
                raise TimeoutError(f"queues not on every node after {timeout}s: {queues}")
            time.sleep(0.5)

    def close(self) -> None:
        """Stop every node and remove its files."""
        for node in self.nodes:
            node.close()


def _nodes(cell: str) -> set[str]:
    """rabbitmqctl's `[a@h, b@h]` as a set of node names."""
    return {part.strip() for part in cell.strip("[]").split(",") if part.strip()}
