"""The walk-forward median pruner: the running-mean rule, and one read of the completed trials
per trial that decides exactly as a read per fold."""

import optuna
import pytest

from research_lab.core.optimize.config import PrunerSettings
from research_lab.core.optimize.sampler import make_pruner


def _study(pruner):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(direction="maximize", pruner=pruner,
                               sampler=optuna.samplers.RandomSampler(seed=5))


def _run(study, n=60):
    """Trials whose fold scores depend on x: the worse half is pruned along the way."""
    def objective(trial):
        x = trial.suggest_float("x", -1, 1)
        scores = []
        for k in range(4):
            scores.append(x + 0.3 * ((trial.number * 7 + k * 3) % 5 - 2) / 2)
            trial.report(scores[-1], k)
            if k < 3 and trial.should_prune():
                raise optuna.TrialPruned()
        return sum(scores) / 4

    study.optimize(objective, n_trials=n)
    return [(t.state.name, t.value, dict(t.intermediate_values)) for t in study.trials]


def test_one_read_per_trial_decides_as_a_read_per_fold(monkeypatch):
    settings = PrunerSettings(type="median", n_startup_trials=5, n_warmup_steps=0)
    cached = make_pruner(settings)
    reads = []
    study = _study(cached)
    real = study.get_trials

    def counting(*args, **kwargs):
        reads.append(kwargs.get("states"))
        return real(*args, **kwargs)

    monkeypatch.setattr(study, "get_trials", counting)
    with_cache = _run(study)
    pruned = sum(1 for state, _, _ in with_cache if state == "PRUNED")
    assert 10 < pruned < 55
    # at most one read of the completed trials per trial (a read per fold would be ~2 each)
    assert 0 < len([r for r in reads if r is not None]) <= 60

    fresh = make_pruner(settings)
    monkeypatch.setattr(type(fresh), "_completed", lambda self, s, t: s.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    assert _run(_study(fresh)) == with_cache


@pytest.mark.parametrize("direction,mine,expected", [("maximize", 0.1, True),
                                                     ("maximize", 0.9, False),
                                                     ("minimize", 0.9, True)])
def test_running_mean_against_the_median(direction, mine, expected):
    pruner = make_pruner(PrunerSettings(type="median", n_startup_trials=3, n_warmup_steps=1))
    study = optuna.create_study(direction=direction, pruner=pruner)
    for v in (0.4, 0.5, 0.6):
        study.add_trial(optuna.trial.create_trial(
            value=v, intermediate_values={0: v, 1: v, 2: v, 3: v},
            params={}, distributions={}))
    trial = study.ask()
    trial.report(0.5, 0)
    assert not trial.should_prune()           # fold 0 is a warm-up step
    trial.report(2 * mine - 0.5, 1)           # running mean of folds 0-1 = mine
    assert trial.should_prune() is expected
