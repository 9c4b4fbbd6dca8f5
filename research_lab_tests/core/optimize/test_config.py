"""config/optimize.yaml: the shipped file loads; bad keys and values name the file and key."""

import pytest

from research_lab.core.optimize.config import ConfigError, load_optimize_config
from research_lab.core.optimize.sampler import make_pruner, make_sampler


def test_the_shipped_file_has_the_users_settings():
    cfg = load_optimize_config()
    assert cfg.sampler.n_startup_trials == 10 and cfg.sampler.multivariate
    assert cfg.study.n_trials == 100 and cfg.study.workers == 4
    assert cfg.pruner.type == "median" and cfg.study.metric == "sharpe_ratio"
    tpe = make_sampler(cfg.sampler, seed=7, workers=4, worker_index=2)
    assert tpe._constant_liar and tpe._rng.rng.random() == make_sampler(
        cfg.sampler, seed=9)._rng.rng.random()                 # worker i: seed + i
    assert not make_sampler(cfg.sampler, seed=1, workers=1)._constant_liar
    assert type(make_pruner(cfg.pruner)).__name__ == "WalkForwardMedianPruner"
    assert type(make_pruner(cfg.pruner, n_objectives=2)).__name__ == "NopPruner"


@pytest.mark.parametrize("text, message", [
    ("sampler: {n_startup: 3}\n", "unknown key(s) sampler.n_startup"),
    ("pruner: {type: hyperband}\n", "pruner.type must be one of median, optuna_median, wilcoxon, none"),
    ("study: {workers: 0}\n", "study.workers must be an integer in 1..256"),
    ("walkforward: {oos_fraction: 1.5}\n", "walkforward.oos_fraction must be a fraction"),
    ("samplers: {}\n", "unknown section(s) samplers"),
    ("study: [1\n", "not valid YAML"),
])
def test_bad_settings_name_the_file_and_key(tmp_path, text, message):
    p = tmp_path / "optimize.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_optimize_config(p)
    assert str(err.value).startswith(str(p)) and message in str(err.value)
