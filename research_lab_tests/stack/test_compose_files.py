"""The Docker stack's files, checked as data (this machine has no Docker engine).

docker/docker-compose.yml: the services, their health checks and start order, 127.0.0.1-only
ports, and no secret in the file (every password is a ``${VAR}`` from the uncommitted
docker/.env, every such variable documented in docker/.env.example). docker/dagster.yaml:
PostgreSQL storage read from the environment, the run queue's tag limits.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
ONLY_VAR = re.compile(r"^\$\{[A-Z0-9_]+(?::?[-?][^}]*)?\}$")
SECRET_KEY = re.compile(r"PASS|SECRET|TOKEN|KEY", re.I)
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def _strings(node, path=()):
    """Every (path, key, string) in a YAML tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str):
                yield path, str(k), v
            else:
                yield from _strings(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, str):
                yield path, str(i), v
            else:
                yield from _strings(v, (*path, str(i)))


def test_services_and_health_checks(compose):
    services = compose["services"]
    assert {"postgres", "mlflow", "user-code", "webserver", "daemon", "worker"} <= set(services)
    for name in ("postgres", "mlflow", "user-code", "webserver", "daemon", "worker", "rabbitmq"):
        test = services[name]["healthcheck"]["test"]
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "/health" in " ".join(services["mlflow"]["healthcheck"]["test"])
    assert "grpc-health-check" in services["user-code"]["healthcheck"]["test"]
    assert "liveness-check" in services["daemon"]["healthcheck"]["test"]
    # MLflow from the small `mlflow` target, everything else from the project's `lab` target,
    # PostgreSQL from docker/postgres/; all from the same base image (build argument)
    assert services["mlflow"]["build"]["dockerfile"] == "docker/Dockerfile"
    assert services["mlflow"]["build"]["target"] == "mlflow"
    for name in ("user-code", "webserver", "daemon", "worker", "celery-worker"):
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile", name
        assert services[name]["build"]["target"] == "lab", name
    assert services["postgres"]["build"]["context"] == "postgres"
    assert (DOCKER / "postgres" / "Dockerfile").exists()
    for name in ("postgres", "mlflow", "worker"):
        assert "BASE_IMAGE" in services[name]["build"]["args"], name
    # N study workers; the celery pieces are opt-in
    assert "replicas" in services["worker"]["deploy"]
    assert services["celery-worker"]["profiles"] == ["celery"]


def test_start_order_waits_for_health(compose):
    services = compose["services"]
    needs = {
        "mlflow": {"postgres"},
        "user-code": {"postgres"},
        "webserver": {"postgres", "user-code"},
        "daemon": {"postgres", "user-code"},
        "worker": {"postgres", "mlflow"},
        "celery-worker": {"postgres", "rabbitmq"},
    }
    for name, deps in needs.items():
        depends = services[name]["depends_on"]
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        assert set(depends) == deps, name
        for dep, spec in depends.items():
            assert spec["condition"] == "service_healthy", f"{name} -> {dep}"
            assert "healthcheck" in services[dep], f"{name} waits on {dep}, which has no check"


def test_ports_bind_localhost_only(compose):
    published = 0
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            published += 1
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
    assert published >= 3  # Dagster UI, MLflow, PostgreSQL


def test_no_literal_secret(compose):
    checked = 0
    for path, key, value in _strings(compose):
        if SECRET_KEY.search(key) and key not in ("TORCH_INDEX_URL",):
            assert ONLY_VAR.match(value), f"{'/'.join(path)}/{key} is a literal: {value!r}"
            checked += 1
        for password in URL_PASSWORD.findall(value):
            assert ONLY_VAR.match(password), f"{'/'.join(path)}/{key}: password in URL {value!r}"
            checked += 1
    assert checked >= 5
    # the secrets are required (:?), not silently empty
    text = (DOCKER / "docker-compose.yml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${RABBITMQ_PASSWORD:?" in text


def test_env_example_documents_every_variable_and_env_is_ignored(compose):
    lines = (DOCKER / "docker-compose.yml").read_text().splitlines()
    used = {v for ln in lines if not ln.lstrip().startswith("#") for v in VAR.findall(ln)}
    example = {
        line.split("=", 1)[0].strip()
        for line in (DOCKER / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert used - example == set(), f"not in docker/.env.example: {sorted(used - example)}"
    patterns = (ROOT / ".gitignore").read_text().split()
    assert ".env" in patterns or "docker/.env" in patterns, "docker/.env must be ignored by git"


def test_workspace_points_at_the_user_code_server(compose):
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    server = entry["grpc_server"]
    command = compose["services"]["user-code"]["command"]
    assert server["host"] == "user-code"
    assert str(server["port"]) == command[command.index("-p") + 1]
    assert command[command.index("-a") + 1] == "defs"


def test_dagster_yaml_postgres_from_environment_and_run_queue():
    cfg = yaml.safe_load((DOCKER / "dagster.yaml").read_text())
    db = cfg["storage"]["postgres"]["postgres_db"]
    assert db.pop("scheme") == "postgresql+psycopg2"
    assert all(isinstance(v, dict) and set(v) == {"env"} for v in db.values()), db
    coordinator = cfg["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    limits = {(lim["key"], str(lim["value"])): lim["limit"]
              for lim in coordinator["config"]["tag_concurrency_limits"]}
    for kind in ("ingestion", "optimization", "rl_training"):
        assert ("research_lab/kind", kind) in limits
    assert limits[("research_lab/kind", "rl_training")] == 1
    assert ("research_lab/asset_class", "{'applyLimitPerUniqueValue': True}") in limits


def test_dockerfile_installs_pinned_torch_first():
    text = (DOCKER / "Dockerfile").read_text()
    lab = text[text.index("AS lab"):]
    lines = [ln.strip() for ln in lab.splitlines()]
    installs = [i for i, ln in enumerate(lines) if "pip-install" in ln]
    assert installs and '"torch==2.13.0"' in lines[installs[0]]
    assert all("-c constraints.txt" in lines[i] for i in installs)
    assert "+cpu" in lines[installs[0] + 1]  # any other build of torch fails the build


def test_containers_that_execute_runs_batch_events_and_use_one_thread(compose):
    services = compose["services"]
    for name in ("user-code", "daemon", "worker", "celery-worker"):
        env = services[name]["environment"]
        assert env["DAGSTER_EVENT_BATCH_SIZE"] == "1000", name
        assert env["OMP_NUM_THREADS"] == "1", name
        assert env["DAGSTER_PG_HOST"] == "postgres", name  # still the stack's own environment


def test_mlflow_is_installed_once_in_a_stage_both_images_share():
    text = (DOCKER / "Dockerfile").read_text()
    stages = {stage: parent for parent, stage in re.findall(r"^FROM (\S+) AS (\S+)$", text, re.M)}
    assert stages["mlflow"] == stages["lab"] == "tracking"
    installs = [ln for ln in text.splitlines() if "pip-install" in ln and "mlflow" in ln]
    assert len(installs) == 1, installs
    tracking = text[text.index("AS tracking"):text.index("AS mlflow")]
    assert "mlflow psycopg2-binary" in tracking
