"""The RL evaluation's strategy baseline: the caller's; else the best parameters of the newest
study of the symbol whose data end by the policy's test start (its report.json); else, when
every study reaches into the test (it has seen the future), the grid fitted on the policy's
training period only; else the strategy's defaults."""

from __future__ import annotations

import datetime as dt
import json
import os

import numpy as np
import pandas as pd
import pytest

from research_lab.core.usecases.rl import choose_baseline

TEST_START = dt.date(2024, 3, 15)
FITTED = ({"fast": 20, "slow": 100}, "training-period grid (2021-01-04..2023-05-25)")


def _study(home, name, symbol, best, mtime, end="2023-12-29"):
    folder = home / "studies" / name
    folder.mkdir(parents=True)
    path = folder / "report.json"
    doc = {"study_name": name, "strategy": "sma_cross", "symbol": symbol, "best_params": best}
    if end is not None:
        doc.update(start="2019-01-02", end=end)
    path.write_text(json.dumps(doc))
    os.utime(path, (mtime, mtime))
    return path


def _choose(home, params=None, fit=None):
    return choose_baseline(home, "sma_cross", "ACME", params, test_start=TEST_START, fit=fit)


def _fit():
    return FITTED


def test_defaults_without_a_study(tmp_path):
    name, params, source = _choose(tmp_path, fit=_fit)
    assert (name, params) == ("sma_cross", {"fast": 10, "slow": 30})  # strategies.yaml defaults
    assert source == "default parameters (no study of this symbol)"


def test_a_study_that_ends_before_the_test_start_is_used(tmp_path):
    path = _study(tmp_path, "clean", "ACME", {"fast": 7, "slow": 40}, 1_000, end="2024-03-14")
    _, params, source = _choose(tmp_path, fit=_fit)
    assert params == {"fast": 7, "slow": 40}
    assert source == f"study clean (ends 2024-03-14, on or before the test start 2024-03-15; {path})"


def test_a_study_that_ends_on_the_test_start_is_used(tmp_path):
    _study(tmp_path, "edge", "ACME", {"fast": 7, "slow": 40}, 1_000, end="2024-03-15")
    assert _choose(tmp_path, fit=_fit)[1] == {"fast": 7, "slow": 40}


def test_a_study_that_overlaps_the_test_period_is_not_used(tmp_path):
    _study(tmp_path, "full", "ACME", {"fast": 7, "slow": 40}, 1_000, end="2024-03-18")
    _, params, source = _choose(tmp_path, fit=_fit)
    assert params == {"fast": 20, "slow": 100}  # what fit() returned, not the study's best
    assert source == ("training-period grid (2021-01-04..2023-05-25) (study full ends "
                      "2024-03-18, after the test start 2024-03-15: it saw the test period)")


def test_without_a_fit_an_overlapping_study_gives_the_defaults(tmp_path):
    _study(tmp_path, "full", "ACME", {"fast": 7, "slow": 40}, 1_000, end="2024-12-31")
    _, params, source = _choose(tmp_path)
    assert params == {"fast": 10, "slow": 30}
    assert source.startswith("default parameters (study full ends 2024-12-31, after the test")


def test_a_study_without_a_recorded_end_is_not_used(tmp_path):
    _study(tmp_path, "legacy", "ACME", {"fast": 7, "slow": 40}, 1_000, end=None)
    _, params, source = _choose(tmp_path, fit=_fit)
    assert params == {"fast": 20, "slow": 100}
    assert "study legacy records no data end" in source


def test_the_newest_clean_study_of_the_symbol_wins(tmp_path):
    _study(tmp_path, "old", "ACME", {"fast": 5, "slow": 20}, 1_000)
    newest = _study(tmp_path, "new", "ACME", {"fast": 7, "slow": 40}, 2_000)
    _study(tmp_path, "other", "GLOBEX", {"fast": 3, "slow": 90}, 3_000)
    _study(tmp_path, "empty", "ACME", {}, 4_000)  # no best trial yet: skipped
    _study(tmp_path, "peeks", "ACME", {"fast": 4, "slow": 60}, 5_000, end="2024-12-31")
    (tmp_path / "studies" / "broken").mkdir()
    (tmp_path / "studies" / "broken" / "report.json").write_text("{not json")
    name, params, source = _choose(tmp_path, fit=_fit)
    assert params == {"fast": 7, "slow": 40}
    assert source.startswith("study new (ends 2023-12-29") and source.endswith(f"; {newest})")


def test_given_parameters_win_and_are_checked(tmp_path):
    _study(tmp_path, "s", "ACME", {"fast": 7, "slow": 40}, 1_000)
    assert _choose(tmp_path, {"fast": "12"})[1:] == ({"fast": 12, "slow": 30}, "given")
    with pytest.raises(ValueError, match="fast < slow"):
        _choose(tmp_path, {"fast": 50, "slow": 20})


# --- the training-period fit: it reads no bar after the training period ---------------------

def _rl_setup():
    from research_lab.core.rl.config import load_rl_config
    from research_lab.core.rl.splits import make_splits
    from research_lab_tests.core.rl.conftest import TINY, demo_bars

    config = load_rl_config(**TINY)
    bars = demo_bars()
    return bars, config, make_splits(bars["session"], config.splits, config.env.window)


def _reshape_after(bars: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """``bars`` with every price after ``day`` swinging +-30 % on a 40-session cycle (a market
    that favours other sma_cross parameters than the demo data's)."""
    out = bars.copy()
    after = (pd.to_datetime(out["session"]) > pd.Timestamp(day)).to_numpy()
    factor = np.ones(len(out))
    factor[after] = 1 + 0.3 * np.sin(np.arange(after.sum()) * 2 * np.pi / 40)
    for col in ("open", "high", "low", "close", "adj_close"):
        out[col] = out[col] * factor
    return out


def test_the_training_period_fit_ignores_the_later_bars():
    from research_lab.core.rl.evaluate import best_sma_params, training_period_params

    bars, config, splits = _rl_setup()
    reshaped = _reshape_after(bars, splits.train[1])
    assert reshaped["close"].iloc[-1] != bars["close"].iloc[-1]
    chosen = training_period_params(bars, splits, config)
    assert training_period_params(reshaped, splits, config) == chosen
    # ...although a fit that could see the reshaped validation and test bars picks others
    peeking = best_sma_params(reshaped, config.evaluation.baseline_strategy,
                              config.evaluation.baseline_grid, config.broker_settings())
    assert peeking != chosen


def test_evaluation_falls_back_to_the_training_period_fit(tmp_path):
    """The use case end to end: a study over the whole history is refused, the baseline is
    fitted on the training bars (the test bars are reshaped so that a peek would show), and
    evaluation.json says so."""
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.rl.evaluate import best_sma_params
    from research_lab.core.rl.splits import bars_until
    from research_lab.core.rl.train import train_policy
    from research_lab.core.usecases import evaluate_policy
    from research_lab_tests.core.rl.conftest import demo_bars

    bars, config, splits = _rl_setup()
    reshaped = _reshape_after(bars, splits.train[1])
    store = BarStore.from_url(f"sqlite:///{tmp_path / 'market.db'}")
    try:
        for symbol, frame in (("ACME", reshaped), ("^GSPC", demo_bars("^GSPC")),
                              ("^VIX", demo_bars("^VIX"))):
            store.write_partitions(symbol, sorted(frame["session"].dt.date), frame,
                                   source="synthetic")
        policy = train_policy(reshaped, config.replace(timesteps=256),
                              out_dir=tmp_path / "rl" / "ACME").policy_path
        _study(tmp_path, "sma_cross.ACME", "ACME", {"fast": 7, "slow": 40}, 1_000,
               end="2024-12-31")
        run = evaluate_policy(store, "ACME", policy=policy, home=tmp_path,
                              statistics={"enabled": False})
    finally:
        store.close()
    grid = (config.evaluation.baseline_strategy, config.evaluation.baseline_grid,
            config.broker_settings())
    on_training = best_sma_params(bars_until(bars, splits.train[1]), *grid)  # original bars
    assert run.baseline["params"] == on_training != best_sma_params(reshaped, *grid)
    assert run.baseline["source"] == (
        f"training-period grid ({splits.train[0]}..{splits.train[1]}) (study sma_cross.ACME "
        f"ends 2024-12-31, after the test start {splits.test[0]}: it saw the test period)")
    doc = json.loads(run.files["evaluation"].read_text())
    assert doc["best_strategy"] == {"strategy": "sma_cross", "params": on_training,
                                    "source": run.baseline["source"]}
