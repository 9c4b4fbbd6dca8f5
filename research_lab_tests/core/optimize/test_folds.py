"""Issue 16 item 4: fold schemes (walk-forward, calendar, CPCV through skfolio), PBO and
path-wise DSR over the CPCV paths, and the Wilcoxon pruner option."""

from math import comb

import numpy as np
import optuna
import pandas as pd
import pytest

from research_lab.core.optimize import StudyRequest, run_study
from research_lab.core.optimize.config import PrunerSettings, WalkForwardSettings
from research_lab.core.optimize.folds import cpcv_overfitting, plan_study_folds
from research_lab.core.optimize.sampler import make_pruner
from research_lab.core.optimize.space import parse_space
from research_lab.core.optimize.walkforward import WalkForwardError, WalkForwardPlan

from .conftest import make_bars

SESSIONS = pd.bdate_range("2015-01-02", periods=1200)


@pytest.mark.parametrize("groups, tests", [(6, 2), (5, 3), (8, 2), (4, 3)])
def test_cpcv_counts_follow_the_combinatorial_formula(groups, tests):
    plan = plan_study_folds(SESSIONS, WalkForwardSettings(scheme="cpcv", folds=groups,
                                                          cpcv_test_folds=tests))
    assert len(plan.folds) == groups
    assert plan.cv["n_splits"] == comb(groups, tests)
    assert plan.cv["n_paths"] == comb(groups - 1, tests - 1)
    # the groups tile the in-sample period, in order, without gaps
    assert plan.folds[0].start == 0 and plan.folds[-1].stop == plan.is_stop == 960
    assert all(a.stop == b.start for a, b in zip(plan.folds, plan.folds[1:]))
    assert max(map(len, plan.folds)) - min(map(len, plan.folds)) <= 1
    again = WalkForwardPlan.from_dict(plan.to_dict())
    assert again == plan and again.scheme == "cpcv"


@pytest.mark.parametrize("groups, tests", [(4, 4), (2, 2), (5, 6)])
def test_cpcv_needs_fewer_test_groups_than_groups(groups, tests):
    with pytest.raises(WalkForwardError, match="cpcv_test_folds in 2..folds-1"):
        plan_study_folds(SESSIONS, WalkForwardSettings(scheme="cpcv", folds=groups,
                                                       cpcv_test_folds=tests))


def test_calendar_folds_are_whole_quarters_after_the_first():  # skfolio WalkForward
    plan = plan_study_folds(SESSIONS, WalkForwardSettings(scheme="calendar", calendar_freq="QS"))
    starts = [SESSIONS[f.start] for f in plan.folds]
    ends = [SESSIONS[f.stop - 1] for f in plan.folds]
    # in-sample: 960 sessions from 2015-01-02 to 2018-09-06; the first quarter only warms
    # up, the partial last quarter (from 2018-07-02) is left out: Q2 2015..Q2 2018
    assert starts[0] == pd.Timestamp("2015-04-01")
    assert all(s.month in (1, 4, 7, 10) and s.day <= 3 for s in starts)
    assert all(e.quarter == s.quarter and e.year == s.year for s, e in zip(starts, ends))
    assert ends[-1] == pd.Timestamp("2018-06-29") and len(plan.folds) == 13
    assert plan.to_dict()["cv"] == {"freq": "QS"}


def test_the_default_scheme_is_the_old_walk_forward_plan():
    plan = plan_study_folds(SESSIONS, WalkForwardSettings())
    assert plan.scheme == "walk_forward" and len(plan.folds) == 4
    assert "scheme" not in plan.to_dict()   # definitions of existing studies still match


def _noise(t, n, seed=0):
    return np.random.default_rng(seed).normal(0, 0.01, (t, n))


def test_pbo_over_cpcv_is_0_when_skill_persists_and_1_when_it_reverses():
    settings = WalkForwardSettings(scheme="cpcv", folds=4, cpcv_test_folds=2, oos_fraction=0.2)
    plan = plan_study_folds(pd.bdate_range("2015-01-02", periods=500), settings)
    t = plan.is_stop
    persistent = _noise(t, 6)
    persistent[:, 2] += 0.01            # one configuration is better everywhere
    fig = cpcv_overfitting(persistent, plan)
    assert fig.pbo.pbo == 0.0 and fig.pbo.n_combinations == comb(4, 2)
    assert fig.n_paths == comb(3, 1) == len(fig.path_dsr)

    reverse = _noise(t, 4, seed=1) * 0.1
    for j, fold in enumerate(plan.folds):   # configuration j wins only on group j
        reverse[fold.start:fold.stop, :] -= 0.01
        reverse[fold.start:fold.stop, j] += 0.03
    # any 2 training groups select one of "their" configurations, which loses on both test
    # groups to the two configurations that win there
    assert cpcv_overfitting(reverse, plan).pbo.pbo == 1.0


def test_path_dsr_is_high_for_real_skill_and_low_for_noise():
    settings = WalkForwardSettings(scheme="cpcv", folds=6, cpcv_test_folds=2)
    plan = plan_study_folds(pd.bdate_range("2015-01-02", periods=1500), settings)
    skill = _noise(plan.is_stop, 20, seed=2)
    skill[:, 0] += 0.004
    noise = _noise(plan.is_stop, 20, seed=3)
    good, bad = cpcv_overfitting(skill, plan), cpcv_overfitting(noise, plan)
    assert len(good.path_dsr) == comb(5, 1)
    assert min(good.path_dsr) > 0.95 and good.pbo.pbo == 0.0
    assert bad.median_dsr < 0.5


def test_wilcoxon_is_a_pruner_option():
    pruner = make_pruner(PrunerSettings(type="wilcoxon", p_threshold=0.05, n_warmup_steps=2))
    assert isinstance(pruner, optuna.pruners.WilcoxonPruner)
    assert pruner._p_threshold == 0.05 and pruner._n_startup_steps == 2
    assert isinstance(make_pruner(PrunerSettings(type="wilcoxon"), n_objectives=2),
                      optuna.pruners.NopPruner)


def test_a_cpcv_study_with_the_wilcoxon_pruner_reports_cpcv_figures(cfg, tmp_path):
    c = (cfg.override("walkforward", scheme="cpcv", folds=8, cpcv_test_folds=2,
                      cpcv_purge_bars=5, cpcv_embargo_bars=2)
         .override("pruner", type="wilcoxon", n_warmup_steps=1)
         .override("sampler", type="random"))
    space = {"params": {"fast": {"type": "int", "low": 5, "high": 40},
                        "slow": {"type": "int", "low": 45, "high": 150}}}
    report = run_study(StudyRequest("sma_cross", "ACME", make_bars(1200),
                                    parse_space(space, strategy="sma_cross"), "cpcv-wilcoxon",
                                    n_trials=40, seed=1, config=c,
                                    output_dir=str(tmp_path / "out")))
    assert report.cpcv is not None and report.cpcv.n_paths == comb(7, 1)
    assert report.pbo.n_combinations == comb(8, 2) and 0 <= report.pbo.pbo <= 1
    assert "CPCV" in report.plan and "8 CPCV groups" in report.plan
    assert any("deflated Sharpe per CPCV path" in line for line in report.summary_lines())
    assert report.to_dict()["cpcv"]["n_paths"] == 7
    # 8 folds: the Wilcoxon test has enough pairs to prune
    assert report.pruned > 0
