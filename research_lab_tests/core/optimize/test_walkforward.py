"""Walk-forward plans: folds that tile the in-sample period, an out-of-sample period no trial
can see, and an evaluator that agrees with the backtest engine."""

import numpy as np
import pytest

from research_lab.core.backtest import run_backtest
from research_lab.core.optimize import StudyRequest, load_space, run_study
from research_lab.core.optimize.objective import Evaluator, objective_spec
from research_lab.core.optimize.walkforward import (
    WalkForwardError, plan_walkforward, walk_forward_efficiency,
)
from research_lab.core.backtest.params import DEFAULT_SPACES_PATH

SMA = DEFAULT_SPACES_PATH.parent / "param_spaces" / "sma_cross.yaml"


@pytest.mark.parametrize("n, folds, frac, embargo", [(1200, 4, 0.2, 0), (1001, 5, 0.25, 10),
                                                     (300, 3, 0.3, 0)])
def test_folds_tile_the_in_sample_period_and_oos_is_after_it(bars, n, folds, frac, embargo):
    plan = plan_walkforward(bars["session"].iloc[:n], folds=folds, oos_fraction=frac,
                            embargo_bars=embargo)
    assert len(plan.folds) == folds
    assert plan.folds[0].start == 0 and plan.folds[-1].stop == plan.is_stop
    for a, b in zip(plan.folds, plan.folds[1:]):
        assert a.stop == b.start                   # consecutive, no overlap, no gap
    assert max(len(f) for f in plan.folds) - min(len(f) for f in plan.folds) <= 1
    assert plan.oos_start == plan.is_stop + embargo
    assert plan.oos_bars == int(n * frac) and plan.n_bars == n
    assert len(plan.in_sample(bars.iloc[:n])) == plan.is_stop


def test_too_few_sessions_is_a_clear_error(bars):
    with pytest.raises(WalkForwardError, match="too few for 4 fold"):
        plan_walkforward(bars["session"].iloc[:60], folds=4)


def test_evaluator_matches_the_backtest_engine(bars):
    broker = {"cash": 10_000.0, "sizing": "percent", "percent": 95.0}
    ev = Evaluator(bars, "sma_cross", broker)
    params = {"fast": 8, "slow": 40}
    ref = run_backtest(bars, "sma_cross", params, **broker).returns.to_numpy()
    assert np.allclose(ev.returns(params), ref, rtol=0, atol=1e-12)
    # a slice starts flat with fresh cash, and carries the position the signal holds
    part = ev.returns(params, 500, 800)
    assert part.shape == (300,) and np.isfinite(part).all()


def test_the_reference_engine_scores_every_fold_slice_the_same(bars):
    """engine="backtrader": each slice (position carried in, fresh cash) through backtrader
    gives the fast engine's returns: a study can be cross-checked on the reference engine."""
    broker = {"cash": 10_000.0, "sizing": "percent", "percent": 95.0, "commission": 0.001}
    fast = Evaluator(bars, "sma_cross", broker)
    ref = Evaluator(bars, "sma_cross", broker, engine="backtrader")
    for params in ({"fast": 8, "slow": 40}, {"fast": 20, "slow": 90}):
        for start, stop in ((0, 300), (300, 700), (700, 1200)):
            a, b = fast.returns(params, start, stop), ref.returns(params, start, stop)
            assert np.allclose(a, b, rtol=0, atol=1e-12), (params, start, stop)
    with pytest.raises(ValueError, match="unknown engine 'vectorbt'"):
        Evaluator(bars, "sma_cross", engine="vectorbt")


def test_walk_forward_efficiency():
    assert walk_forward_efficiency(0.7, 1.0) == pytest.approx(0.7)
    assert np.isnan(walk_forward_efficiency(0.5, -0.2))


def test_the_study_never_sees_the_out_of_sample_bars(bars, cfg, tmp_path):
    """Same seed, one worker: changing every OOS price changes the OOS result and nothing
    the study did."""
    poisoned = bars.copy()
    oos = slice(int(len(bars) * 0.8), None)
    rng = np.random.default_rng(0)
    factor = np.exp(np.cumsum(rng.normal(0, 0.03, len(bars))))[oos]
    for col in ("open", "high", "low", "close", "adj_close"):
        poisoned.loc[poisoned.index[oos], col] = bars[col].to_numpy()[oos] * factor
    space = load_space(SMA)
    reports = [run_study(StudyRequest("sma_cross", "ACME", frame, space, f"s{i}", n_trials=12,
                                      config=cfg, seed=5, output_dir=str(tmp_path / f"o{i}")))
               for i, frame in enumerate((bars, poisoned))]
    a, b = (r.study_name for r in reports)
    assert reports[0].best_params == reports[1].best_params
    assert reports[0].leaderboard == reports[1].leaderboard
    assert reports[0].oos.oos_value != reports[1].oos.oos_value
    assert reports[0].oos.is_value == reports[1].oos.is_value


def test_objective_spec_validation():
    assert objective_spec("volatility").directions == ("minimize",)
    assert objective_spec(["sharpe_ratio", "max_drawdown"]).directions == ("maximize", "maximize")
    with pytest.raises(ValueError, match="unknown metric 'sharp'"):
        objective_spec("sharp")
    with pytest.raises(ValueError, match="direction 'up'"):
        objective_spec("sharpe_ratio", "up")
    with pytest.raises(ValueError, match="2 metric"):
        objective_spec(["sharpe_ratio", "cagr"], ["maximize"])
