"""Every sampler of ``sampler.type`` / ``--sampler`` runs a real study: the configured Optuna
sampler, seeded (same seed, same trials), inside the space; the grid covers each point once."""

import pytest

from research_lab.cli import main
from research_lab.core.optimize import StudyRequest, objective_spec, run_study
from research_lab.core.optimize import storage as S
from research_lab.core.optimize.config import SAMPLERS
from research_lab.core.optimize.sampler import make_pruner, make_sampler
from research_lab.core.optimize.space import parse_space

from .conftest import make_bars

CLASSES = {"tpe": "TPESampler", "random": "RandomSampler", "grid": "GridSampler",
           "qmc": "QMCSampler", "cmaes": "CmaEsSampler", "gp": "GPSampler",
           "nsga2": "NSGAIISampler", "nsga3": "NSGAIIISampler"}
SPACE = {"params": {"fast": {"type": "int", "low": 5, "high": 40},
                    "slow": {"type": "int", "low": 45, "high": 200, "step": 5}}}


def _study(cfg, sampler, name, n=8, space=SPACE, seed=11, **kw):
    bars = make_bars(800)
    c = cfg.override("sampler", type=sampler, n_startup_trials=3)
    study = run_study(StudyRequest("sma_cross", "ACME", bars,
                                   parse_space(space, strategy="sma_cross"), name, n_trials=n,
                                   seed=seed, config=c, **kw), report=False).study
    assert all(t.state.is_finished() for t in study.trials)
    return study


def _params(cfg, sampler, name, n=8, space=SPACE, seed=11, **kw):
    return [dict(t.params) for t in _study(cfg, sampler, name, n, space, seed, **kw).trials]


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


@pytest.mark.parametrize("sampler", ["random", "qmc"])
def test_another_seed_draws_other_points(cfg, sampler):
    assert _params(cfg, sampler, f"{sampler}-s11") != _params(cfg, sampler, f"{sampler}-s12",
                                                              seed=12)


@pytest.mark.parametrize("sampler, prunes", [("tpe", True), ("gp", False)])
def test_gp_studies_are_not_pruned(cfg, sampler, prunes):
    """GPSampler models completed trials only: a pruned point would be proposed again and
    again, so a GP study evaluates every fold (TPE, same pruner settings, does prune)."""
    eager = cfg.override("pruner", n_startup_trials=1, n_warmup_steps=0)
    study = _study(eager, sampler, f"prune-{sampler}", n=14)
    states = {t.state.name for t in study.trials}
    assert ("PRUNED" in states) is prunes
    assert type(make_pruner(cfg.pruner, sampler=sampler)).__name__ == (
        "WalkForwardMedianPruner" if prunes else "NopPruner")


def test_cmaes_takes_over_after_its_start_up_trials(cfg):
    """n_startup_trials=3 random trials, then CMA-ES: Optuna marks each trial it sampled with
    the optimizer's generation (system attribute ``cma:generation``)."""
    study = _study(cfg, "cmaes", "cma", n=8)
    sampled_by_cma = [any(k.endswith("generation") for k in t.system_attrs)
                      for t in study.trials]
    assert sampled_by_cma == [False] * 3 + [True] * 5


def _dominates(a, b):
    """``a`` dominates ``b``: both objectives maximized (Sharpe, max drawdown <= 0)."""
    return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))


@pytest.mark.parametrize("sampler", ["nsga2", "nsga3"])
def test_nsga_samplers_give_the_pareto_front_of_a_two_objective_study(cfg, sampler):
    from research_lab.core.optimize.report import pareto_front

    spec = objective_spec(["sharpe_ratio", "max_drawdown"])
    assert spec.directions == ("maximize", "maximize")
    study = _study(cfg, sampler, f"pareto-{sampler}", n=12, objective=spec)
    assert study.user_attrs["research_lab.definition"]["sampler"]["type"] == sampler
    done = {t.number: tuple(t.values) for t in study.trials if t.state.name == "COMPLETE"
            and t.user_attrs.get("reused_from") is None}
    assert len(done) >= 6 and all(len(v) == 2 for v in done.values())
    # the front by brute force: the completed points no other completed point dominates
    expected = {n for n, v in done.items()
                if not any(_dominates(w, v) for m, w in done.items() if m != n)}
    front = pareto_front(study, spec.directions)
    assert {row["trial"] for row in front} == expected
    assert 1 <= len(front) < len(done)          # two conflicting objectives, but not all
    firsts = [row["values"][0] for row in front]
    assert firsts == sorted(firsts, reverse=True)  # best Sharpe first


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

