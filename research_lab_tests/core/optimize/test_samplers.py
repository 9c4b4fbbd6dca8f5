"""Every sampler of ``sampler.type`` / ``--sampler`` runs a real study: the configured Optuna
sampler, seeded (same seed, same trials), inside the space; the grid covers each point once."""

import pytest

from research_lab.cli import main
from research_lab.core.optimize import StudyRequest, objective_spec, run_study
from research_lab.core.optimize import storage as S
from research_lab.core.optimize.config import SAMPLERS
from research_lab.core.optimize.sampler import make_sampler
from research_lab.core.optimize.space import parse_space

from .conftest import make_bars

CLASSES = {"tpe": "TPESampler", "random": "RandomSampler", "grid": "GridSampler",
           "qmc": "QMCSampler", "cmaes": "CmaEsSampler", "gp": "GPSampler",
           "nsga2": "NSGAIISampler", "nsga3": "NSGAIIISampler"}
SPACE = {"params": {"fast": {"type": "int", "low": 5, "high": 40},
                    "slow": {"type": "int", "low": 45, "high": 200, "step": 5}}}


def _params(cfg, sampler, name, n=8, space=SPACE, **kw):
    bars = make_bars(800)
    c = cfg.override("sampler", type=sampler, n_startup_trials=3)
    study = run_study(StudyRequest("sma_cross", "ACME", bars,
                                   parse_space(space, strategy="sma_cross"), name, n_trials=n,
                                   seed=11, config=c, **kw), report=False).study
    assert all(t.state.is_finished() for t in study.trials)
    return [dict(t.params) for t in study.trials]


def test_the_config_lists_exactly_these_samplers():
    assert set(SAMPLERS) == set(CLASSES)


@pytest.mark.parametrize("sampler", sorted(CLASSES))
def test_each_sampler_is_the_configured_one_seeded_and_inside_the_space(cfg, sampler):
    space = parse_space(SPACE, strategy="sma_cross")
    built = make_sampler(cfg.sampler.model_copy(update={"type": sampler}), seed=1, space=space)
    assert type(built).__name__ == CLASSES[sampler]
    first = _params(cfg, sampler, f"{sampler}-a")
    again = _params(cfg, sampler, f"{sampler}-b")
    assert first == again                       # one worker, same seed: the same trials
    assert len(first) == 8
    for p in first:
        assert 5 <= p["fast"] <= 40 and 45 <= p["slow"] <= 200 and p["slow"] % 5 == 0


def test_the_grid_sampler_visits_each_point_once_and_stops(cfg):
    small = {"params": {"fast": {"type": "int", "low": 5, "high": 7},
                        "slow": {"type": "int", "low": 20, "high": 30, "step": 5}}}
    seen = _params(cfg, "grid", "grid-small", n=50, space=small)
    assert sorted((p["fast"], p["slow"]) for p in seen) == [
        (f, s) for f in (5, 6, 7) for s in (20, 25, 30)]


def test_a_continuous_parameter_has_no_grid(cfg):
    with pytest.raises(ValueError, match="no grid"):
        _params(cfg, "grid", "grid-float", space={"params": {
            "fast": {"type": "int", "low": 5, "high": 40, "log": True},
            "slow": {"type": "int", "low": 45, "high": 200}}})
    assert "grid-float" not in S.list_studies(S.resolve_storage_url(None))


def test_nsga2_runs_a_multi_objective_study(cfg):
    seen = _params(cfg, "nsga2", "pareto", n=10,
                   objective=objective_spec(["sharpe_ratio", "max_drawdown"]))
    assert len(seen) == 10


def test_the_cli_flag_picks_the_sampler_and_refuses_an_unknown_one(cfg, tmp_path, capsys):
    csv = tmp_path / "acme.csv"
    b = make_bars(800)
    b.assign(date=b["session"].dt.strftime("%Y-%m-%d"))[
        ["date", "open", "high", "low", "close", "volume"]].to_csv(csv, index=False)
    conf = tmp_path / "optimize.yaml"
    conf.write_text("study: {workers: 1}\nmarket_hours: {policy: ignore}\n")
    args = ["optimize", "--strategy", "sma_cross", "--csv", str(csv), "--n-trials", "4",
            "--study-name", "flag", "--no-tracking", "--no-progress", "--config", str(conf)]
    assert main([*args, "--sampler", "hyperopt"]) == 2
    assert "--sampler 'hyperopt' is not one of tpe, random" in capsys.readouterr().err
    assert main([*args, "--sampler", "qmc"]) == 0
    study = S.load_study(S.resolve_storage_url(None), "flag")
    assert study.user_attrs["research_lab.definition"]["sampler"]["type"] == "qmc"

