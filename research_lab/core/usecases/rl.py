"""Use cases of reinforcement learning: train a policy on a stored symbol, evaluate it.

:func:`train_policy`: quality gate -> the symbol's whole stored history -> training under the
guardrails (:func:`research_lab.core.rl.train.train_policy`) -> MLflow.

:func:`evaluate_policy`: the policy's own configuration (its ``policy.json``) -> quality gate
-> history -> benchmark / VIX context of the test period -> playback and the two baselines on
the same test bars and the lab's one broker (:func:`research_lab.core.rl.evaluate.
evaluate_policy`) -> ``evaluation.json`` and the playback's files -> MLflow. The strategy
baseline is, unless the caller names one, the best parameters of the newest optimization
study of ``evaluation.baseline_strategy`` on that symbol (:func:`study_best_params`: the
``report.json`` an ``optimization_study`` run writes under ``$RESEARCH_LAB_HOME/studies/``),
else that strategy's default parameters. Unless ``statistics.enabled`` is off (the policy's
configuration, or the caller's ``statistics`` overrides), it then runs the seed study
(:func:`research_lab.core.rl.seeds.run_seeds`: ``statistics.seeds`` x ``folds`` policies over
walk-forward folds; IQM with bootstrap intervals, probability of beating buy-and-hold and the
best strategy) and writes ``seeds.json`` and ``seeds.png`` next to the policy. A policy whose
training a guardrail cut short (``truncated`` in its ``policy.json``) is refused unless
``allow_truncated``.
"""

from __future__ import annotations

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
    baseline: dict[str, Any]  # strategy, params, source ("study NAME (path)" | "default ...")
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


def study_best_params(home: str | Path, strategy: str, symbol: str) -> tuple[dict, str] | None:
    """The best parameters of the newest study of ``strategy`` on ``symbol`` with a best trial
    (its ``report.json`` under ``home/studies/``) and where they came from, or None."""
    found = []
    for path in Path(home, "studies").glob("*/report.json"):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (doc.get("strategy") == strategy and str(doc.get("symbol", "")).upper() == symbol
                and doc.get("best_params")):
            found.append((path.stat().st_mtime, path, doc))
    if not found:
        return None
    _, path, doc = max(found, key=lambda f: f[0])
    return dict(doc["best_params"]), f"study {doc.get('study_name', path.parent.name)} ({path})"


def choose_baseline(home: str | Path, strategy: str, symbol: str,
                    params: Mapping[str, Any] | None = None,
                    ) -> tuple[str, dict[str, Any], str]:
    """(strategy, resolved parameters, source): the caller's parameters, else the newest
    study's best for ``symbol``, else the strategy's defaults."""
    from research_lab.core.backtest.params import get_space

    space = get_space(strategy)
    if params is not None:
        return strategy, space.resolve(dict(params)), "given"
    found = study_best_params(home, strategy, symbol)
    if found is not None:
        return strategy, space.resolve(found[0]), found[1]
    return strategy, space.resolve({}), "default parameters (no study of this symbol)"


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
    from research_lab.core.rl.evaluate import write_evaluation
    from research_lab.core.rl.playback import policy_config, truncation
    from research_lab.core.rl.splits import make_splits

    symbol = symbol.strip().upper()
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
    require_quality(store, symbol)  # before reading anything else of the symbol's
    config = policy_config(policy)
    if max_drawdown_limit is not None:
        config = config.replace(evaluation={"max_drawdown_limit": max_drawdown_limit})
    if statistics:
        config = config.replace(statistics=dict(statistics))
    name, resolved, origin = choose_baseline(
        home, strategy or config.evaluation.baseline_strategy, symbol, params)
    experiment = tracking.experiment(config.algorithm, RL_FAMILY) if tracking else None
    history = gated_history(store, symbol)
    splits = make_splits(history.bars["session"], config.splits, config.env.window)
    label = f"store {store.url}" if store is not None else "store"
    market = load_market_context(*splits.test, frames=history.frames, source=source,
                                 store_label=label)
    ev = evaluate(policy, history.bars, config=config, splits=splits,
                  best_strategy=(name, resolved), market=market)
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
