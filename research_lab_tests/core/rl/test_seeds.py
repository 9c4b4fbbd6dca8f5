"""Walk-forward folds, the seed study (same seeds, same numbers), its files, and truncated
policies (a guardrail stop is marked, and says so in policy.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from research_lab.core.rl.splits import make_splits, walk_forward

SMALL = {"seeds": 2, "folds": 2, "timesteps": 256, "bootstrap_reps": 2000}


def test_walk_forward_folds_follow_each_other(bars, tiny_config):
    folds = walk_forward(bars["session"], tiny_config.splits, 3)
    base = make_splits(bars["session"], tiny_config.splits)
    assert folds[0].test[0] == base.test[0] and folds[-1].test[1] == base.test[1]
    for a, b in zip(folds, folds[1:]):
        assert a.test[1] < b.test[0]                     # test periods never overlap...
        assert b.validation[1] < b.test[0]                # ...and each trains on its past
        assert a.train[1] < b.train[1]                    # expanding training window
    sessions = list(bars["session"].dt.date)
    val_len = sessions.index(base.test[0]) - sessions.index(base.validation[0])
    for f in folds:
        assert sessions.index(f.test[0]) - sessions.index(f.validation[0]) == val_len
    assert walk_forward(bars["session"], tiny_config.splits, 1) == [base]


def test_too_many_folds_is_one_clear_error(bars, tiny_config):
    with pytest.raises(ValueError, match="fewer folds"):
        walk_forward(bars["session"], tiny_config.splits, 50)
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        walk_forward(bars["session"], tiny_config.splits, 0)


@pytest.fixture(scope="module")
def studies(bars, tiny_config, tmp_path_factory):
    from research_lab.core.rl.seeds import run_seeds

    config = tiny_config.replace(statistics=SMALL)
    first = run_seeds(bars, config, out_dir=tmp_path_factory.mktemp("seeds_a"))
    again = run_seeds(bars, config, out_dir=tmp_path_factory.mktemp("seeds_b"))
    other = run_seeds(bars, config.replace(seed=7, statistics={"folds": 1}),
                      out_dir=tmp_path_factory.mktemp("seeds_c"))
    return first, again, other


def test_same_seeds_same_study(studies):
    first, again, _ = studies
    assert first.scores().shape == (2, 2)
    assert np.array_equal(first.scores(), again.scores())
    assert first.baselines == again.baselines
    assert first.summary["iqm"] == again.summary["iqm"]
    assert first.metrics()["seeds.p_beats_best_strategy"] == \
        again.metrics()["seeds.p_beats_best_strategy"]


def test_other_seeds_other_policies(studies):
    first, _, other = studies
    assert other.seeds == (7, 8) and len(other.folds) == 1
    # two seeds of one study train different policies (scores differ on some fold)
    assert first.scores()[0, 0] != first.scores()[1, 0] or \
        first.scores()[0, 1] != first.scores()[1, 1]
    assert all(r.policy_path.endswith("policy.zip") and Path(r.policy_path).is_file()
               for r in first.runs)


def test_study_numbers_and_files(studies, tmp_path):
    from research_lab.core.rl.seeds import write_seeds

    study = studies[0]
    paths = write_seeds(study, tmp_path)
    doc = json.loads(paths["seeds"].read_text())
    assert paths["seeds_plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert doc["seeds"] == [0, 1] and len(doc["folds"]) == 2 and len(doc["runs"]) == 4
    flat = sorted(v for row in doc["scores"] for v in row)
    assert doc["iqm"]["point"] == pytest.approx((flat[1] + flat[2]) / 2, abs=1e-12)
    assert doc["iqm"]["low"] <= doc["iqm"]["point"] <= doc["iqm"]["high"]
    best = doc["baselines"]["best_strategy"]
    assert len(best["scores"]) == 2 and set(best["params"][0]) == {"fast", "slow"}
    # one deterministic baseline run per fold: P(beat) is the share of runs above it
    by_fold = np.array(doc["scores"])
    share = np.mean([(by_fold[:, k] > best["scores"][k]).mean()
                     + 0.5 * (by_fold[:, k] == best["scores"][k]).mean() for k in range(2)])
    assert best["probability_of_improvement"]["point"] == pytest.approx(share, abs=1e-12)
    m = study.metrics()
    assert {"seeds.iqm", "seeds.iqm_low", "seeds.iqm_high", "seeds.p_beats_best_strategy",
            "seeds.p_beats_buy_and_hold", "seeds.truncated_runs"} <= set(m)
    assert m["seeds.n_seeds"] == 2 and m["seeds.truncated_runs"] == 0
    assert "2 seeds x 2 folds" in study.headline()


def test_a_guardrail_stop_marks_the_policy_truncated(bars, tiny_config, tmp_path):
    from research_lab.core.rl.playback import truncation
    from research_lab.core.rl.train import train_policy

    out = train_policy(bars, tiny_config.replace(guardrails={"max_timesteps": 200}),
                       out_dir=tmp_path)
    assert out.stop_reason == "max_timesteps" and out.truncated
    doc = json.loads((tmp_path / "policy.json").read_text())
    assert doc["truncated"] is True
    assert truncation(out.policy_path).startswith("max_timesteps: reached")
    assert out.tags()["rl.truncated"] == "true"


def test_a_completed_run_is_not_truncated(trained):
    from research_lab.core.rl.playback import truncation

    assert not trained.truncated and truncation(trained.policy_path) is None
