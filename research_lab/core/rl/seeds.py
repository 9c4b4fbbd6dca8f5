"""One policy's result over seeds and walk-forward folds, with confidence intervals.

::

    study = run_seeds(bars, config, out_dir="rl/ACME/seeds")   # config.statistics: 5 x 3
    study.summary["iqm"]                          # Interval: IQM of the 15 test Sharpes
    study.summary["baselines"]["best_strategy"]["probability_of_improvement"]
    write_seeds(study, "rl/ACME")                 # seeds.json and seeds.png

A single seed's Sharpe says little: RL results swing with the seed. For each of
``statistics.folds`` expanding walk-forward splits (:func:`.splits.walk_forward`) and each of
``statistics.seeds`` seeds (``seed``, ``seed + 1``, ...), a policy is trained for
``statistics.timesteps`` steps on the fold's training period (early stopping on its
validation period, the configuration's guardrails) and played deterministically over the
fold's test period. Its score is ``statistics.metric`` (the Sharpe ratio by default,
:mod:`research_lab.core.backtest.fastmetrics`; NaN, i.e. never holding a position, counts 0)
of that test period's equity, which is the backtest engine's own (the environment runs the
engine's broker loop).

On each fold's same test bars and broker, two deterministic baselines are scored alike:
buy-and-hold, and ``evaluation.baseline_strategy`` with the best Sharpe of
``evaluation.baseline_grid`` on *that fold's training period* (no look-ahead into the test).
The statistics (:mod:`.statistics`): the interquartile mean of the seeds x folds scores with
a stratified percentile-bootstrap interval, and the probability that the policy beats each
baseline, with its interval.

Same bars, configuration and seeds give the same study, run after run (training is seeded
and deterministic, playback draws nothing, the bootstrap is seeded by
``statistics.bootstrap_seed``), unless a wall-clock or memory guardrail cuts a run short.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import RLConfig
from .splits import Splits, bars_until, period_env, walk_forward

BASELINES = ("buy_and_hold", "best_strategy")
SEEDS_JSON, SEEDS_PLOT = "seeds.json", "seeds.png"


@dataclass(frozen=True)
class SeedRun:
    """One policy: its seed and fold, how its training ended, and its test-period score."""

    seed: int
    fold: int
    score: float
    stop_reason: str
    truncated: bool
    timesteps: int
    seconds: float
    policy_path: str


@dataclass(frozen=True, eq=False)
class SeedStudy:
    """Every seed x fold run, the baselines' scores per fold, and the statistics."""

    symbol: str
    metric: str
    seeds: tuple[int, ...]
    folds: tuple[Splits, ...]
    runs: tuple[SeedRun, ...]
    baselines: dict[str, list[float]]               # name -> score per fold
    best_params: tuple[dict[str, Any], ...]          # the best strategy's parameters per fold
    summary: dict[str, Any]
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)  # config.statistics

    def scores(self) -> np.ndarray:
        """The policy's scores, ``(seeds, folds)``."""
        out = np.empty((len(self.seeds), len(self.folds)))
        for r in self.runs:
            out[self.seeds.index(r.seed), r.fold] = r.score
        return out

    @property
    def truncated_runs(self) -> int:
        return sum(r.truncated for r in self.runs)

    def metrics(self) -> dict[str, float]:
        """MLflow metrics ``seeds.*``: the IQM and its interval, each baseline's IQM and the
        probability of improvement over it with its interval, the counts, the time."""
        iqm = self.summary["iqm"]
        out = {"seeds.iqm": iqm.point, "seeds.iqm_low": iqm.low, "seeds.iqm_high": iqm.high,
               "seeds.n_seeds": float(len(self.seeds)), "seeds.n_folds": float(len(self.folds)),
               "seeds.truncated_runs": float(self.truncated_runs), "seeds.seconds": self.seconds}
        for name, b in self.summary["baselines"].items():
            poi = b["probability_of_improvement"]
            out[f"seeds.iqm_{name}"] = b["iqm"]
            out[f"seeds.p_beats_{name}"] = poi.point
            out[f"seeds.p_beats_{name}_low"] = poi.low
            out[f"seeds.p_beats_{name}_high"] = poi.high
        return out

    def headline(self) -> str:
        """One line: IQM with its interval and the probability of beating the best strategy."""
        size = self.settings.get("confidence", 0.95)
        best = self.summary["baselines"]["best_strategy"]
        bh = self.summary["baselines"]["buy_and_hold"]
        return (f"{len(self.seeds)} seeds x {len(self.folds)} folds: IQM {self.metric} "
                f"{self.summary['iqm']} ({size:.0%} CI); best strategy IQM {best['iqm']:.3f}, "
                f"P(policy beats it) {best['probability_of_improvement']}; buy-and-hold IQM "
                f"{bh['iqm']:.3f}, P(beats it) {bh['probability_of_improvement']}")

    def to_dict(self) -> dict[str, Any]:
        s = self.summary
        return {
            "symbol": self.symbol, "metric": self.metric, "settings": self.settings,
            "seeds": list(self.seeds), "seconds": self.seconds,
            "folds": [f.to_dict() for f in self.folds],
            "runs": [r.__dict__ for r in self.runs],
            "scores": self.scores().tolist(),
            "baselines": {name: {"scores": scores, **({"params": list(self.best_params)}
                                                       if name == "best_strategy" else {}),
                                 "iqm": s["baselines"][name]["iqm"],
                                 "probability_of_improvement":
                                     s["baselines"][name]["probability_of_improvement"].to_dict()}
                          for name, scores in self.baselines.items()},
            "iqm": s["iqm"].to_dict(),
            "truncated_runs": self.truncated_runs,
        }


def score(equity: Any, cash: float, metric: str) -> float:
    """The score of a test-period equity curve: Sharpe (NaN counts 0) or total return."""
    from research_lab.core.backtest import fastmetrics

    from .statistics import clean_score

    values = np.asarray(equity, dtype=np.float64)
    if metric == "total_return":
        return fastmetrics.total_return(values, cash)
    return clean_score(fastmetrics.sharpe(fastmetrics.returns_from_equity(values, cash)))


def fold_config(config: RLConfig, fold: Splits, seed: int) -> RLConfig:
    """The training configuration of one seed on one fold: explicit split dates, the
    statistics' timesteps."""
    return config.replace(seed=seed, timesteps=config.statistics.timesteps,
                          splits={"train_end": fold.train[1],
                                  "validation_end": fold.validation[1]})


def run_seeds(
    bars: pd.DataFrame,
    config: RLConfig,
    *,
    out_dir: str | Path,
    symbol: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> SeedStudy:
    """Train and score ``config.statistics.seeds`` x ``folds`` policies on ``bars`` (one
    symbol's history); their policies go to ``out_dir/fold<k>_seed<s>/``."""
    from .playback import load_policy, rollout
    from .statistics import summarize
    from .train import train_policy

    st = config.statistics
    started = time.perf_counter()
    symbol = symbol or (str(bars["symbol"].iloc[0]) if "symbol" in bars.columns else "?")
    folds = walk_forward(bars["session"], config.splits, st.folds, config.env.window)
    seeds = tuple(config.seed + i for i in range(st.seeds))
    cash = float(config.broker["cash"])
    runs: list[SeedRun] = []
    baselines: dict[str, list[float]] = {name: [] for name in BASELINES}
    best_params: list[dict[str, Any]] = []
    total, done = len(folds) * len(seeds), 0
    for k, fold in enumerate(folds):
        history = bars_until(bars, fold.test[1])
        test_bars = None
        for seed in seeds:
            cfg = fold_config(config, fold, seed)
            t0 = time.perf_counter()
            trained = train_policy(history, cfg, out_dir=Path(out_dir) / f"fold{k}_seed{seed}",
                                   symbol=symbol)
            env = period_env(history, fold, "test", cfg, random_start=False)
            played = rollout(load_policy(trained.policy_path, cfg.algorithm), env)
            if test_bars is None:
                test_bars = history.iloc[played.bars].reset_index(drop=True)
            runs.append(SeedRun(seed, k, score(played.equity, cash, st.metric),
                                trained.stop_reason, trained.truncated, trained.timesteps,
                                time.perf_counter() - t0, trained.policy_path))
            done += 1
            if progress is not None:
                progress(done, total, f"fold {k} seed {seed}: {st.metric} {runs[-1].score:+.3f}")
        bh, best = _baselines(history, fold, config, test_bars)
        baselines["buy_and_hold"].append(score(bh.equity, cash, st.metric))
        baselines["best_strategy"].append(score(best.equity, cash, st.metric))
        best_params.append(dict(best.params))
    scores = np.empty((len(seeds), len(folds)))
    for r in runs:
        scores[seeds.index(r.seed), r.fold] = r.score
    summary = summarize(scores, {n: np.array(v)[None, :] for n, v in baselines.items()},
                        reps=st.bootstrap_reps, size=st.confidence, seed=st.bootstrap_seed)
    return SeedStudy(symbol=symbol, metric=st.metric, seeds=seeds, folds=tuple(folds),
                     runs=tuple(runs), baselines=baselines, best_params=tuple(best_params),
                     summary=summary, seconds=time.perf_counter() - started,
                     settings=st.model_dump())


def _baselines(history: pd.DataFrame, fold: Splits, config: RLConfig, test_bars: pd.DataFrame):
    from .evaluate import baseline_runs

    return baseline_runs(history, fold, config, test_bars)


def write_seeds(study: SeedStudy, folder: str | Path) -> dict[str, Path]:
    """``folder/seeds.json`` (every run, the baselines, the statistics) and
    ``folder/seeds.png`` (each run's score by fold, the baselines, the IQM and its interval),
    each written atomically."""
    import os

    from research_lab.core.backtest.outputs import write_json
    from research_lab.core.backtest.report import json_safe

    folder = Path(folder)
    paths = {"seeds": write_json(folder / SEEDS_JSON, json_safe(study.to_dict()))}
    final = folder / SEEDS_PLOT
    tmp = folder / f".{SEEDS_PLOT}.tmp.png"
    try:
        _plot(study, tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    paths["seeds_plot"] = final
    return paths


def _plot(study: SeedStudy, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = study.scores()
    n_folds = len(study.folds)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), width_ratios=[max(n_folds, 2), 2])
    try:
        jitter = np.linspace(-0.15, 0.15, len(study.seeds)) if len(study.seeds) > 1 else [0.0]
        for i, seed in enumerate(study.seeds):
            left.scatter(np.arange(n_folds) + jitter[i], scores[i], s=28, label=f"seed {seed}")
        styles = {"buy_and_hold": ("#7f8c8d", "--"), "best_strategy": ("#c0392b", ":")}
        for name, values in study.baselines.items():
            color, ls = styles.get(name, ("black", "-"))
            for k, v in enumerate(values):
                left.hlines(v, k - 0.3, k + 0.3, colors=color, linestyles=ls,
                            label=name.replace("_", " ") if k == 0 else None)
        left.set_xticks(np.arange(n_folds),
                        [f"fold {k}\n{f.test[0]}..{f.test[1]}" for k, f in enumerate(study.folds)],
                        fontsize=8)
        left.set_ylabel(f"test-period {study.metric}")
        left.axhline(0, color="black", linewidth=0.5)
        left.grid(True, axis="y", alpha=0.3)
        left.legend(fontsize=7, frameon=False, ncol=2)
        left.set_title(f"{study.symbol}: {len(study.seeds)} seeds x {n_folds} folds", loc="left",
                       fontsize=10)
        iqm = study.summary["iqm"]
        names = ["policy", *study.baselines]
        points = [iqm.point, *(study.summary["baselines"][n]["iqm"] for n in study.baselines)]
        right.errorbar([0], [iqm.point], yerr=[[iqm.point - iqm.low], [iqm.high - iqm.point]],
                       fmt="o", color="#2c3e50", capsize=6)
        right.scatter(range(1, len(names)), points[1:], color="#c0392b", marker="s")
        right.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=8)
        right.set_xlim(-0.5, len(names) - 0.5)
        size = study.settings.get("confidence", 0.95)
        right.set_title(f"IQM, {size:.0%} bootstrap CI", loc="left", fontsize=10)
        right.grid(True, axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out, format="png", dpi=100)
    finally:
        plt.close(fig)
