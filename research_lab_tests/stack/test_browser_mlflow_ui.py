"""The MLflow UI as a person sees it, in headless Chromium (Debian's, driven by playwright).

Starts a real ``mlflow server`` (SQLite backend and artifact folder in tmp, a free port on
127.0.0.1, one worker) through :class:`~research_lab.core.tracking.server.MlflowServer`, runs
two real backtests on synthetic ACME bars and logs them through
:class:`~research_lab.core.tracking.ExperimentTracker` under the naming convention
(``Q1_2025.Equities.TrendFollowing.sma_cross`` and
``Q1_2025.Equities.MeanReversion.rsi_reversion``), then: opens the experiment list filtered to
the project (the hierarchy in the names, the parts as tags), opens one experiment and its run,
the run's parameters, tags and metrics, the metric charts and the artifacts.
Screenshots go to ``test-artifacts/browser/mlflow-*.png`` (gitignored).

Needs ``/usr/bin/chromium`` (``scripts/install-browser``); skips where it is absent, fails under
``CI=true``. The MLflow UI polls its server, so the page never goes "network idle": every wait
is on visible text, with playwright's deadline.
"""

from __future__ import annotations

import datetime as dt

import pytest

from research_lab.core.tracking.server import MlflowServer, ServerSpec
from research_lab_tests.stack.conftest import SHOTS, free_port

pytestmark = pytest.mark.slow

PROJECT = "Q1_2025"
TREND = f"{PROJECT}.Equities.TrendFollowing.sma_cross"
REVERSION = f"{PROJECT}.Equities.MeanReversion.rsi_reversion"


@pytest.fixture
def mlflow_server(tmp_path):
    """A real MLflow server over SQLite in tmp (one worker, 127.0.0.1, a free port)."""
    spec = ServerSpec(backend_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
                      artifacts_dir=str(tmp_path / "artifacts"), port=free_port(), workers=1)
    server = MlflowServer(spec, log_path=tmp_path / "mlflow-server.log")
    server.start(wait=120)  # polls /health with a deadline; raises with the log's tail
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def logged_backtests(mlflow_server, tmp_path):
    """Two real backtests of ACME (2023-2024) logged through the tracker; {experiment: run}."""
    from research_lab.core.backtest import run_backtest
    from research_lab.core.marketdata.schema import data_version
    from research_lab.core.marketdata.sources import SyntheticSource
    from research_lab.core.tracking import ExperimentTracker, Lineage
    from research_lab.core.tracking.backtest import log_backtest

    bars = SyntheticSource(seed=7).fetch("ACME", dt.date(2023, 1, 3), dt.date(2024, 12, 31))
    lineage = Lineage(data_version=data_version(bars), seed=7)
    runs = {
        TREND: ("sma_cross", {"fast": 10, "slow": 50}, "ACME sma_cross fast=10 slow=50"),
        REVERSION: ("rsi_reversion", {}, "ACME rsi_reversion defaults"),
    }
    out = {}
    with ExperimentTracker(mlflow_server.url, outbox_dir=str(tmp_path / "outbox")) as tracker:
        for experiment, (strategy, params, run_name) in runs.items():
            result = run_backtest(bars, strategy, params, sizing="percent", percent=95)
            ticket = log_backtest(tracker, experiment, result, symbol="ACME", run_name=run_name,
                                  lineage=lineage, tags={"universe": "demo"})
            out[experiment] = (ticket, result, run_name)
        for experiment, (ticket, _, _) in out.items():
            assert ticket.wait(60), f"{experiment}: not written ({ticket.error})"
    return out


def _shot(pg, name: str) -> None:
    pg.screenshot(path=str(SHOTS / f"mlflow-{name}.png"))


def test_experiment_hierarchy_run_and_metrics_in_the_mlflow_ui(page, mlflow_server,
                                                               logged_backtests):
    import mlflow
    from playwright.sync_api import expect

    base, pg = mlflow_server.url, page
    expect.set_options(timeout=30_000)  # a busy 2-core machine renders slowly
    ticket, result, run_name = logged_backtests[TREND]
    stored = mlflow.MlflowClient(base).get_run(ticket.run_id).data  # what the server holds
    logged, tags = stored.metrics, stored.tags
    n_metrics = len(logged)
    assert n_metrics >= 7 and logged["trades"] > 0, logged

    # 1. the experiment list: the project's experiments, the hierarchy in their names
    pg.set_viewport_size({"width": 1920, "height": 1000})  # room for the full names
    pg.goto(f"{base}/#/experiments")
    pg.get_by_text("Model training", exact=True).click()  # the ML view, not the GenAI one
    assistant = pg.get_by_role("button", name="Close")
    if assistant.count():
        assistant.first.click()  # the assistant side panel narrows the table
    pg.get_by_role("button", name="Toggle sidebar").click()
    search = pg.get_by_placeholder("Search experiments")
    search.fill(PROJECT)
    search.press("Enter")
    expect(pg.get_by_role("link", name=TREND)).to_be_visible()
    expect(pg.get_by_role("link", name=REVERSION)).to_be_visible()
    expect(pg.get_by_role("link", name="Default", exact=True)).to_have_count(0)  # filtered out
    row = pg.get_by_role("row").filter(has=pg.get_by_role("link", name=TREND))
    expect(row.get_by_text(f"project: {PROJECT}")).to_be_visible()  # the parts as tags
    row.get_by_text("+4").click()  # the other three parts (and the naming version)
    for text in ("asset_class: Equities", "strategy_family: TrendFollowing",
                 "strategy: sma_cross"):
        expect(pg.get_by_text(text, exact=True)).to_be_visible()
    _shot(pg, "01-experiments")
    pg.keyboard.press("Escape")

    # 2. one experiment: its run
    pg.get_by_role("link", name=TREND).click()
    expect(pg.get_by_text("1 matching run")).to_be_visible()
    expect(pg.get_by_role("link", name=run_name)).to_be_visible()
    _shot(pg, "02-experiment-runs")

    # 3. the run: parameters, lineage tags, the metrics table
    pg.get_by_role("link", name=run_name).click()
    expect(pg.get_by_role("heading", name=run_name)).to_be_visible()
    expect(pg.get_by_text(ticket.run_id).first).to_be_visible()
    expect(pg.get_by_text("Parameters (", exact=False)).to_be_visible()
    for text in ("strategy_family: TrendFollowing", "kind: backtest", "symbol: ACME",
                 "seed: 7", f"data_version: {tags['data_version']}"):
        expect(pg.get_by_text(text).first).to_be_visible()
    expect(pg.get_by_text("Metrics (", exact=False)).to_be_visible()
    for name in ("sharpe", "max_drawdown", "total_return"):
        row = pg.get_by_role("row").filter(has=pg.get_by_role("cell", name=name, exact=True))
        expect(row).to_contain_text(repr(logged[name]))  # the value logged, every digit
    _shot(pg, "03-run-overview")

    # 4. the metric charts (one per metric) and the artifacts the tracker uploaded
    pg.get_by_role("tab", name="Model metrics").click()
    for name in ("sharpe", "max_drawdown", "total_return", "final_value"):
        expect(pg.get_by_role("heading", name=name, exact=True)).to_be_visible()  # its chart
    expect(pg.get_by_role("heading", level=4)).to_have_count(n_metrics)  # one chart each
    _shot(pg, "04-run-metric-charts")
    pg.get_by_role("tab", name="Artifacts").click()
    for name in ("result.json", "equity.csv", "trades.csv", "orders.csv"):
        expect(pg.get_by_text(name, exact=True).first).to_be_visible()
    pg.get_by_text("equity.csv", exact=True).click()  # previewed from the server's store
    expect(pg.get_by_text("equity", exact=True).first).to_be_visible()  # the CSV's header
    first = result.equity.index[0].strftime("%Y-%m-%d")
    expect(pg.get_by_text(first, exact=True).first).to_be_visible()  # its first row
    _shot(pg, "05-run-artifacts")
