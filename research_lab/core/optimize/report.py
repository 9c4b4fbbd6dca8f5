"""A study's report: leaderboard, best parameters, out-of-sample check, overfitting figures,
plots; and the close of the tracker's parent run.

:func:`finish_study` turns a finished (or stopped) study into a :class:`StudyReport`:

* counts of trials completed / pruned (infeasible ones among them) / failed / retried;
* the leaderboard: the top 10 completed trials by the objective, with their fold scores;
* best parameters and value (multi-objective: the Pareto front, listed in the report and
  ``pareto.json`` and plotted in ``pareto.png``, and the front's best trial by the first
  metric as "best"); with a minimum number of trades, only feasible trials (Optuna
  constraints) are ranked;
* the held-out period: the best parameters run once on it; IS and OOS values and the
  walk-forward efficiency OOS / IS against the target (0.7);
* the deflated Sharpe ratio of the best trial given the study's real number of trials, and
  the probability of backtest overfitting by CSCV over every tried configuration's in-sample
  returns (recomputed here from the parameters: ~1 ms per trial, so the workers never ship
  return series through the storage); with CPCV folds, PBO over the CPCV splits and the
  deflated Sharpe ratio of each backtest path instead (:func:`.folds.cpcv_overfitting`);
* two PNG plots (matplotlib, Agg): optimization history and parameter importance.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TOP = 10


@dataclass(frozen=True)
class StudyReport:
    study_name: str
    strategy: str
    symbol: str
    storage: str
    metrics: tuple[str, ...]
    directions: tuple[str, ...]
    n_trials: int
    counts: dict[str, int]
    best_trial: int | None
    best_params: dict[str, Any]
    best_value: float | None
    best_values: tuple[float, ...] | None
    leaderboard: list[dict[str, Any]]
    pareto_size: int | None
    plan: str
    oos: Any = None                 # walkforward.OutOfSample
    dsr: Any = None                 # overfitting.DeflatedSharpe
    pbo: Any = None                 # overfitting.PBOResult
    stopped: str = ""
    elapsed_s: float = 0.0
    deadline: str | None = None
    plots: dict[str, str] = field(default_factory=dict)
    retried: tuple[int, ...] = ()
    baselines: Any = None           # baselines.Baselines: default params, buy-and-hold, speed
    pareto: list[dict[str, Any]] | None = None   # multi-objective: the front, best first
    cpcv: Any = None                # folds.CPCVFigures: path-wise DSR (CPCV plans)
    start: str | None = None        # first and last session (ISO) of the study's data (IS +
    end: str | None = None          # OOS): who reuses its best parameters checks look-ahead

    @property
    def complete(self) -> int:
        return self.counts.get("complete", 0)

    @property
    def pruned(self) -> int:
        return self.counts.get("pruned", 0)

    def figures(self) -> dict[str, float]:
        """The summary numbers (MLflow metrics of the parent run, Dagster metadata)."""
        out: dict[str, float] = {
            "trials_completed": self.complete, "trials_pruned": self.pruned,
            "trials_failed": self.counts.get("fail", 0),
            "trials_infeasible": self.counts.get("infeasible", 0),
            "trials_reused": self.counts.get("reused", 0),
        }
        if self.best_value is not None:
            out["best_value"] = self.best_value
        if self.oos is not None:
            out.update(is_value=self.oos.is_value, oos_value=self.oos.oos_value,
                       walk_forward_efficiency=self.oos.efficiency)
        if self.dsr is not None:
            out.update(deflated_sharpe=self.dsr.dsr, dsr_n_trials=self.dsr.n_trials)
        if self.pbo is not None:
            out["pbo"] = self.pbo.pbo
        if self.pareto is not None:
            out["pareto_size"] = len(self.pareto)
        if self.cpcv is not None:
            out.update(cpcv_paths=self.cpcv.n_paths, cpcv_median_path_dsr=self.cpcv.median_dsr)
        if self.baselines is not None:
            out.update(self.baselines.figures())
        return {k: float(v) for k, v in out.items() if v is not None and math.isfinite(float(v))}

    def leaderboard_markdown(self) -> str:
        if not self.leaderboard:
            return "(no completed trial)"
        names = list(self.leaderboard[0]["params"])
        head = ["rank", "trial", *self.metrics, *names, "folds"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in self.leaderboard:
            vals = [f"{v:.4f}" for v in row["values"]]
            params = [str(row["params"].get(n)) for n in names]
            folds = " ".join(f"{f:.2f}" for f in row["folds"])
            lines.append("| " + " | ".join([str(row["rank"]), str(row["trial"]), *vals, *params,
                                            folds]) + " |")
        return "\n".join(lines)

    def summary_lines(self) -> list[str]:
        from research_lab.core.optimize.baselines import figure

        c = self.counts
        lines = [
            f"study {self.study_name}: {self.strategy} on {self.symbol} ({self.plan})",
            f"trials: {c.get('complete', 0)} completed, {c.get('pruned', 0)} pruned, "
            f"{c.get('fail', 0)} failed; {c.get('infeasible', 0)} infeasible and "
            f"{c.get('reused', 0)} repeated point(s) skipped without a backtest"
            + (f" (retried: {list(self.retried)})" if self.retried else "")
            + f"; stopped: {self.stopped}; {self.elapsed_s:.1f} s",
        ]
        if self.best_trial is not None:
            lines.append(f"best {self.metrics[0]} = {figure(self.best_value)} (trial "
                         f"{self.best_trial}) params {self.best_params}")
        if self.pareto_size is not None:
            lines.append(f"Pareto front: {self.pareto_size} trial(s) over {', '.join(self.metrics)}")
            for row in self.pareto or []:
                values = ", ".join(f"{m} {v:.4f}" for m, v in zip(self.metrics, row["values"]))
                lines.append(f"  trial {row['trial']}: {values} params {row['params']}")
        if self.baselines is not None:
            lines.append(self.baselines.summary_line())
        if self.oos is not None:
            verdict = "meets" if self.oos.passed else "misses"
            lines.append(f"IS {self.oos.is_value:.4f} -> OOS {self.oos.oos_value:.4f}: "
                         f"walk-forward efficiency {self.oos.efficiency:.2f} ({verdict} the "
                         f"target {self.oos.target:g})")
        if self.dsr is not None:
            sr, sr0 = self.dsr.annualized()
            lines.append(f"deflated Sharpe {self.dsr.dsr:.3f} (Sharpe {sr:.2f} vs {sr0:.2f} "
                         f"expected from the best of {self.dsr.n_trials} skill-less trials)")
        if self.pbo is not None:
            how = "CPCV" if self.cpcv is not None else "CSCV"
            lines.append(f"probability of backtest overfitting {self.pbo.pbo:.2f} ({how}, "
                         f"{self.pbo.n_splits} groups, {self.pbo.n_combinations} splits, "
                         f"{self.pbo.n_trials} configurations)")
        if self.cpcv is not None:
            dsr = " ".join(f"{d:.2f}" for d in self.cpcv.path_dsr)
            lines.append(f"deflated Sharpe per CPCV path ({self.cpcv.n_paths} paths): {dsr}; "
                         f"median {self.cpcv.median_dsr:.3f}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, (np.floating,)):
                return clean(float(v))
            if isinstance(v, np.integer):
                return int(v)
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v
        out = {k: getattr(self, k) for k in (
            "study_name", "strategy", "symbol", "storage", "metrics", "directions", "n_trials",
            "counts", "best_trial", "best_params", "best_value", "best_values", "leaderboard",
            "pareto_size", "pareto", "plan", "stopped", "elapsed_s", "deadline", "plots",
            "retried", "start", "end")}
        if self.oos is not None:
            out["oos"] = {"is_value": self.oos.is_value, "oos_value": self.oos.oos_value,
                          "efficiency": self.oos.efficiency, "target": self.oos.target,
                          "passed": self.oos.passed, "oos_metrics": self.oos.oos_metrics}
        if self.dsr is not None:
            out["deflated_sharpe"] = {k: getattr(self.dsr, k) for k in (
                "dsr", "sharpe", "sr0", "n_trials", "sr_variance", "n_obs", "skew", "kurtosis")}
        if self.pbo is not None:
            out["pbo"] = {"pbo": self.pbo.pbo, "n_splits": self.pbo.n_splits,
                          "n_combinations": self.pbo.n_combinations, "n_trials": self.pbo.n_trials}
        if self.baselines is not None:
            out["baselines"] = self.baselines.to_dict()
        if self.cpcv is not None:
            out["cpcv"] = self.cpcv.to_dict()
        return clean(out)


def trial_counts(trials: list[Any]) -> dict[str, int]:
    """Trials by state, plus ``infeasible`` and ``reused`` (finished without a backtest) and
    ``done``: the finished trials that spend the study's budget (the others are free)."""
    from research_lab.core.optimize.worker import FREE_ATTRS

    counts = {"complete": 0, "pruned": 0, "fail": 0, "running": 0, "waiting": 0,
              "infeasible": 0, "reused": 0}
    for t in trials:
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
        if t.user_attrs.get("infeasible"):
            counts["infeasible"] += 1
        elif t.user_attrs.get("reused_from") is not None and t.state.is_finished():
            counts["reused"] += 1
    free = sum(1 for t in trials if t.state.name in ("COMPLETE", "PRUNED")
               and any(t.user_attrs.get(a) is not None for a in FREE_ATTRS))
    counts["done"] = counts["complete"] + counts["pruned"] - free
    return counts


def leaderboard(trials: list[Any], directions: tuple[str, ...], top: int = TOP) -> list[dict]:
    """The ``top`` completed configurations by the first objective, best first (a point
    sampled twice shows once, as its first trial)."""
    from optuna.trial import TrialState

    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None
            and feasible(t)]
    sign = -1.0 if directions[0] == "maximize" else 1.0
    done.sort(key=lambda t: (sign * t.values[0], t.number))
    unique, seen = [], set()
    for t in done:  # TPE may sample a discrete point twice: one row per configuration
        key = tuple(sorted((k, str(v)) for k, v in t.params.items()))
        if key not in seen:
            seen.add(key)
            unique.append(t)
    rows = []
    for rank, t in enumerate(unique[:top], start=1):
        iv = t.intermediate_values
        folds = [iv[k] for k in sorted(iv)] if iv else [
            f[0] for f in t.user_attrs.get("fold_scores", [])]
        rows.append({"rank": rank, "trial": t.number, "values": [float(v) for v in t.values],
                     "params": dict(t.params), "folds": [float(f) for f in folds]})
    return rows


def feasible(trial: Any) -> bool:
    """No Optuna constraint of the trial is violated (e.g. it has at least ``min_trades``)."""
    return all(v <= 0 for v in trial.constraints.values())


def pareto_front(study: Any, directions: tuple[str, ...]) -> list[dict[str, Any]]:
    """The Pareto front of a multi-objective study (Optuna's ``best_trials``: feasible,
    non-dominated, completed), best first by the first objective; a repeated point shows
    once (its first trial)."""
    sign = -1.0 if directions[0] == "maximize" else 1.0
    front = sorted((t for t in study.best_trials if t.user_attrs.get("reused_from") is None),
                   key=lambda t: (sign * t.values[0], t.number))
    return [{"trial": t.number, "values": [float(v) for v in t.values],
             "params": dict(t.params)} for t in front]


def write_pareto_plot(study: Any, front: list[dict[str, Any]], metrics: tuple[str, ...],
                      path: Path) -> str:
    """``pareto.png``: every completed trial on the first two objectives, the front marked."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.values and len(t.values) >= 2]
    fig, ax = plt.subplots(figsize=(6.5, 5))
    if done:
        ax.scatter([t.values[0] for t in done], [t.values[1] for t in done], s=10, alpha=0.4,
                   color="grey", label=f"trials ({len(done)})")
    if front:
        pts = sorted((r["values"][0], r["values"][1]) for r in front)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color="C3",
                label=f"Pareto front ({len(front)})")
    ax.set_xlabel(metrics[0])
    ax.set_ylabel(metrics[1] if len(metrics) > 1 else "")
    ax.set_title(f"Pareto front: {study.study_name}")
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def _tried(trials: list[Any]) -> list[Any]:
    from optuna.trial import TrialState

    return [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
            and not t.user_attrs.get("infeasible") and t.params]


def overfitting_figures(trials: list[Any], defn: Any, evaluator_is: Any,
                        best_params: dict[str, Any]) -> tuple[Any, Any]:
    """(DeflatedSharpe, PBOResult) from every tried configuration's in-sample returns."""
    from research_lab.core.optimize.overfitting import (
        deflated_sharpe_ratio, per_bar_sharpe, probability_of_backtest_overfitting,
    )

    tried = _tried(trials)
    if not tried:
        return None, None
    unique: dict[str, dict[str, Any]] = {}
    for t in tried:
        params = defn.space.complete(t.params)
        unique.setdefault(json.dumps(params, sort_keys=True, default=str), params)
    columns = [evaluator_is.returns(p) for p in unique.values()]
    matrix = np.column_stack(columns)
    sharpes = np.array([per_bar_sharpe(c) for c in columns])
    best = evaluator_is.returns(defn.space.complete(best_params))
    dsr = deflated_sharpe_ratio(best, sharpes, n_trials=len(tried))
    pbo = cpcv = None
    if matrix.shape[1] >= 2 and defn.plan.scheme == "cpcv":
        from research_lab.core.optimize.folds import cpcv_overfitting

        cpcv = cpcv_overfitting(matrix, defn.plan, n_trials=len(tried))
        pbo = cpcv.pbo
    elif matrix.shape[1] >= 2 and matrix.shape[0] >= 8:
        pbo = probability_of_backtest_overfitting(matrix, n_splits=16)
    return dsr, pbo, cpcv


def write_plots(study: Any, folder: Path, metric: str) -> dict[str, str]:
    """``optimization_history.png`` and ``param_importances.png`` (matplotlib, not plotly)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import logging

    import matplotlib.pyplot as plt
    from optuna.trial import TrialState

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    maximize = study.directions[0].name == "MAXIMIZE"
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if done:
        xs = [t.number for t in done]
        ys = [t.values[0] for t in done]
        best = np.maximum.accumulate(ys) if maximize else np.minimum.accumulate(ys)
        ax.scatter(xs, ys, s=10, alpha=0.6, label="completed trial")
        ax.step(xs, best, where="post", color="C3", label="best so far")
        pruned = [t.number for t in trials if t.state == TrialState.PRUNED]
        if pruned:
            ax.scatter(pruned, [min(ys)] * len(pruned), marker="|", color="grey", alpha=0.5,
                       label=f"pruned ({len(pruned)})")
        ax.legend(loc="lower right" if maximize else "upper right")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title(f"optimization history: {study.study_name}")
    fig.tight_layout()
    paths["optimization_history.png"] = str(folder / "optimization_history.png")
    fig.savefig(paths["optimization_history.png"], dpi=100)
    plt.close(fig)

    importances = _importances(study)
    fig, ax = plt.subplots(figsize=(6, 0.6 * max(2, len(importances)) + 1.2))
    if importances:
        names = list(importances)[::-1]
        ax.barh(names, [importances[n] for n in names], color="C0")
        ax.set_xlabel("importance (fANOVA)")
    else:
        ax.text(0.5, 0.5, "not enough completed trials", ha="center", va="center")
    ax.set_title("parameter importance")
    fig.tight_layout()
    paths["param_importances.png"] = str(folder / "param_importances.png")
    fig.savefig(paths["param_importances.png"], dpi=100)
    plt.close(fig)
    return paths


def _importances(study: Any) -> dict[str, float]:
    import warnings

    import optuna
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(done) < 2 or len({t.params.get(n) for t in done for n in t.params}) < 2:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(
                study, target=lambda t: t.values[0]))
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}


def finish_study(outcome: Any, bars: Any, *, tracker: Any = None,
                 output_dir: Path | None = None, feeds: Any = ()) -> StudyReport:
    """The report of ``outcome`` (a :class:`~.runner.RunOutcome`); closes the tracker's parent.
    ``feeds``: the bars of a multi-feed study's other symbols (:mod:`.feeds`)."""
    from research_lab.core.optimize.baselines import KPI_ATTR, study_baselines
    from research_lab.core.optimize.feeds import label
    from research_lab.core.optimize.objective import Evaluator
    from research_lab.core.optimize.storage import mask
    from research_lab.core.optimize.walkforward import run_out_of_sample

    study, defn = outcome.study, outcome.definition
    trials = study.get_trials(deepcopy=False)
    counts = trial_counts(trials)
    board = leaderboard(trials, defn.objective.directions)
    best_trial = best_params = best_value = best_values = pareto = front = None
    chosen = None
    if any(t.state.name == "COMPLETE" and feasible(t) for t in trials):
        if defn.objective.multi:
            front = pareto_front(study, defn.objective.directions)
            pareto = len(front)
            if front:
                chosen = next(t for t in trials if t.number == front[0]["trial"])
        else:
            chosen = study.best_trial  # Optuna: the best feasible trial
    if chosen is not None:
        best_trial, best_params = chosen.number, dict(chosen.params)
        best_values = tuple(float(v) for v in chosen.values)
        best_value = best_values[0]
    oos = dsr = pbo = cpcv = None
    evaluator_is = Evaluator(defn.plan.in_sample(bars), defn.strategy, defn.broker,
                             feeds=[defn.plan.in_sample(f) for f in feeds])
    baselines = study_baselines(evaluator_is, defn, best_value, counts["done"],
                                outcome.elapsed_s)
    study.set_user_attr(KPI_ATTR, baselines.to_dict())
    if best_params is not None:
        full = Evaluator(bars, defn.strategy, defn.broker, feeds=feeds)
        oos = run_out_of_sample(full, defn.space.complete(best_params), defn.plan,
                                defn.objective.scorer(), best_value,
                                target=outcome.wfe_target)
        dsr, pbo, cpcv = overfitting_figures(trials, defn, evaluator_is, best_params)
    folder = output_dir or Path(tempfile.mkdtemp(prefix=f"study-{defn.study_name[:40]}-"))
    plots = write_plots(study, folder, defn.objective.primary)
    if front is not None:
        plots["pareto.png"] = write_pareto_plot(study, front, defn.objective.metrics,
                                                folder / "pareto.png")
    report = StudyReport(
        study_name=defn.study_name, strategy=defn.strategy, symbol=label(defn.symbol, defn.feeds),
        storage=mask(outcome.storage_url), metrics=defn.objective.metrics,
        directions=defn.objective.directions, n_trials=defn.n_trials, counts=counts,
        best_trial=best_trial, best_params=best_params or {}, best_value=best_value,
        best_values=best_values, leaderboard=board, pareto_size=pareto,
        plan=defn.plan.describe(), oos=oos, dsr=dsr, pbo=pbo, stopped=outcome.stopped,
        elapsed_s=outcome.elapsed_s,
        deadline=str(outcome.budget.deadline) if outcome.budget is not None else None,
        plots=plots, retried=tuple(outcome.retried), baselines=baselines, pareto=front,
        cpcv=cpcv, start=defn.start, end=defn.end,
    )
    (folder / "leaderboard.md").write_text(report.leaderboard_markdown() + "\n")
    (folder / "report.json").write_text(json.dumps(report.to_dict(), indent=2, default=str))
    if front is not None:
        (folder / "pareto.json").write_text(json.dumps(
            {"metrics": list(defn.objective.metrics),
             "directions": list(defn.objective.directions), "front": front},
            indent=2, default=str))
    from research_lab.core.optimize.trials_table import top_trials, write_trials_table

    table = write_trials_table(trials, defn.objective.metrics, folder)
    if tracker is not None:
        top_k = getattr(outcome, "child_runs", None)
        if top_k is not None:  # a big study: only the K best trials become child runs
            from research_lab.core.optimize.tracking import TrialRecord

            tracker.log_trials([TrialRecord.from_trial(t)
                                for t in top_trials(trials, defn.objective.directions, top_k)])
        artifacts = {f"plots/{k}": v for k, v in plots.items()}
        artifacts["trials.csv"] = str(table)
        artifacts["leaderboard.md"] = str(folder / "leaderboard.md")
        artifacts["report.json"] = str(folder / "report.json")
        if front is not None:
            artifacts["pareto.json"] = str(folder / "pareto.json")
        tags = {"best_params": json.dumps(report.best_params, default=str)[:5000],
                "stopped": report.stopped}
        tracker.finish_study(report.figures(), artifacts, tags, failed=best_trial is None)
    return report
