"""Issue 16 item 3: a minimum number of trades, the drawdown-penalised Sharpe, a user's loss
function, and the Pareto front of multi-objective studies (report, pareto.json/png, asset
metadata, API)."""

import json
import math
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from research_lab.core.optimize import StudyRequest, run_study
from research_lab.core.optimize.losses import sharpe_dd
from research_lab.core.optimize.objective import count_trades, objective_from_config
from research_lab.core.optimize.report import pareto_front
from research_lab.core.optimize.space import parse_space
from research_lab.core.optimize.tracking import NoopTracker
from research_lab.core.optimize.usecase import StudyInputs, prepare_study

from .conftest import make_bars

# 12 points; on make_bars(800)'s in-sample period the best Sharpe trades 8 times, the best
# with >= 9 trades is worse
SMALL = {"params": {"fast": {"type": "int", "low": 5, "high": 30, "step": 5},
                    "slow": {"type": "int", "low": 40, "high": 60, "step": 20}}}


def _run(cfg, name, objective=None, space=SMALL, n=12, out=None, tracker=None, **kw):
    return run_study(StudyRequest("sma_cross", "ACME", make_bars(800),
                                  parse_space(space, strategy="sma_cross"), name, n_trials=n,
                                  seed=3, config=cfg, objective=objective, output_dir=out, **kw),
                     report=out is not None, tracker=tracker)


class RecordingTracker(NoopTracker):
    """What the study hands its MLflow tracker at the end (metrics and artifacts)."""

    def finish_study(self, metrics, artifacts, tags, failed=False):
        self.final, self.artifacts = dict(metrics), dict(artifacts)


def test_trades_are_entries_and_reversals():
    # positions after each fill: 10, 0, 5, -5, 0 -> opened at fills 0 and 2, reversed at 3
    assert count_trades(np.array([10.0, -10.0, 5.0, -10.0, 5.0])) == 3
    assert count_trades(np.array([])) == 0


def test_the_best_trial_respects_min_trades_under_tpe(cfg):
    c = cfg.override("study", min_trades=9)
    out = _run(c, "min-trades-tpe", objective_from_config(c), n=12)
    trials = [t for t in out.study.get_trials() if t.state == TrialState.COMPLETE]
    infeasible = [t for t in trials if t.constraints.get("min_trades", 0) > 0]
    best = out.study.best_trial
    assert best.user_attrs["trades"] >= 9 and best.constraints["min_trades"] <= 0
    # the constraint changed the answer: a point with fewer trades scored higher
    assert infeasible and max(t.value for t in infeasible) > best.value
    assert all(t.user_attrs["trades"] < 9 for t in infeasible)


def test_samplers_without_constraints_prune_too_few_trades(cfg):
    c = cfg.override("study", min_trades=9).override("sampler", type="random")
    out = _run(c, "min-trades-random", objective_from_config(c), n=12)
    trials = out.study.get_trials()
    pruned = [t for t in trials if t.user_attrs.get("pruned_reason") == "too_few_trades"]
    assert pruned and all(t.state == TrialState.PRUNED and t.user_attrs["trades"] < 9
                          for t in pruned)
    done = [t for t in trials if t.state == TrialState.COMPLETE
            and t.user_attrs.get("reused_from") is None]
    assert done and all(t.user_attrs["trades"] >= 9 for t in done)
    assert not any(t.constraints for t in trials)


def test_min_trades_is_refused_for_a_backtrader_strategy(cfg):
    from research_lab.core.strategies import get_strategy

    examples = Path(__file__).resolve().parents[3] / "examples" / "strategies"
    ref = get_strategy(f"{examples / 'sma_crossover.py'}:SMACrossover")
    c = cfg.override("study", min_trades=3)
    with pytest.raises(ValueError, match="min_trades is not available for backtrader-engine"):
        prepare_study(StudyInputs(ref.name, "ACME", "bt-min", space=parse_space(
            {"params": {"fast": {"type": "int", "low": 5, "high": 10},
                        "slow": {"type": "int", "low": 20, "high": 30}}}, strategy=ref.name),
            objective=objective_from_config(c), config=c, bars=make_bars(800)))


def test_sharpe_dd_scales_sharpe_by_what_the_drawdown_left():
    assert sharpe_dd({"sharpe_ratio": 1.2, "max_drawdown": -0.4}) == pytest.approx(0.72)
    assert sharpe_dd({"sharpe_ratio": 1.2, "max_drawdown": -0.1}) == pytest.approx(1.08)
    spec = objective_from_config(_cfg_default(), ["sharpe_dd"])
    assert spec.directions == ("maximize",)
    r = np.array([0.01, -0.02, 0.015, 0.005, -0.01, 0.02])
    equity = np.cumprod(1 + r)
    drawdown = float(np.min(equity / np.maximum.accumulate(equity) - 1))   # -0.02 here
    sharpe = objective_from_config(_cfg_default(), ["sharpe_ratio"]).scorer()(r)[0]
    assert drawdown == pytest.approx(-0.02)
    assert spec.scorer()(r)[0] == pytest.approx(sharpe * (1 + drawdown))


def _cfg_default():
    from research_lab.core.optimize.config import load_optimize_config

    return load_optimize_config()


def test_a_user_loss_is_loaded_scored_and_minimized(cfg, tmp_path, monkeypatch):
    (tmp_path / "my_losses.py").write_text(
        "def total(returns):\n    return float(sum(returns))\n")
    monkeypatch.chdir(tmp_path)
    spec = objective_from_config(cfg, loss="my_losses:total")
    assert spec.metrics == ("custom_loss",) and spec.directions == ("minimize",)
    assert spec.scorer()(np.array([0.01, 0.02, -0.005]))[0] == pytest.approx(0.025)
    file_spec = objective_from_config(cfg, loss=f"{tmp_path / 'my_losses.py'}:total")
    assert file_spec.loss == f"{tmp_path / 'my_losses.py'}:total"
    out = _run(cfg, "loss-study", spec, n=6)
    assert out.study.direction == optuna.study.StudyDirection.MINIMIZE
    assert out.definition.objective.loss == "my_losses:total"


@pytest.mark.parametrize("loss, message", [
    ("nosuchmodule_xyz:f", "no module named 'nosuchmodule_xyz'"),
    ("json:no_such_function", "defines no 'no_such_function'"),
    ("json", "not a reference"),
    ("missing_file.py:f", "no such file"),
])
def test_a_bad_loss_is_one_line_and_exit_2(loss, message, tmp_path, monkeypatch, capsys):
    from research_lab.cli import main

    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "ACME.csv"
    make_bars(800).to_csv(csv, index=False)
    code = main(["optimize", "--strategy", "sma_cross", "--csv", str(csv), "--study-name",
                 "bad-loss", "--loss", loss, "--no-tracking", "--no-progress",
                 "--market-hours", "ignore", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert message in err and "--loss" in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "home" / "optuna").exists()


def test_pareto_front_of_hand_built_trials():
    study = optuna.create_study(directions=["maximize", "maximize"])
    dist = {"x": FloatDistribution(0, 10)}
    points = [(1.0, 1.0), (2.0, 0.5), (0.5, 2.0), (0.9, 0.9), (2.0, 0.4), (3.0, 3.0), (1.0, 1.0)]
    for i, values in enumerate(points):
        attrs = {"reused_from": 0} if i == 6 else {}
        system = {"constraints:min_trades": 2.0} if i == 5 else {}   # (3, 3) is infeasible
        study.add_trial(create_trial(values=list(values), params={"x": float(i)},
                                     distributions=dist, user_attrs=attrs,
                                     system_attrs=system))
    front = pareto_front(study, ("maximize", "maximize"))
    # #3 is dominated by #0, #4 by #1, #5 breaks its constraint, #6 repeats #0
    assert [r["trial"] for r in front] == [1, 0, 2]
    assert front[0] == {"trial": 1, "values": [2.0, 0.5], "params": {"x": 1.0}}


def test_a_multi_objective_study_lists_plots_and_serves_its_front(cfg, tmp_path):
    from research_lab.api.app import _progress
    from research_lab.defs.optimize.assets import study_metadata

    space = {"params": {"fast": {"type": "int", "low": 5, "high": 40, "step": 5},
                        "slow": {"type": "int", "low": 45, "high": 120, "step": 15}}}
    c = cfg.override("sampler", type="nsga2")
    spec = objective_from_config(c, ["sharpe_ratio", "max_drawdown"])
    tracker = RecordingTracker()
    report = _run(c, "pareto-study", spec, space=space, n=16, out=str(tmp_path / "out"),
                  tracker=tracker)
    front = report.pareto
    trials = {t.number: t for t in report_trials(report)}
    assert front and report.pareto_size == len(front)
    for row in front:   # no completed trial dominates a front member
        v = np.array(row["values"])
        assert not any(np.all(np.array(t.values) >= v) and np.any(np.array(t.values) > v)
                       for t in trials.values() if t.state == TrialState.COMPLETE)
    saved = json.loads((tmp_path / "out" / "pareto.json").read_text())
    assert saved["front"] == front and saved["metrics"] == ["sharpe_ratio", "max_drawdown"]
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 1000
    assert report.plots["pareto.png"].endswith("pareto.png")
    assert json.loads((tmp_path / "out" / "report.json").read_text())["pareto"] == front
    assert any(line.startswith(f"  trial {front[0]['trial']}:") for line in report.summary_lines())
    md = study_metadata(report)
    assert md["pareto_size"].value == len(front)
    assert f"| {front[0]['trial']} |" in md["pareto_front"].value
    assert _progress("pareto-study")["pareto"] == front
    assert tracker.final["pareto_size"] == len(front)                       # MLflow
    assert tracker.artifacts["pareto.json"].endswith("pareto.json")
    assert tracker.artifacts["plots/pareto.png"].endswith("pareto.png")


def report_trials(report):
    from research_lab.core.optimize import storage as S

    return S.load_study(S.resolve_storage_url(None), report.study_name).get_trials()


def test_single_objective_progress_has_no_front(cfg):
    from research_lab.api.app import _progress

    _run(cfg, "single-progress", n=3)
    assert _progress("single-progress")["pareto"] is None
    assert math.isfinite(_progress("single-progress")["best_value"])
