"""Use cases of reinforcement learning: train a policy on a stored symbol, evaluate it.

:func:`train_policy`: quality gate -> the symbol's whole stored history -> training under the
guardrails (:func:`research_lab.core.rl.train.train_policy`) -> MLflow.

:func:`evaluate_policy`: the policy's own configuration (its ``policy.json``) -> quality gate
-> history -> benchmark / VIX context of the test period -> playback and the two baselines on
the same test bars and the lab's one broker (:func:`research_lab.core.rl.evaluate.
evaluate_policy`) -> ``evaluation.json`` and the playback's files -> MLflow. The strategy
baseline is, unless the caller names one, the best parameters of the newest optimization
study of ``evaluation.baseline_strategy`` on that symbol whose data end on or before the
policy's test start (:func:`choose_baseline`: the ``report.json`` an ``optimization_study``
run writes under ``$RESEARCH_LAB_HOME/studies/``, with its data's ``end``). A study that
reaches into the test period has seen it, so it is never used: with such studies only, the
baseline is fitted on the policy's training period instead, like the seed study's
(:func:`research_lab.core.rl.evaluate.training_period_params`); with no study at all, it is
the strategy's default parameters. The baseline's source says which, and why. Unless
``statistics.enabled`` is off (the policy's configuration, or the caller's ``statistics``
overrides), it then runs the seed study
(:func:`research_lab.core.rl.seeds.run_seeds`: ``statistics.seeds`` x ``folds`` policies over
walk-forward folds; IQM with bootstrap intervals, probability of beating buy-and-hold and the
best strategy) and writes ``seeds.json`` and ``seeds.png`` next to the policy. A policy whose
training a guardrail cut short (``truncated`` in its ``policy.json``) is refused unless
``allow_truncated``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .history import gated_history, require_quality
from .tracking import Tracked, Tracking, finish

RL_FAMILY = "ReinforcementLearning"


@dataclass(frozen=True, eq=False)
class TrainingRun:
    result: Any  # core.rl.train.TrainingResult
    bars: int
    tracked: Tracked | None = None


@dataclass(frozen=True, eq=False)
class EvaluationRun:
    evaluation: Any  # core.rl.evaluate.Evaluation
    config: Any  # RLConfig the policy was trained with (+ the caller's limit)
    splits: Any
    baseline: dict[str, Any]  # strategy, params, source (choose_baseline: which and why)
    files: dict[str, Path]
    tracked: Tracked | None = None
    seeds: Any = None  # core.rl.seeds.SeedStudy, None when statistics are off
    truncated: str | None = None  # why the policy's training was cut short (allowed)

    def kpis(self) -> dict[str, float]:
        """The policy's Sharpe ratio and its deltas against buy-and-hold and the baseline."""
        c = self.evaluation.comparison
        return {k: float(c[k]) for k in ("sharpe", "sharpe_buy_and_hold", "sharpe_best_strategy",
                                         "sharpe_delta_vs_buy_and_hold",
                                         "sharpe_delta_vs_best_strategy")}

    def kpi_markdown(self) -> str:
        """The policy's Sharpe deltas as a markdown table (CLI output, asset metadata)."""
        k, b = self.kpis(), self.baseline
        return "\n".join([
            "| compared with | its Sharpe | policy Sharpe delta |", "|---|---|---|",
            f"| buy-and-hold | {k['sharpe_buy_and_hold']:.3f} | "
            f"{k['sharpe_delta_vs_buy_and_hold']:+.3f} |",
            f"| {b['strategy']} {b['params']} ({b['source']}) | "
            f"{k['sharpe_best_strategy']:.3f} | {k['sharpe_delta_vs_best_strategy']:+.3f} |",
        ])


def train_policy(
    store: Any,
    symbol: str,
    config: Any,
    *,
    out_dir: str | Path,
    progress: Callable[[int, int], None] | None = None,
    tracking: Tracking | None = None,
) -> TrainingRun:
    """Train ``config`` (an ``RLConfig``) on ``symbol``'s stored history into ``out_dir``."""
    from research_lab.core.rl.train import train_policy as train

    experiment = tracking.experiment(config.algorithm, RL_FAMILY) if tracking else None
    history = gated_history(store, symbol)
    out = train(history.bars, config, out_dir=out_dir, symbol=history.symbol, progress=progress)
    tracked = None
    if tracking is not None:
        ticket = tracking.client().log_run(
            experiment, f"{history.symbol} {out.algorithm} training", out.params(),
            out.metrics(), out.tags(),
            {"policy": out.policy_path, "policy.json": str(Path(out_dir) / "policy.json")},
            kind="policy", lineage=tracking.lineage_of(out.data_version, config.seed),
        )
        tracked = finish(ticket, experiment)
    return TrainingRun(out, len(history.bars), tracked)


def symbol_studies(home: str | Path, strategy: str, symbol: str) -> list[tuple[Path, dict]]:
    """The studies of ``strategy`` on ``symbol`` with a best trial (their ``report.json``
    under ``home/studies/``, read), newest first."""
    found = []
    for path in Path(home, "studies").glob("*/report.json"):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (doc.get("strategy") == strategy and str(doc.get("symbol", "")).upper() == symbol
                and doc.get("best_params")):
            found.append((path.stat().st_mtime, path, doc))
    return [(path, doc) for _, path, doc in sorted(found, key=lambda f: f[0], reverse=True)]


def study_end(doc: Mapping[str, Any]) -> dt.date | None:
    """The last session of a study's data (``end`` in its report), None if it records none."""
    try:
        return dt.date.fromisoformat(str(doc["end"])[:10])
    except (KeyError, TypeError, ValueError):
        return None


def choose_baseline(home: str | Path, strategy: str, symbol: str,
                    params: Mapping[str, Any] | None = None, *, test_start: dt.date,
                    fit: Callable[[], tuple[dict[str, Any], str]] | None = None,
                    ) -> tuple[str, dict[str, Any], str]:
    """(strategy, resolved parameters, source) of the strategy baseline of a test period
    starting ``test_start``: the caller's parameters; else the best of the newest study of
    ``strategy`` on ``symbol`` whose data end on or before ``test_start`` (the day of the
    first decision, whose close every contender sees; the test's returns come after it);
    else, when studies exist but each reaches into the test or records no end, ``fit()``
    (parameters and how they were fitted: the training-period grid), or the defaults
    without ``fit``; else, with no study, the strategy's defaults."""
    from research_lab.core.backtest.params import get_space

    space = get_space(strategy)
    if params is not None:
        return strategy, space.resolve(dict(params)), "given"
    studies = symbol_studies(home, strategy, symbol)
    for path, doc in studies:
        end = study_end(doc)
        if end is not None and end <= test_start:
            return strategy, space.resolve(dict(doc["best_params"])), (
                f"study {doc.get('study_name', path.parent.name)} (ends {end}, on or before "
                f"the test start {test_start}; {path})")
    if not studies:
        return strategy, space.resolve({}), "default parameters (no study of this symbol)"
    path, doc = studies[0]
    name, end = doc.get("study_name", path.parent.name), study_end(doc)
    why = (f"study {name} ends {end}, after the test start {test_start}: it saw the test period"
           if end is not None else f"study {name} records no data end (a report.json older "
           "than the check): its window is unknown")
    if fit is None:
        return strategy, space.resolve({}), f"default parameters ({why})"
    fitted, how = fit()
    return strategy, space.resolve(fitted), f"{how} ({why})"


def evaluate_policy(
    store: Any,
    symbol: str,
    *,
    policy: str | Path,
    home: str | Path,
    strategy: str | None = None,
    params: Mapping[str, Any] | None = None,
    max_drawdown_limit: float | None = None,
    statistics: Mapping[str, Any] | None = None,
    allow_truncated: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    source: Callable[[], Any] | None = None,
    tracking: Tracking | None = None,
) -> EvaluationRun:
    """Evaluate the policy at ``policy`` on ``symbol`` (module docstring); ``strategy`` /
    ``params`` name the baseline strategy instead of the study's best or the defaults;
    ``statistics`` overrides fields of the policy's ``statistics`` section (``enabled``,
    ``seeds``, ``folds``, ``timesteps``, ...); ``progress(done, total, line)`` follows the
    seed study."""
    from research_lab.core.backtest.market_context import load_market_context
    from research_lab.core.rl.evaluate import evaluate_policy as evaluate
    from research_lab.core.rl.evaluate import (training_period_params, training_period_source,
                                               write_evaluation)
    from research_lab.core.rl.playback import policy_config, truncation
    from research_lab.core.rl.splits import make_splits

    symbol = symbol.strip().upper()
    require_quality(store, symbol)  # the gate first, as every use case: before the policy
    policy = Path(policy)
    if not policy.exists():
        raise ValueError(f"no policy for {symbol} at {policy}: train one first "
                         f"(`research-lab rl train {symbol}` or materialize rl_policy)")
    if params is not None and strategy is None:
        raise ValueError("baseline parameters need a baseline strategy")
    cut_short = truncation(policy)
    if cut_short and not allow_truncated:
        raise ValueError(f"policy {policy} is truncated (training stopped by a guardrail, "
                         f"{cut_short}); train it again within the guardrails, or evaluate it "
                         "anyway with --allow-truncated (launchpad allow_truncated)")
    config = policy_config(policy)
    if max_drawdown_limit is not None:
        config = config.replace(evaluation={"max_drawdown_limit": max_drawdown_limit})
    if statistics:
        config = config.replace(statistics=dict(statistics))
    history = gated_history(store, symbol)
    splits = make_splits(history.bars["session"], config.splits, config.env.window)
    name = strategy or config.evaluation.baseline_strategy

    def fit() -> tuple[dict[str, Any], str]:  # what the seed study does in each fold
        return (training_period_params(history.bars, splits, config),
                training_period_source(splits))

    name, resolved, origin = choose_baseline(  # evaluation.baseline_grid is only for its strategy
        home, name, symbol, params, test_start=splits.test[0],
        fit=fit if name == config.evaluation.baseline_strategy else None)
    experiment = tracking.experiment(config.algorithm, RL_FAMILY) if tracking else None
    label = f"store {store.url}" if store is not None else "store"
    market = load_market_context(*splits.test, frames=history.frames, source=source,
                                 store_label=label)
    ev = evaluate(policy, history.bars, config=config, splits=splits,
                  best_strategy=(name, resolved), market=market, baseline_source=origin)
    files = write_evaluation(ev, policy.parent)
    study = None
    if config.statistics.enabled:
        from research_lab.core.rl.seeds import run_seeds, write_seeds

        study = run_seeds(history.bars, config, out_dir=policy.parent / "seeds", symbol=symbol,
                          progress=progress)
        files.update(write_seeds(study, policy.parent))
    baseline = {"strategy": name, "params": resolved, "source": origin}
    tracked = None
    if tracking is not None:
        metrics = {**ev.metrics(), **(study.metrics() if study is not None else {})}
        artifacts = {"evaluation": str(files["evaluation"]), "policy": str(policy)}
        if study is not None:
            artifacts.update({"seeds.json": str(files["seeds"]),
                              "seeds.png": str(files["seeds_plot"])})
        ticket = tracking.client().log_run(
            experiment, f"{symbol} {config.algorithm} evaluation",
            {**config.flat_params(), "symbol": symbol,
             "test": f"{splits.test[0]}..{splits.test[1]}",
             "baseline.strategy": name, **{f"baseline.{k}": v for k, v in resolved.items()}},
            metrics,
            {"symbol": symbol, "rl.algorithm": config.algorithm, "rl.stage": "evaluation",
             "rl.baseline_source": origin[:250], "rl.truncated": str(bool(cut_short)).lower()},
            artifacts,
            kind="policy",
            lineage=tracking.lineage_of(ev.playback.report.lineage.get("data_version"),
                                        config.seed),
        )
        tracked = finish(ticket, experiment)
    return EvaluationRun(ev, config, splits, baseline, files, tracked, study, cut_short)
