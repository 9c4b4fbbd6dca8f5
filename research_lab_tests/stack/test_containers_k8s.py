"""deploy/k8s/: every manifest valid against the Kubernetes schemas, and the Dagster instance
that the Helm values declare loads.

No cluster runs here. ``kubernetes-validate`` checks each manifest offline against the JSON
schemas it ships (strict: an unknown field is an error). For the Helm values, the instance
configuration (``dagster.yaml``) is rendered from them the way the chart's
``configmap-instance`` template does for the sections used (PostgreSQL storage, K8sRunLauncher,
QueuedRunCoordinator, run monitoring and retries, retention), then loaded as a real
``DagsterInstance`` on a throw-away PostgreSQL database, with a kubeconfig file instead of the
in-cluster configuration; research_lab's executor with ``kind: k8s`` becomes dagster-k8s's
step-per-Job executor on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from research_lab_tests.conftest import temp_pg_database

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
VALUES = K8S / "dagster-values.yaml"
KUBE_VERSION = "1.33"
SECRETS = {"research-lab-secrets", "research-lab-dagster-postgresql"}


def _manifests() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path == VALUES:
            continue
        docs += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


@pytest.mark.parametrize("name,doc", _manifests(),
                         ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_manifest_validates_against_the_kubernetes_schema(name, doc):
    import kubernetes_validate

    kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)  # raises on any error


def test_a_broken_manifest_is_refused():
    import kubernetes_validate

    doc = dict(next(d for _, d in _manifests() if d["kind"] == "Deployment"))
    doc["spec"] = {**doc["spec"], "replicas": "four"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def _env_sources(doc: dict) -> set[str]:
    names = set()
    for container in doc["spec"]["template"]["spec"]["containers"]:
        for source in container.get("envFrom", []):
            names.add((source.get("secretRef") or source.get("configMapRef"))["name"])
        for var in container.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
            else:
                assert not any(k in var["name"] for k in ("PASSWORD", "URI", "URL")) or \
                    var["name"] in ("MLFLOW_TRACKING_URI",), f"literal {var['name']}"
    return names


def test_workers_and_mlflow_take_their_secrets_from_kubernetes_secrets():
    docs = {(d["kind"], d["metadata"]["name"]): d for _, d in _manifests()}
    assert not [k for k in docs if k[0] == "Secret"], "no Secret with values in the repository"
    worker = docs[("Deployment", "research-lab-study-worker")]
    assert _env_sources(worker) == {"research-lab-config", "research-lab-secrets"}
    assert worker["spec"]["template"]["spec"]["containers"][0]["command"] == \
        ["research-lab", "optimize", "worker"]
    assert "RESEARCH_LAB_OPTUNA_STORAGE" in str(worker["spec"]["template"]["spec"]["containers"][0]
                                                ["livenessProbe"])
    assert _env_sources(docs[("Job", "research-lab-study-burst")]) == {
        "research-lab-config", "research-lab-secrets"}
    assert _env_sources(docs[("Deployment", "research-lab-mlflow")]) == {"research-lab-secrets"}
    service = docs[("Service", "research-lab-mlflow")]
    config = docs[("ConfigMap", "research-lab-config")]
    assert config["data"]["MLFLOW_TRACKING_URI"] == \
        f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"


def _values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def test_helm_values_use_the_k8s_launcher_and_external_postgres_with_secrets():
    values = _values()
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["postgresql"]["postgresqlPassword"] == ""
    assert values["global"]["postgresqlSecretName"] in SECRETS
    user = values["dagster-user-deployments"]["deployments"][0]
    assert user["dagsterApiGrpcArgs"] == ["-m", "research_lab.definitions", "-a", "defs"]
    for section in (values["dagsterWebserver"], values["dagsterDaemon"], user,
                    values["runLauncher"]["config"]["k8sRunLauncher"]):
        assert {s["name"] for s in section["envSecrets"]} <= SECRETS
        assert {c["name"] for c in section["envConfigMaps"]} == {"research-lab-config"}


def render_instance(values: dict, namespace: str) -> dict:
    """dagster.yaml as the chart's configmap-instance template renders it (sections used)."""
    pg = values["postgresql"]
    postgres_db = {"username": pg["postgresqlUsername"], "password": {"env": "DAGSTER_PG_PASSWORD"},
                   "hostname": pg["postgresqlHost"], "db_name": pg["postgresqlDatabase"],
                   "port": pg["service"]["port"], "params": pg["postgresqlParams"]}
    if pg.get("postgresqlScheme"):
        postgres_db["scheme"] = pg["postgresqlScheme"]
    storage = {"config": {"postgres_db": postgres_db}}
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    daemon = values["dagsterDaemon"]
    queued = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    monitoring, retries = daemon["runMonitoring"], daemon["runRetries"]
    return {
        "scheduler": {"module": "dagster._core.scheduler", "class": "DagsterDaemonScheduler"},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage",
                             "class": "PostgresScheduleStorage", **storage},
        "run_storage": {"module": "dagster_postgres.run_storage", "class": "PostgresRunStorage",
                        **storage},
        "event_log_storage": {"module": "dagster_postgres.event_log",
                              "class": "PostgresEventLogStorage", **storage},
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": {
            "load_incluster_config": launcher["loadInclusterConfig"],
            "job_namespace": launcher.get("jobNamespace") or namespace,
            "image_pull_policy": launcher["imagePullPolicy"],
            "service_account_name": "research-lab-dagster",
            "dagster_home": {"env": "DAGSTER_HOME"},
            "instance_config_map": {"env": "DAGSTER_K8S_INSTANCE_CONFIG_MAP"},
            "postgres_password_secret": {"env": "DAGSTER_K8S_PG_PASSWORD_SECRET"},
            "env_config_maps": [{"env": "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP"}]
            + [c["name"] for c in launcher["envConfigMaps"]],
            "env_secrets": [s["name"] for s in launcher["envSecrets"]],
            "run_k8s_config": {"container_config": launcher["runK8sConfig"]["containerConfig"]},
        }},
        "run_coordinator": {"module": "dagster._core.run_coordinator",
                            "class": "QueuedRunCoordinator", "config": {
                                "max_concurrent_runs": queued["maxConcurrentRuns"],
                                "tag_concurrency_limits": queued["tagConcurrencyLimits"],
                                "dequeue_interval_seconds": queued["dequeueIntervalSeconds"]}},
        "run_monitoring": {"enabled": monitoring["enabled"],
                           "start_timeout_seconds": monitoring["startTimeoutSeconds"],
                           "poll_interval_seconds": monitoring["pollIntervalSeconds"]},
        "run_retries": {"enabled": retries["enabled"]},
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
        "retention": {"schedule": {"purge_after_days":
                                   values["retention"]["schedule"]["purgeAfterDays"]},
                      "sensor": {"purge_after_days":
                                 values["retention"]["sensor"]["purgeAfterDays"]}},
    }


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: research}}]
current-context: x
"""


@pytest.mark.postgres
def test_the_instance_the_helm_values_declare_loads(tmp_path, monkeypatch):
    import dagster as dg
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.executor.init import InitExecutorContext
    from dagster._core.executor.step_delegating import StepDelegatingExecutor
    from dagster_k8s import K8sRunLauncher

    from research_lab.defs.executors import lab_executor

    instance_yaml = render_instance(_values(), namespace="research")
    with temp_pg_database("rl_k8s") as url:
        # the cluster's PostgreSQL and in-cluster credentials become this machine's
        from sqlalchemy.engine import make_url

        u = make_url(url)
        db = instance_yaml["run_storage"]["config"]["postgres_db"]
        db.update(hostname=u.host, port=u.port or 5432, username=u.username, db_name=u.database)
        launcher = instance_yaml["run_launcher"]["config"]
        assert launcher.pop("load_incluster_config") is True
        (tmp_path / "kubeconfig").write_text(KUBECONFIG)
        launcher.update(load_incluster_config=False, kubeconfig_file=str(tmp_path / "kubeconfig"))
        (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml))
        for name, value in {"DAGSTER_PG_PASSWORD": u.password or "", "DAGSTER_HOME": str(tmp_path),
                            "DAGSTER_K8S_INSTANCE_CONFIG_MAP": "research-lab-dagster-instance",
                            "DAGSTER_K8S_PG_PASSWORD_SECRET": "research-lab-dagster-postgresql",
                            "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP": "research-lab-run-env"}.items():
            monkeypatch.setenv(name, value)

        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            run_launcher = instance.run_launcher
            assert isinstance(run_launcher, K8sRunLauncher)
            assert run_launcher.job_namespace == "research"
            assert "research-lab-secrets" in run_launcher.env_secrets
            assert "research-lab-config" in run_launcher.env_config_maps
            coordinator = instance.run_coordinator
            assert type(coordinator).__name__ == "QueuedRunCoordinator"
            assert coordinator.get_run_queue_config().max_concurrent_runs == 16
            assert instance.run_monitoring_enabled
            assert instance.get_runs() == []  # the PostgreSQL run storage answers

            @dg.op
            def noop():
                return 1

            job = InMemoryJob(dg.GraphDefinition(name="g", node_defs=[noop]).to_job(executor_def=lab_executor))
            executor = lab_executor.executor_creation_fn(InitExecutorContext(
                job=job, executor_def=lab_executor, instance=instance,
                executor_config={"kind": "k8s", "max_concurrent": 4,
                                 "retries": {"disabled": {}}}))
            assert isinstance(executor, StepDelegatingExecutor)
            assert type(executor._step_handler).__name__ == "K8sStepHandler"
