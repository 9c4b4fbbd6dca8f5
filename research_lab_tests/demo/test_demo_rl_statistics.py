"""`demo run` keeps the RL seed study small: rl_evaluation gets 2 seeds x 1 fold x 2,048
steps on its launchpad, which the asset's config accepts and turns into overrides."""

from types import SimpleNamespace

from research_lab.cli import demo_run


def test_demo_overrides_the_seed_study(monkeypatch):
    calls = []

    def fake_run_job(defs, instance, job_name, **kwargs):
        calls.append((job_name, kwargs))
        return SimpleNamespace(success=True)

    monkeypatch.setattr(demo_run, "_run_job", fake_run_job)
    steps = demo_run.policy(None, None, demo_run.DemoPlan(rl_symbol="ACME", timesteps=600))
    assert [s.ok for s in steps] == [True, True]
    (train_job, train), (eval_job, ev) = calls
    assert train_job == "rl_training_job" and train["op_config"]["timesteps"] == 600
    assert eval_job == "rl_evaluation_job" and ev["op_name"] == "rl_evaluation"
    assert ev["op_config"]["seeds"] == 2 and ev["op_config"]["folds"] == 1
    assert ev["op_config"]["seed_timesteps"] == 2048


def test_the_demo_override_is_a_valid_launchpad_config():
    from research_lab.defs.rl.assets import RLEvaluationConfig

    config = RLEvaluationConfig(project="Demo", **demo_run.RL_STATISTICS)
    assert config.statistics_overrides() == {"seeds": 2, "folds": 1, "timesteps": 2048}
    assert RLEvaluationConfig().statistics_overrides() is None
