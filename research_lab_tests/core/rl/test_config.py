"""config/rl.yaml: the shipped file loads; overrides merge; bad values name the field."""

from __future__ import annotations

import datetime as dt

import pytest

from research_lab.core.rl.config import (DEFAULT_PATH, RLConfigError, load_rl_config,
                                         rl_config_from_dict)


def test_the_shipped_file_loads_with_documented_defaults():
    c = load_rl_config(DEFAULT_PATH)
    assert c.algorithm == "PPO" and c.seed == 0
    g = c.guardrails
    assert (g.torch_threads, g.max_timesteps, g.wall_clock_seconds, g.memory_mb) == \
        (1, 1_000_000, 1800, 4096)
    assert set(c.hyperparameters) == {"PPO", "A2C", "DQN"}
    assert c.broker_settings()["allow_short"] is False
    st = c.statistics
    assert (st.enabled, st.seeds, st.folds, st.timesteps, st.confidence, st.bootstrap_reps,
            st.bootstrap_seed, st.metric) == (True, 5, 3, 10_000, 0.95, 50_000, 0, "sharpe")
    assert c.flat_params()["statistics.seeds"] == 5


def test_overrides_merge_sections_and_the_environment_variable_picks_the_file(tmp_path,
                                                                             monkeypatch):
    path = tmp_path / "rl.yaml"
    path.write_text("algorithm: a2c\ntimesteps: 10\nenv: {window: 5}\n")
    monkeypatch.setenv("RESEARCH_LAB_RL_CONFIG", str(path))
    c = load_rl_config(env={"allow_short": True}, seed=None)
    assert (c.algorithm, c.timesteps, c.env.window, c.env.allow_short) == ("A2C", 10, 5, True)
    assert c.source == f"{path} + overrides"
    again = c.replace(splits={"train_end": "2022-12-30", "validation_end": "2023-06-30"})
    assert again.splits.train_end == dt.date(2022, 12, 30) and again.env.window == 5
    assert rl_config_from_dict(again.to_dict()).to_dict() == again.to_dict()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"algorithm": "SAC"}, "algorithm: 'SAC' is not one of"),
        ({"algorithm": "DQN", "env": {"action": "box"}}, "env.action: DQN needs discrete"),
        ({"timesteps": 0}, "timesteps: 0 must be > 0"),
        ({"env": {"windw": 3}}, "env.windw: unknown field"),
        ({"guardrails": {"memory_mb": -1}}, "guardrails.memory_mb: must be > 0"),
        ({"splits": {"train": 0.7, "validation": 0.4}}, "sum to < 1"),
        ({"splits": {"train_end": "2023-01-01", "validation_end": "2022-01-01"}},
         "splits.validation_end: 2022-01-01 must be after"),
        ({"splits": {"train_end": "soon", "validation_end": "2022-01-01"}},
         "splits.train_end: 'soon' is not a date"),
        ({"learning_rate": 0.1}, "learning_rate: unknown key"),
        ({"seed": True}, "seed: Input should be a valid integer"),
        ({"env": {"risk_penalty": "x"}}, "env.risk_penalty: 'x' must be a finite number"),
        ({"env": 5}, "env: must be a mapping"),
        ({"guardrails": {"deterministic_torch": "yes"}},
         "guardrails.deterministic_torch: Input should be a valid boolean"),
        ({"hyperparameters": {"SAC": {}}}, "hyperparameters.SAC: not one of"),
        ({"statistics": {"seeds": 0}}, "statistics.seeds: must be an integer > 0"),
        ({"statistics": {"confidence": 1.5}}, "statistics.confidence: must be in .0, 1. .0.95"),
        ({"statistics": {"metric": "sortino"}}, "statistics.metric: 'sortino' is not one of"),
        ({"statistics": {"reps": 10}}, "statistics.reps: unknown field"),
    ],
)
def test_bad_values_name_the_field(overrides, message):
    with pytest.raises(RLConfigError, match=message.replace("(", r"\(")):
        load_rl_config(DEFAULT_PATH, **overrides)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(RLConfigError, match="does not exist"):
        load_rl_config(tmp_path / "nope.yaml")


def test_the_broker_is_the_labs_and_not_a_key_of_the_file(tmp_path):
    from research_lab.core.backtest.costs import load_broker

    assert load_rl_config(DEFAULT_PATH).broker == load_broker().to_dict()
    path = tmp_path / "rl.yaml"
    path.write_text("broker: {commission: 0.01}\n")
    with pytest.raises(RLConfigError, match=r"broker: not a key of this file.*research_lab.yaml"):
        load_rl_config(path)
