"""Studies at scale: every trial in the trials table, only the top K as child runs."""

from __future__ import annotations

import csv

import pytest

from research_lab.core.optimize import StudyRequest, run_study
from research_lab.core.optimize.config import ConfigError, OptimizeConfig, section_settings
from research_lab.core.optimize.trials_table import top_trials

SPACE = {"strategy": "sma_cross", "params": {"fast": {"type": "int", "low": 3, "high": 30},
                                             "slow": {"type": "int", "low": 10, "high": 120}},
         "constraints": ["fast < slow"]}


class Recorder:
    """A tracker that keeps what it is given."""

    def __init__(self) -> None:
        self.children: list = []
        self.artifacts: dict = {}

    def start_study(self, info) -> None:
        self.info = info

    def log_trials(self, trials) -> None:
        self.children.extend(trials)

    def finish_study(self, metrics, artifacts, tags, failed=False) -> None:
        self.artifacts = dict(artifacts)

    def close(self) -> None:
        pass


def _run(cfg, bars, tmp_path, name, child_runs):
    from research_lab.core.optimize.space import parse_space

    cfg = cfg.override("tracking", child_runs=child_runs) if child_runs is not None else cfg
    tracker = Recorder()
    report = run_study(StudyRequest("sma_cross", "ACME", bars, parse_space(SPACE), name,
                                    n_trials=30, workers=1, config=cfg, seed=5,
                                    output_dir=str(tmp_path / name)), tracker=tracker)
    return report, tracker


def _table(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_top_k_child_runs_are_the_best_trials_and_the_table_has_every_trial(cfg, bars, tmp_path):
    report, tracker = _run(cfg, bars, tmp_path, "scale-k", child_runs=5)
    rows = _table(tracker.artifacts["trials.csv"])
    finished = report.counts["complete"] + report.counts["pruned"] + report.counts["fail"]
    assert len(rows) == finished >= 30
    assert sorted(int(r["trial"]) for r in rows) == list(range(len(rows)))
    assert {"param_fast", "param_slow", "sharpe_ratio", "state", "fold_0"} <= set(rows[0])
    complete = [r for r in rows if r["state"] == "COMPLETE" and not r["reused_from"]]
    best5 = sorted(complete, key=lambda r: (-float(r["sharpe_ratio"]), int(r["trial"])))[:5]
    assert [t.number for t in tracker.children] == [int(r["trial"]) for r in best5]
    assert tracker.children[0].number == report.best_trial
    assert all(t.state == "COMPLETE" for t in tracker.children)


def test_child_runs_null_logs_every_trial_while_the_study_runs(cfg, bars, tmp_path):
    report, tracker = _run(cfg, bars, tmp_path, "scale-all", child_runs=None)
    numbers = sorted(t.number for t in tracker.children)
    assert numbers == list(range(len(numbers))) and len(numbers) >= 30
    assert len(_table(tracker.artifacts["trials.csv"])) == len(numbers)


def test_child_runs_zero_logs_no_child_run_but_the_table(cfg, bars, tmp_path):
    _, tracker = _run(cfg, bars, tmp_path, "scale-zero", child_runs=0)
    assert tracker.children == []
    assert len(_table(tracker.artifacts["trials.csv"])) >= 30


def test_multi_objective_top_trials_rank_the_pareto_front_first():
    import optuna

    study = optuna.create_study(directions=["maximize", "minimize"])
    for values in [(1.0, 5.0), (0.5, 1.0), (0.9, 6.0), (0.2, 0.5), (0.95, 5.5)]:
        study.add_trial(optuna.trial.create_trial(values=list(values)))
    top = top_trials(study.get_trials(), ["maximize", "minimize"], 3)
    # front: (1.0, 5.0), (0.5, 1.0), (0.2, 0.5); (0.95, 5.5) and (0.9, 6.0) are dominated
    assert [t.values for t in top] == [[1.0, 5.0], [0.5, 1.0], [0.2, 0.5]]


@pytest.mark.parametrize("bad", [-1, "all", 2.5])
def test_a_bad_child_runs_value_names_the_key(bad):
    with pytest.raises(ConfigError, match=r"tracking\.child_runs must be null or an integer >= 0"):
        section_settings("tracking", {"child_runs": bad}, "optimize.yaml")
    assert OptimizeConfig().tracking.child_runs is None
