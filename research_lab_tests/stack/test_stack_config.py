"""Pure pieces of the stack: run-queue tags, the PostgreSQL URL, the DAGSTER_HOME it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from research_lab.cli.stack import celery_worker_argv
from research_lab.cli.stack_up import PgServer, StackConfig, services, write_dagster_home
from research_lab.defs.run_queue import asset_class, kind_tags, study_run_tags

DOCKER_YAML = Path(__file__).resolve().parents[2] / "docker" / "dagster.yaml"


@pytest.mark.parametrize(
    ("symbol", "cls", "priority"),
    [("^GSPC", "index", "10"), ("ACME", "equity", "5"), ("^VIX", "volatility", "0"),
     ("^vix9d", "volatility", "0"), ("BRK.B", "equity", "5")],
)
def test_study_runs_are_prioritized_by_asset_class(symbol, cls, priority, tmp_path, monkeypatch):
    # the class is configured (asset_classes of optimize.yaml), matched whatever the case
    cfg = tmp_path / "optimize.yaml"
    cfg.write_text("asset_classes: {index: ['^GSPC'], volatility: ['^VIX', '^VIX9D']}\n")
    monkeypatch.setenv("RESEARCH_LAB_OPTIMIZE_CONFIG", str(cfg))
    assert asset_class(symbol) == cls
    assert study_run_tags(symbol) == {
        "research_lab/kind": "optimization",
        "research_lab/asset_class": cls,
        "dagster/priority": priority,
    }


def test_kind_tags_match_the_run_queue_limits():
    limits = yaml.safe_load(DOCKER_YAML.read_text())["run_coordinator"]["config"]
    limited = {lim["value"] for lim in limits["tag_concurrency_limits"]
               if lim["key"] == "research_lab/kind"}
    for kind in ("ingestion", "optimization", "rl_training"):
        assert kind in limited
        assert kind_tags(kind) == {"research_lab/kind": kind}
    with pytest.raises(ValueError, match="run kind 'training' is not one of"):
        kind_tags("training")


def test_pg_server_from_url():
    s = PgServer.from_url("postgresql://lab:s3cret@db.internal:6543/ignored")
    assert (s.host, s.port, s.user, s.password) == ("db.internal", 6543, "lab", "s3cret")
    assert s.url("x_dagster") == "postgresql://lab:s3cret@db.internal:6543/x_dagster"
    assert PgServer.from_url("postgresql://127.0.0.1").url("d") == "postgresql://postgres@127.0.0.1:5432/d"
    with pytest.raises(ValueError, match="is not a postgresql:// URL"):
        PgServer.from_url("mysql://root@127.0.0.1/x")


def test_dagster_home_and_commands_hold_no_password(tmp_path, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("RESEARCH_LAB_OPTUNA_STORAGE", f"journal:///{tmp_path}/studies.journal")
    cfg = StackConfig(home=tmp_path, pg=PgServer("127.0.0.1", 5432, "lab", "s3cret"),
                      db_prefix="p_", dagster_port=3100, code_port=4100, mlflow_port=5100)
    env = write_dagster_home(cfg)
    home = cfg.dagster_home
    assert (home / "dagster.yaml").read_text() == DOCKER_YAML.read_text()
    workspace = yaml.safe_load((home / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["grpc_server"] == {
        "host": "127.0.0.1", "port": 4100, "location_name": "research_lab"}
    assert env["DAGSTER_PG_DB"] == "p_dagster" and env["DAGSTER_PG_PASSWORD"] == "s3cret"
    assert env["PGPASSWORD"] == "s3cret"
    assert env["RESEARCH_LAB_STORE_URL"].endswith("/p_market")
    # studies go to the stack's PostgreSQL database, whatever the caller's environment said
    assert env["RESEARCH_LAB_OPTUNA_STORAGE"] == "postgresql://lab:s3cret@127.0.0.1:5432/p_optuna"
    assert env["RESEARCH_LAB_MLFLOW_URI"] == "http://127.0.0.1:5100"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert "s3cret" not in path.read_text(errors="replace"), path
    argv = [a for svc in services(cfg) for a in svc.argv]
    assert not any("s3cret" in a for a in argv)
    assert {"127.0.0.1"} == {argv[i + 1] for i, a in enumerate(argv) if a in ("-h", "--host")}


def test_celery_worker_command():
    argv = celery_worker_argv("a", 2)
    assert argv[1:] == ["-m", "celery", "-A", "research_lab.defs.celery_app", "worker", "-Q",
                        "dagster", "-c", "2", "--loglevel", "INFO", "-n", "a@%h"]
    with pytest.raises(ValueError, match="--concurrency must be at least 1"):
        celery_worker_argv(None, 0)
