"""No wasted trials: infeasible points and repeated points do not spend the budget (and a
repeat reuses the earlier result without a backtest); a new study starts from the strategy's
defaults and the configured known-good points."""

from optuna.trial import TrialState

from research_lab.core.optimize import StudyRequest, run_study
from research_lab.core.optimize import storage as S
from research_lab.core.optimize.space import parse_space

from .conftest import make_bars


def _study(cfg, name, space, n, **kw):
    bars = make_bars(800)
    out = run_study(StudyRequest("sma_cross", "ACME", bars, parse_space(space, strategy="sma_cross"),
                                 name, n_trials=n, seed=5, config=cfg, **kw), report=False)
    return out.study.get_trials()


def test_infeasible_points_do_not_spend_the_budget(cfg):
    half = {"params": {"fast": {"type": "int", "low": 5, "high": 60},
                       "slow": {"type": "int", "low": 5, "high": 60}},
            "constraints": ["fast < slow"]}
    trials = _study(cfg.override("sampler", type="random"), "feasible", half, 15)
    infeasible = [t for t in trials if t.user_attrs.get("infeasible")]
    backtested = [t for t in trials if t.intermediate_values]
    assert infeasible and all(t.state == TrialState.PRUNED for t in infeasible)
    assert all(t.params["fast"] >= t.params["slow"] for t in infeasible)
    assert len(backtested) == 15          # the budget bought 15 backtests, not 15 - infeasible


def test_a_repeated_point_reuses_the_earlier_result(cfg):
    tiny = {"params": {"fast": {"type": "int", "low": 5, "high": 6},
                       "slow": {"type": "int", "low": 20, "high": 25, "step": 5}}}
    trials = _study(cfg.override("sampler", type="random"), "repeats", tiny, 4)
    by_number = {t.number: t for t in trials}
    reused = [t for t in trials if t.user_attrs.get("reused_from") is not None]
    backtested = [t for t in trials if t.intermediate_values]
    assert reused, "a random sampler on 4 points repeats one within the budget"
    assert len(backtested) == 4 == len({(t.params["fast"], t.params["slow"]) for t in backtested})
    for t in reused:
        first = by_number[t.user_attrs["reused_from"]]
        assert first.params == t.params and first.intermediate_values
        assert t.state == first.state and t.value == first.value and not t.intermediate_values


def test_a_new_study_starts_from_the_defaults_and_known_good_points(cfg):
    space = {"params": {"fast": {"type": "int", "low": 5, "high": 50},
                        "slow": {"type": "int", "low": 20, "high": 250, "step": 5}}}
    c = cfg.override("study", enqueue=[{"fast": 12, "slow": 60}, {"fast": 12, "slow": 61},
                                       {"fast": 3, "slow": 60}, {"fast": 7, "slow": 90}])
    trials = _study(c, "warm", space, 6)
    firsts = [t.params for t in sorted(trials, key=lambda t: t.number)[:3]]
    # defaults (10, 30), then the listed points inside the space (61 is off the step of 5,
    # 3 below the range: skipped)
    assert firsts == [{"fast": 10, "slow": 30}, {"fast": 12, "slow": 60}, {"fast": 7, "slow": 90}]
    # resuming does not enqueue them again
    run_study(StudyRequest("sma_cross", "ACME", make_bars(800),
                           parse_space(space, strategy="sma_cross"), "warm", n_trials=9, seed=5,
                           config=c), report=False)
    again = S.load_study(S.resolve_storage_url(None), "warm").get_trials()
    assert [t.params for t in again].count({"fast": 10, "slow": 30}) == 1
    cold = _study(cfg.override("study", enqueue_defaults=False), "cold", space, 3)
    assert cold[0].params != {"fast": 10, "slow": 30}
