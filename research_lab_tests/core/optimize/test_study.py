"""Studies on the embedded journal storage: pruning, reproducibility, resume, tracking,
dead-worker recovery, multi-objective."""

import optuna
import pytest
from optuna.trial import TrialState

from research_lab.core.backtest.params import DEFAULT_SPACES_PATH
from research_lab.core.optimize import NoopTracker, StudyRequest, load_space, run_study
from research_lab.core.optimize import storage as S
from research_lab.core.optimize.definition import DefinitionError
from research_lab.core.optimize.objective import objective_spec

SMA = DEFAULT_SPACES_PATH.parent / "param_spaces" / "sma_cross.yaml"


def request(bars, cfg, name, tmp_path, **kw):
    return StudyRequest("sma_cross", "ACME", bars, kw.pop("space", load_space(SMA)), name,
                        config=cfg, output_dir=str(tmp_path / name), **kw)


def trials_of(name):
    return optuna.load_study(study_name=name, storage=S.open_storage(None)).get_trials()


def test_pruning_stops_bad_trials_after_a_fold(bars, cfg, tmp_path):
    rep = run_study(request(bars, cfg, "prune", tmp_path, n_trials=30, seed=3))
    trials = trials_of("prune")
    pruned = [t for t in trials if t.state == TrialState.PRUNED
              and not t.user_attrs.get("infeasible")]
    assert rep.pruned >= len(pruned) > 0
    assert all(len(t.intermediate_values) < 4 for t in pruned)       # stopped before the end
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert all(sorted(t.intermediate_values) == [0, 1, 2, 3] for t in done)
    assert rep.counts["done"] == 30                   # infeasible and repeated points are free
    assert rep.complete + rep.pruned == 30 + rep.counts["infeasible"] + rep.counts["reused"]
    assert 1 <= len(rep.leaderboard) <= min(10, rep.complete)
    assert len({str(row['params']) for row in rep.leaderboard}) == len(rep.leaderboard)
    values = [row["values"][0] for row in rep.leaderboard]
    assert values == sorted(values, reverse=True) and values[0] == rep.best_value
    assert rep.dsr is not None and 0 <= rep.dsr.dsr <= 1 and rep.dsr.n_trials >= 28
    assert rep.pbo is not None and 0 <= rep.pbo.pbo <= 1
    for png in rep.plots.values():
        assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "| rank | trial | sharpe_ratio | fast | slow | folds |" in rep.leaderboard_markdown()


def test_same_seed_same_trials_and_best_params(bars, cfg, tmp_path):
    a = run_study(request(bars, cfg, "seed-a", tmp_path, n_trials=15, seed=42))
    b = run_study(request(bars, cfg, "seed-b", tmp_path, n_trials=15, seed=42))
    run_study(request(bars, cfg, "seed-c", tmp_path, n_trials=15, seed=43))
    assert a.best_params == b.best_params and a.best_value == b.best_value
    assert [t.params for t in trials_of("seed-a")] == [t.params for t in trials_of("seed-b")]
    assert [t.params for t in trials_of("seed-a")] != [t.params for t in trials_of("seed-c")]


def test_a_stopped_study_resumes_where_it_stopped(bars, cfg, tmp_path):
    tracker = NoopTracker()
    first = run_study(request(bars, cfg, "resume", tmp_path, n_trials=6), tracker=tracker)
    n1 = len(trials_of("resume"))
    assert first.counts["done"] == 6 and sorted(tracker.logged) == list(range(n1))
    again = NoopTracker()
    second = run_study(request(bars, cfg, "resume", tmp_path, n_trials=14), tracker=again)
    trials = trials_of("resume")
    assert [t.number for t in trials] == list(range(len(trials)))
    assert second.counts["done"] == 14
    assert sorted(again.logged) == list(range(n1, len(trials)))   # only the new ones logged
    # a different search under the same name is refused, naming the difference
    other = load_space(SMA.parent / "sma_cross_grid1000.yaml")
    with pytest.raises(DefinitionError, match="exists with a different space"):
        run_study(request(bars, cfg, "resume", tmp_path, n_trials=20, space=other))


def test_a_dead_workers_trial_is_failed_and_retried(bars, cfg, tmp_path):
    run_study(request(bars, cfg, "dead", tmp_path, n_trials=3))
    study = optuna.load_study(study_name="dead", storage=S.open_storage(None))
    orphan = study.ask({"fast": optuna.distributions.IntDistribution(5, 50),
                        "slow": optuna.distributions.IntDistribution(20, 250, step=5)})
    orphan.set_user_attr(S.WORKER_ATTR, S.worker_id(999_999_999))  # no such process
    assert S.fail_stale_trials(study) == [orphan.number]
    trials = study.get_trials()
    assert trials[orphan.number].state == TrialState.FAIL
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == orphan.number]
    assert len(retry) == 1 and retry[0].state == TrialState.WAITING
    assert retry[0].params == trials[orphan.number].params
    rep = run_study(request(bars, cfg, "dead", tmp_path, n_trials=5))   # resume runs it
    retry = study.get_trials()[retry[0].number]
    assert retry.state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert rep.counts["fail"] == 1 and rep.counts["done"] == 5
    assert S.worker_alive(S.worker_id()) is True


def test_multi_objective_returns_a_pareto_front_without_pruning(bars, cfg, tmp_path):
    obj = objective_spec(["sharpe_ratio", "max_drawdown"])
    rep = run_study(request(bars, cfg, "multi", tmp_path, n_trials=12, objective=obj))
    assert rep.pareto_size >= 1 and len(rep.best_values) == 2
    assert rep.pruned == rep.counts["infeasible"]            # only infeasible points
    assert all(len(row["folds"]) == 4 for row in rep.leaderboard)
