"""Playback and evaluation: the backtest's metrics, deterministic run to run and process to
process; the comparison with buy-and-hold and the best strategy."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research_lab.core.metrics import METRIC_NAMES
from research_lab.core.rl.evaluate import evaluate_policy, write_evaluation
from research_lab.core.rl.playback import playback
from research_lab.core.rl.train import train_policy

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def played(trained, bars, market):
    return playback(trained.policy_path, bars, market=market)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (math.isnan(a[k]) and math.isnan(b[k])) if isinstance(a[k], float) and math.isnan(a[k])
        else a[k] == b[k] for k in a)


def test_playback_gives_the_backtest_report(played, trained):
    report = played.report
    assert set(report.metrics) == set(METRIC_NAMES) and len(METRIC_NAMES) >= 30
    assert report.result.engine == "fast" and report.result.strategy == "rl_policy"
    start, end = trained.splits.test
    assert report.result.equity.index[0].date() == start
    assert report.result.equity.index[-1].date() == end
    assert list(report.regimes["regime"]) == ["bull_low_vol", "bull_high_vol", "bear_low_vol",
                                              "bear_high_vol"]
    assert report.lineage["vol_source"] == "vix"
    assert not math.isnan(report.metrics["beta"]), "the benchmark series was used"
    # the position series is the policy's direction, held as the backtest's target
    assert set(played.positions.unique()) <= {0.0, 1.0}
    assert played.positions.index.equals(report.result.equity.index)


def test_playback_is_deterministic_for_the_same_policy(played, trained, bars, market):
    again = playback(trained.policy_path, bars, market=market)
    assert _same(again.metrics, played.metrics)
    pd.testing.assert_series_equal(again.signal, played.signal)


def test_the_same_seed_retrains_the_same_policy(trained, tiny_config, bars, market, played,
                                                tmp_path):
    retrained = train_policy(bars, tiny_config, out_dir=tmp_path)
    assert retrained.evaluations == trained.evaluations
    again = playback(retrained.policy_path, bars, market=market)
    assert _same(again.metrics, played.metrics)
    other = train_policy(bars, tiny_config.replace(seed=1), out_dir=tmp_path / "seed1")
    assert other.evaluations != trained.evaluations, "the seed matters"


SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from research_lab.core.rl.config import load_rl_config
from research_lab.core.rl.playback import playback
from research_lab.core.rl.train import train_policy
from research_lab_tests.core.rl.conftest import TINY, demo_bars
from research_lab.core.backtest.market_context import MarketContext
bars = demo_bars()
market = MarketContext.from_frames(demo_bars("^GSPC"), demo_bars("^VIX"))
out = train_policy(bars, load_rl_config(**TINY), out_dir={out!r})
m = playback(out.policy_path, bars, market=market).metrics
print(json.dumps({{"evaluations": out.evaluations, "metrics": m}}))
"""


def test_identical_metrics_in_a_separate_process(played, trained, tmp_path):
    code = SCRIPT.format(tests=str(ROOT), out=str(tmp_path / "policy"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [tuple(e) for e in got["evaluations"]] == list(trained.evaluations)
    metrics = {k: (math.nan if v is None else v) for k, v in got["metrics"].items()}
    expected = {k: float(v) for k, v in played.metrics.items()}
    assert metrics.keys() == expected.keys()
    for k in expected:
        if math.isnan(expected[k]) or math.isinf(expected[k]):
            continue  # JSON has no NaN/inf
        assert metrics[k] == expected[k], k


def test_evaluation_compares_with_buy_and_hold_and_the_best_strategy(trained, bars, market,
                                                                     played, tmp_path):
    ev = evaluate_policy(trained.policy_path, bars, market=market)
    c = ev.comparison
    assert _same(ev.playback.metrics, played.metrics)
    bh, best = ev.buy_and_hold, ev.best_strategy
    same_bars = played.report.result.equity.index
    assert bh.result.equity.index.equals(same_bars) and best.result.equity.index.equals(same_bars)
    assert bh.metrics["exposure"] > 0.99
    assert best.result.strategy == "sma_cross"
    assert set(best.result.params) == {"fast", "slow"}
    assert c["sharpe_delta_vs_buy_and_hold"] == pytest.approx(
        played.metrics["sharpe_ratio"] - bh.metrics["sharpe_ratio"])
    assert c["sharpe_delta_vs_best_strategy"] == pytest.approx(
        played.metrics["sharpe_ratio"] - best.metrics["sharpe_ratio"])
    assert c["drawdown_compliant"] == float(-c["max_drawdown"] <= c["max_drawdown_limit"])
    assert c["max_drawdown_limit"] == 0.25
    assert len(ev.episodes) == 3 and c["episode_length_mean"] == 60
    assert c["episode_completion_min"] == 1.0 and c["episode_length_std"] == 0.0
    assert "| rl_policy" in ev.comparison_markdown() and "bull_low_vol" in ev.regime_markdown()
    paths = write_evaluation(ev, tmp_path)
    doc = json.loads(paths["evaluation"].read_text())
    assert doc["comparison"]["sharpe"] == pytest.approx(played.metrics["sharpe_ratio"])
    assert (tmp_path / "playback" / "result.json").is_file()


def test_a_given_best_strategy_and_a_strict_drawdown_limit(trained, bars):
    from research_lab.core.rl.playback import policy_config

    config = policy_config(trained.policy_path).replace(evaluation={"max_drawdown_limit": 1e-4})
    ev = evaluate_policy(trained.policy_path, bars, config=config,
                         best_strategy=("sma_cross", {"fast": 10, "slow": 50}))
    assert ev.best_strategy.result.params == {"fast": 10, "slow": 50}
    assert ev.comparison["drawdown_compliant"] == 0.0
    assert np.isfinite(ev.comparison["sharpe_best_strategy"])
    assert ev.playback.report.lineage["vol_source"].startswith("realized_vol")
