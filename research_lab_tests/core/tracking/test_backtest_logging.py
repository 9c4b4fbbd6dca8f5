"""A real backtest (synthetic bars, the fast engine) logged through the tracker."""

import json
from datetime import date

import pytest

from research_lab.core.tracking import ExperimentTracker, Lineage, open_client
from research_lab.core.tracking.backtest import log_backtest
from research_lab.core.tracking.retry import Backoff
from research_lab.core.tracking.server import free_port

EXP = "Q1_2025.Equities.Trend.sma_cross"


@pytest.fixture(scope="module")
def result_and_bars():
    from research_lab.core.backtest import run_backtest
    from research_lab.core.marketdata.sources import SyntheticSource

    bars = SyntheticSource(seed=1).fetch("ACME", date(2023, 1, 2), date(2023, 12, 29))
    return run_backtest(bars, "sma_cross", {"fast": 5, "slow": 20}), bars


def test_log_backtest_records_params_metrics_and_files(lab_home, result_and_bars, tmp_path):
    from research_lab.core.marketdata.schema import data_version

    result, bars = result_and_bars
    with ExperimentTracker(background=False) as tracker:
        ticket = log_backtest(tracker, EXP, result, symbol="ACME", metrics={"custom": 1.5},
                              lineage=Lineage(data_version=data_version(bars), seed=0))
    client = open_client()
    run = client.get_run(ticket.run_id)
    assert run.info.run_name == "ACME sma_cross fast=5 slow=20"
    params = run.data.params
    assert (params["fast"], params["slow"], params["engine"], params["symbol"]) == (
        "5", "20", "fast", "ACME")
    assert float(params["broker.cash"]) == result.broker["cash"]
    metrics = run.data.metrics
    assert metrics["sharpe"] == pytest.approx(result.summary()["sharpe"])
    assert metrics["trades"] == len(result.trades) and metrics["custom"] == 1.5
    assert run.data.tags["data_version"] == data_version(bars)
    assert run.data.tags["symbol"] == "ACME"
    files = sorted(f.path for f in client.list_artifacts(ticket.run_id))
    assert files == ["equity.csv", "orders.csv", "result.json", "trades.csv"]
    local = client.download_artifacts(ticket.run_id, "result.json", str(tmp_path))
    assert json.loads(open(local).read()) == json.loads(json.dumps(result.to_dict()))


def test_unreachable_server_keeps_the_result_and_the_run(lab_home, result_and_bars, tmp_path):
    result, _ = result_and_bars
    dead = f"http://127.0.0.1:{free_port()}"
    with ExperimentTracker(dead, backoff=Backoff(attempts=1)) as tracker:
        ticket = log_backtest(tracker, EXP, result, symbol="ACME", artifact_dir=tmp_path / "out")
    assert ticket.wait(30) is None  # not tracked now...
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["final_value"] == pytest.approx(result.final_value)  # ...but the JSON is kept
    report = ExperimentTracker(background=False).replay_outbox()  # ...and the run replays
    assert len(report.written) == 1


def test_the_backtest_command_helper_logs_a_report_with_its_files(lab_home, result_and_bars,
                                                                  tmp_path, capsys):
    import argparse

    from research_lab.cli.project import add_tracking_arguments, track_backtest
    from research_lab.core.backtest.outputs import write_outputs
    from research_lab.core.backtest.report import backtest_report

    _, bars = result_and_bars
    report = backtest_report(bars, "sma_cross", {"fast": 5, "slow": 20})
    files = write_outputs(report, tmp_path / "ACME", tearsheet=False)
    p = argparse.ArgumentParser()
    add_tracking_arguments(p)
    assert track_backtest(p.parse_args([]), report, files) is None  # no --mlflow: no tracking
    args = p.parse_args(["--mlflow", "--project", "Q1_2025", "--strategy-family", "Trend"])
    ticket = track_backtest(args, report, files)
    assert f"mlflow: run {ticket.run_id} in Q1_2025.Equities.Trend.sma_cross" in (
        capsys.readouterr().err)
    client = open_client()
    run = client.get_run(ticket.run_id)
    assert set(report.metrics) <= set(run.data.metrics)  # all 50, NaN ones too
    assert run.data.metrics["sharpe_ratio"] == pytest.approx(report.metrics["sharpe_ratio"])
    assert run.data.tags["data_version"] == report.data_version
    assert sorted(f.path for f in client.list_artifacts(ticket.run_id)) == [
        "equity.png", "result.json", "trades.csv"]
