"""The study use case: the quality gate refuses a symbol with an open critical anomaly (CLI exit
2, one line, nothing written), and the report measures the best value against the strategy's
default parameters and buy-and-hold on the same folds and broker."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from research_lab.cli import main
from research_lab.core.optimize import storage as S

from .conftest import make_bars

BAD_DAY = "2016-03-01"


@pytest.fixture
def stored(cfg, tmp_path, monkeypatch):
    """ACME in a store, with a critical anomaly score on BAD_DAY."""
    from research_lab.core.marketdata.store import BarStore, write_scores

    url = f"sqlite:///{tmp_path / 'market.db'}"
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", url)
    conf = tmp_path / "optimize.yaml"
    conf.write_text("study: {workers: 1}\nmarket_hours: {policy: ignore}\n")
    monkeypatch.setenv("RESEARCH_LAB_OPTIMIZE_CONFIG", str(conf))
    bars = make_bars(800)
    store = BarStore.from_url(url)
    store.write_partitions("ACME", list(bars["session"].dt.date), bars, source="test")
    day = pd.Timestamp(BAD_DAY)
    version = store.partitions("ACME").set_index("session").loc[day, "data_version"]
    write_scores(store, "ACME", [day.date()], pd.DataFrame([{
        "symbol": "ACME", "session": day.date(), "bars_version": version, "severity": "critical",
        "reasons": '["close is 100x the previous close"]', "rules": "unit_error",
        "jump_z": 40.0, "price_ratio": 100.0, "if_score": 0.9, "prophet_close_z": 30.0,
        "prophet_volume_z": 0.1, "thresholds": "{}",
    }]))
    yield store
    store.close()


ARGS = ["optimize", "--strategy", "sma_cross", "--symbols", "ACME", "--n-trials", "6",
        "--study-name", "gated", "--no-tracking", "--no-progress", "--seed", "1"]


def test_an_open_critical_anomaly_refuses_the_study_until_acknowledged(stored, capsys, tmp_path):
    from research_lab.core.quality.gate import acknowledge

    assert main(ARGS) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "ACME" in err and BAD_DAY in err and "research-lab quality ack" in err
    assert S.list_studies(S.resolve_storage_url(None)) == []          # nothing written
    assert not (tmp_path / "studies").exists()

    acknowledge(stored, "ACME", BAD_DAY, verdict="false_positive", reason="checked",
                author="analyst")
    assert main(ARGS) == 0
    out = capsys.readouterr().out
    assert "vs default params" in out and "vs buy-and-hold" in out and "trials/hour" in out
    report = json.loads((tmp_path / "studies" / "gated" / "report.json").read_text())
    # the data window, which the RL evaluation checks before reusing the best parameters
    assert (report["start"], report["end"]) == ("2015-01-02", "2018-01-25")  # 800 weekdays


def _buy_and_hold_sharpe(bars, plan, broker):
    """By hand, with the study's broker (the lab's one broker: percent sizing, a commission on
    the traded value): at each fold's first bar an order for the whole shares percent% of the
    cash buys at that close, filled at the next open paying the commission, held to the fold's
    end; the mean over the folds of the Sharpe ratio of the per-bar returns."""
    assert broker.sizing == "percent" and broker.stocklike
    assert not (broker.slippage_perc or broker.slippage_fixed or broker.spread)
    cash, percent, commission = broker.cash, broker.percent, broker.commission
    values = []
    for fold in plan.folds:
        o = bars["open"].to_numpy()[fold.start:fold.stop]
        c = bars["close"].to_numpy()[fold.start:fold.stop]
        size = math.floor(cash * percent / 100.0 / c[0])
        paid = size * o[1] * (1.0 + commission)
        equity = np.concatenate([[cash], cash - paid + size * c[1:]])
        r = np.concatenate([[0.0], equity[1:] / equity[:-1] - 1.0])
        values.append(r.mean() / r.std(ddof=1) * math.sqrt(252))
    return float(np.mean(values))


def test_baselines_are_the_defaults_and_buy_and_hold_on_the_same_folds(cfg, tmp_path):
    from research_lab.core.optimize import load_space
    from research_lab.core.optimize.usecase import StudyInputs, optimize_symbol
    from research_lab.core.backtest.params import DEFAULT_SPACES_PATH

    bars = make_bars(800)
    space = load_space(DEFAULT_SPACES_PATH.parent / "param_spaces" / "sma_cross.yaml")
    report = optimize_symbol(StudyInputs("sma_cross", "ACME", "kpi", space=space, config=cfg,
                                         bars=bars, output_dir=str(tmp_path / "out")))
    b = report.baselines
    from research_lab.core.optimize.walkforward import plan_walkforward

    plan = plan_walkforward(bars["session"], folds=4, oos_fraction=0.2)
    assert b.buy_hold_value == pytest.approx(_buy_and_hold_sharpe(bars, plan, cfg.broker),
                                             rel=1e-9)
    assert b.default_params == {"fast": 10, "slow": 30}
    assert b.improvement_vs_default == pytest.approx(report.best_value - b.default_value)
    assert b.improvement_vs_buy_hold == pytest.approx(report.best_value - b.buy_hold_value)
    assert b.trials_per_hour > 0
    figures = report.figures()
    for key in ("improvement_vs_default", "improvement_vs_buy_hold", "trials_per_hour"):
        assert key in figures
    stored = S.load_study(S.resolve_storage_url(None), "kpi").user_attrs["research_lab.kpis"]
    assert stored["improvement_vs_buy_hold"] == pytest.approx(b.improvement_vs_buy_hold)
