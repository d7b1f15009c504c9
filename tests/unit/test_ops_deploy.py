"""The cluster manifests validate offline against Kubernetes' schemas; compose names every process;
both reach PostgreSQL through PgBouncer in session mode, within the connection budget."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from sqlalchemy.engine import make_url

from deploy.run import GATEWAYS, SERVICES, SIMULATORS
from infra.db import PoolSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _all() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in _documents(path)]


def _find(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in _all() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_every_manifest_is_valid_kubernetes(path: Path) -> None:
    version = kubernetes_validate.latest_version()  # the schemas ship with the package: no network
    for document in _documents(path):
        kubernetes_validate.validate(document, version, strict=True)


def test_kustomization_lists_every_manifest_but_the_optional_eventstoredb() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in MANIFESTS} - {"eventstoredb.yaml"}


@pytest.mark.parametrize("name", [*SERVICES, *GATEWAYS])
def test_each_service_and_gateway_scales_out_with_probes_on_healthz_and_secrets_from_a_secret(
    name: str,
) -> None:
    deployment = _find("Deployment", name)
    assert deployment["spec"]["replicas"] >= 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"].startswith("/healthz")
    assert "livenessProbe" in container
    assert {"secretRef": {"name": "pishkhan-secrets"}} in container["envFrom"]
    assert "env" not in container  # configuration only from the ConfigMap and the Secret


def test_services_run_under_the_health_wrapper_of_their_own_name() -> None:
    for service in SERVICES:
        (container,) = _find("Deployment", service)["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", "deploy.healthz", service]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}


def test_rabbitmq_is_a_three_node_cluster_with_quorum_queues() -> None:
    statefulset = _find("StatefulSet", "rabbitmq")
    assert statefulset["spec"]["replicas"] == 3
    conf = _find("ConfigMap", "rabbitmq-config")["data"]["rabbitmq.conf"]
    # Quorum queues through the desk's vhost (RabbitMQ 3.10 refuses `default_queue_type` in
    # rabbitmq.conf), every process given every node: as tests/cluster runs the desk.
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    hook = " ".join(container["lifecycle"]["postStart"]["exec"]["command"])
    assert "add_vhost pishkhan --default-queue-type quorum" in hook
    nodes = _find("Secret", "pishkhan-secrets")["stringData"]["AMQP_URI"].split(";")
    assert [url.rsplit("/", 1)[1] for url in nodes] == ["pishkhan"] * 3
    assert "cluster_formation.peer_discovery_backend = k8s" in conf
    assert _find("PodDisruptionBudget", "rabbitmq")["spec"]["maxUnavailable"] == 1


def test_the_secret_in_the_repository_holds_only_placeholders() -> None:
    secret = _find("Secret", "pishkhan-secrets")
    assert all("CHANGE-ME" in value for value in secret["stringData"].values())


def test_compose_runs_every_process_from_one_image_with_required_secrets() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    expected = {*SERVICES, *GATEWAYS, *SIMULATORS, "postgres", "rabbitmq", "ops"}
    assert expected <= set(services)
    for name in [*SERVICES, *GATEWAYS, *SIMULATORS]:
        spec = services[name]
        assert spec["image"] == "pishkhan:0.1.0"
        module = next(part for part in spec["command"][1:] if part.startswith(("deploy.", "gateway.")))
        assert importlib.util.find_spec(module.split(":")[0]) is not None, f"{name}: {module} does not exist"
        for dependency in spec.get("depends_on", {}):
            assert dependency in services
    for name in SERVICES:
        assert services[name]["command"][-1] == name
        assert "healthz" in " ".join(services[name]["healthcheck"]["test"])
    build = services[SERVICES[0]]["build"]
    assert (DEPLOY.parent / build["context"].replace("..", ".") / build["dockerfile"]).is_file()
    environment = services[SERVICES[0]]["environment"]
    assert all(":?" in environment[v] for v in ("DATABASE_URL", "AMQP_URI", "SESSION_SECRET"))


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


def test_the_cluster_reaches_the_postgresql_primary_or_its_standby_through_a_session_pgbouncer() -> None:
    secret = _find("Secret", "pishkhan-secrets")["stringData"]
    for variable in ("DATABASE_URL", "EVENTSTORE_URL"):
        url = make_url(secret[variable])
        assert url.query["host"] == ("postgres-0.postgres:6432", "postgres-1.postgres:6432")
        assert (url.query["target_session_attrs"], url.database) == ("read-write", "pishkhan")
    statefulset = _find("StatefulSet", "postgres")
    assert statefulset["spec"]["replicas"] == 2
    script = _find("ConfigMap", "postgres-scripts")["data"]["start.sh"]
    assert "synchronous_commit=on" in script and '"synchronous_standby_names=$peer"' in script
    assert "application_name=$me" in script and "pg_basebackup" in script
    containers = {c["name"]: c for c in statefulset["spec"]["template"]["spec"]["containers"]}
    container = containers["pgbouncer"]
    env = _env(container)
    assert env["POOL_MODE"] == "session"  # the store's listener keeps its connection LISTENing
    assert (env["DB_HOST"], env["DB_NAME"], env["LISTEN_PORT"]) == ("127.0.0.1", "pishkhan", "6432")
    password = {item["name"]: item for item in container["env"]}["DB_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"] == {"name": "pishkhan-secrets", "key": "POSTGRES_PASSWORD"}
    service = _find("Service", "postgres")
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]
    assert 6432 in [port["port"] for port in service["spec"]["ports"]]

    # The pools read their sizes from the ConfigMap; every service replica at its ceiling fits
    # in what PgBouncer lets reach the server, which fits in PostgreSQL's default 100.
    settings = PoolSettings.from_env(_find("ConfigMap", "pishkhan-config")["data"])
    replicas = sum(_find("Deployment", name)["spec"]["replicas"] for name in SERVICES)
    server = int(env["MAX_DB_CONNECTIONS"])  # every process reaches the primary's PgBouncer
    assert replicas * settings.process_ceiling() <= server < 100


def test_compose_reaches_postgresql_through_a_session_pgbouncer() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    bouncer = services["pgbouncer"]
    assert bouncer["environment"]["POOL_MODE"] == "session"
    assert bouncer["environment"]["DB_HOST"] == "postgres"
    assert "postgres" in bouncer["depends_on"]
    assert services["pgbouncer-standby"]["environment"]["DB_HOST"] == "postgres-standby"
    primary, standby = services["postgres"]["command"][0], services["postgres-standby"]["command"][0]
    assert "synchronous_commit=on -c synchronous_standby_names=postgres_standby" in primary
    assert "application_name=postgres_standby" in standby and "-R" in standby
    assert "synchronous_standby_names" not in standby  # promoted, it must not wait for a standby
    for name in [*SERVICES, *GATEWAYS, "ops"]:
        spec = services[name]
        assert "pgbouncer" in spec["depends_on"] and "postgres" not in spec["depends_on"]
        for variable in ("DATABASE_URL", "EVENTSTORE_URL"):
            url = spec["environment"][variable]
            assert "@/pishkhan?host=pgbouncer:5432&host=pgbouncer-standby:5432" in url
            assert url.endswith("&target_session_attrs=read-write")
        assert {"DB_POOL_SIZE", "DB_POOL_IDLE_SECONDS"} <= set(spec["environment"])
    ceiling = len(SERVICES) * PoolSettings().process_ceiling()  # one of each, at the default sizes
    assert ceiling <= int(bouncer["environment"]["MAX_DB_CONNECTIONS"]) < 100
