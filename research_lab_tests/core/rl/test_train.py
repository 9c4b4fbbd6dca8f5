"""Training: a small policy in seconds, and every guardrail stops it with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from research_lab.core.rl.train import train_policy


def test_a_small_policy_trains_in_seconds(trained, tiny_config):
    assert trained.stop_reason == "completed", trained.stop_detail
    assert trained.algorithm == "PPO" and trained.timesteps == 2048
    assert trained.training_seconds < 60
    assert Path(trained.policy_path).is_file()
    assert [step for step, _ in trained.evaluations] == [1024, 2048]
    assert trained.validation_score == max(score for _, score in trained.evaluations)
    assert len(trained.checkpoints) == 2 and all(Path(p).is_file() for p in trained.checkpoints)
    sidecar = json.loads(Path(trained.policy_path).with_name("policy.json").read_text())
    assert sidecar["algorithm"] == "PPO" and sidecar["splits"] == trained.splits.to_dict()
    assert sidecar["config"]["env"]["episode_length"] == 128
    params, metrics, tags = trained.params(), trained.metrics(), trained.tags()
    assert params["hp.n_steps"] == 128 and params["guardrails.torch_threads"] == 1
    assert params["split.test_start"] == trained.splits.test[0].isoformat()
    assert metrics["seconds_per_10k_steps"] > 0 and metrics["peak_rss_mb"] > 0
    assert tags["kind"] == "policy" and tags["rl.stop_reason"] == "completed"
    assert len(tags["data_version"]) == 16


def _train(bars, config, tmp_path, **overrides):
    return train_policy(bars, config.replace(**overrides), out_dir=tmp_path)


def test_timestep_cap(bars, tiny_config, tmp_path):
    out = _train(bars, tiny_config, tmp_path, timesteps=5000,
                 guardrails={"max_timesteps": 300})
    assert out.stop_reason == "max_timesteps" and out.timesteps == 300
    assert "max_timesteps = 300" in out.stop_detail
    assert out.validation_score is not None and out.evaluations[-1][0] == 300


def test_wall_clock_limit(bars, tiny_config, tmp_path):
    out = _train(bars, tiny_config, tmp_path, guardrails={"wall_clock_seconds": 1e-6})
    assert out.stop_reason == "wall_clock" and out.timesteps == 1
    assert "wall_clock_seconds" in out.stop_detail
    assert Path(out.policy_path).is_file(), "a stopped run still leaves its best policy"


def test_memory_ceiling(bars, tiny_config, tmp_path):
    out = _train(bars, tiny_config, tmp_path, guardrails={"memory_mb": 1})
    assert out.stop_reason == "memory_ceiling" and out.timesteps == 1
    assert "resident memory" in out.stop_detail and "memory_mb = 1" in out.stop_detail
    assert out.peak_rss_mb > 1


def test_early_stopping_on_validation(bars, tiny_config, tmp_path):
    out = _train(bars, tiny_config, tmp_path, timesteps=4096,
                 early_stopping={"eval_freq": 128, "patience": 2, "min_delta": 1e9})
    assert out.stop_reason == "early_stopping", out.stop_detail
    assert [s for s, _ in out.evaluations] == [128, 256, 384]
    assert out.best_step == 128, "the kept policy is the best one, not the last"


def test_one_torch_thread_during_training_and_restored_after(bars, tiny_config, tmp_path):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    seen = []
    try:
        train_policy(bars, tiny_config.replace(timesteps=64), out_dir=tmp_path,
                     progress=lambda done, total: seen.append(torch.get_num_threads()))
        assert set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("algorithm", ["A2C", "DQN"])
def test_a2c_and_dqn_are_selectable(bars, tiny_config, tmp_path, algorithm):
    out = _train(bars, tiny_config, tmp_path, algorithm=algorithm, timesteps=200)
    assert out.algorithm == algorithm and out.stop_reason == "completed"
    from research_lab.core.rl.playback import load_policy

    assert type(load_policy(out.policy_path)).__name__ == algorithm


def test_unknown_hyperparameter_is_named(bars, tiny_config, tmp_path):
    with pytest.raises(ValueError, match="hyperparameters.PPO: unknown n_stepz"):
        _train(bars, tiny_config, tmp_path, hyperparameters={"PPO": {"n_stepz": 3}})
