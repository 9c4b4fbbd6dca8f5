"""`research-lab backtest --mlflow`: the report is logged with the naming hierarchy and tags."""

import pytest

from research_lab.cli import main


@pytest.fixture
def orcl(shared_data):
    return str(shared_data / "orcl-1995-2014.txt")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("RESEARCH_LAB_MLFLOW_URI", raising=False)
    return tmp_path


def test_backtest_is_logged_under_its_experiment_name(orcl, home, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code = main([
        "backtest", "--strategy", "sma_cross", "--csv", orcl, "--start", "2010-01-04",
        "--param", "fast=10", "--param", "slow=30", "--no-tearsheet",
        "--mlflow", uri, "--project", "Q1_2025", "--asset-class", "Equities",
        "--strategy-family", "TrendFollowing",
    ])
    assert code == 0
    import mlflow

    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name("Q1_2025.Equities.TrendFollowing.sma_cross")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["fast"] == "10"
    assert len(run.data.metrics) >= 30
    assert run.data.tags["project"] == "Q1_2025"
    assert run.data.tags["strategy_family"] == "TrendFollowing"
    assert run.data.tags["status"] == "research"


def test_bad_experiment_part_exits_2_and_writes_nothing(orcl, home, tmp_path, capsys):
    out = tmp_path / "out.json"
    code = main([
        "backtest", "--strategy", "sma_cross", "--csv", orcl, "--json", str(out),
        "--mlflow", f"sqlite:///{tmp_path / 'mlflow.db'}", "--project", "Q1.2025",
    ])
    assert code == 2
    assert "contains a dot" in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / "mlflow.db").exists()
