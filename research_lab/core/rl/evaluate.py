"""Evaluation: does the policy beat what a researcher already has, on the same test period?

::

    ev = evaluate_policy("rl/ACME/policy.zip", bars, config=config, market=market)
    ev.comparison["sharpe_delta_vs_buy_and_hold"], ev.comparison["drawdown_compliant"]
    ev.comparison_markdown()          # policy / buy-and-hold / best strategy side by side

Three contenders, each run through the same engine, broker and costs on the same test bars
(:func:`research_lab.core.backtest.api.run_signal`) and reported alike
(:func:`~research_lab.core.backtest.report.report_from_result`):

* the **policy** (:func:`.playback.playback`);
* **buy-and-hold**: long from the first test session's close (filled at the next open);
* the **best strategy**: ``best_strategy=(name, params)`` when given (the use case
  :func:`research_lab.core.usecases.evaluate_policy` always gives one: the newest optimization
  study's best parameters for the symbol if that study's data end by the test start, else
  the training-period fit below, else the strategy's defaults; ``baseline_source`` says
  which); otherwise the best Sharpe of ``evaluation.baseline_grid`` for
  ``evaluation.baseline_strategy`` on the *training* period (a fast sweep,
  :func:`training_period_params`). Its signal is
  computed on the history up to the test end (indicators are causal) and held as target
  positions, so it enters its current position at the start of the test like the others.

The comparison (:attr:`Evaluation.comparison`):

=============================== ===============================================================
sharpe, sharpe_buy_and_hold,    Sharpe ratios of the three runs (metrics' ``sharpe_ratio``)
sharpe_best_strategy
sharpe_delta_vs_buy_and_hold    policy Sharpe minus buy-and-hold's
sharpe_delta_vs_best_strategy   policy Sharpe minus the best strategy's
max_drawdown                    the policy's max drawdown (negative)
max_drawdown_limit              ``evaluation.max_drawdown_limit``
drawdown_compliant              1.0 when ``-max_drawdown <= max_drawdown_limit``, else 0.0
episode_length_mean / _std      steps of ``evaluation.episodes`` deterministic test episodes
                                starting at evenly spaced sessions, ``evaluation.episode_length``
                                decisions each (at most half the test period, so that the
                                starts differ)
episode_completion_min          the shortest episode over its planned length (1.0: none ended
                                early by bankruptcy or ``env.max_drawdown_stop``)
episode_return_std              dispersion of those episodes' returns
=============================== ===============================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research_lab.core.backtest.report import BacktestReport, report_from_result
from research_lab.core.metrics import markdown_table

from .config import RLConfig
from .playback import PlaybackResult, load_policy, playback, policy_config, rollout
from .splits import Splits, bars_until, make_splits, period_env


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The policy's playback, the two baselines, and the comparison numbers."""

    symbol: str
    playback: PlaybackResult
    buy_and_hold: BacktestReport
    best_strategy: BacktestReport
    comparison: dict[str, float]
    episodes: tuple[tuple[int, int, float], ...]  # (offset, steps, return) per episode
    baseline_source: str = ""  # where the best strategy's parameters came from, and why

    def metrics(self) -> dict[str, float]:
        """MLflow metrics: the policy's 50 metrics and the comparison."""
        return {**self.playback.metrics, **self.comparison}

    def comparison_markdown(self) -> str:
        rows = []
        for name, rep in (("rl_policy", self.playback.report),
                          ("buy_and_hold", self.buy_and_hold),
                          (self.best_strategy.title(), self.best_strategy)):
            m = rep.metrics
            rows.append({"run": name, "total_return": m["total_return"],
                         "sharpe_ratio": m["sharpe_ratio"], "max_drawdown": m["max_drawdown"],
                         "num_trades": m["num_trades"], "exposure": m["exposure"]})
        return markdown_table(pd.DataFrame(rows))

    def regime_markdown(self) -> str:
        return markdown_table(self.playback.report.regimes)


def best_sma_params(bars: pd.DataFrame, strategy: str, grid: Any, broker: dict) -> dict[str, Any]:
    """The parameters with the best Sharpe of ``grid`` on ``bars`` (a fast-engine sweep)."""
    from research_lab.core.backtest import sweep

    table = sweep(bars, strategy, {k: list(v) for k, v in grid.items()}, **broker)
    if table.empty:
        raise ValueError(f"evaluation.baseline_grid gives no valid {strategy} combination")
    score = table["sharpe"].replace([np.inf, -np.inf], np.nan).fillna(-1e9).to_numpy()
    row = int(np.argmax(score))  # the first of equal bests, in grid order
    return {k: (v.item() if hasattr(v, "item") else v)
            for k, v in ((k, table[k].iloc[row]) for k in grid)}


def training_period_params(bars: pd.DataFrame, splits: Splits, config: RLConfig) -> dict[str, Any]:
    """``evaluation.baseline_strategy``'s best parameters of ``evaluation.baseline_grid`` fitted
    on the bars of ``splits``' training period only (no validation or test bar is read)."""
    return best_sma_params(bars_until(bars, splits.train[1]), config.evaluation.baseline_strategy,
                           config.evaluation.baseline_grid, config.broker_settings())


def training_period_source(splits: Splits) -> str:
    """How :func:`training_period_params` chose the parameters (a baseline source)."""
    return f"training-period grid ({splits.train[0]}..{splits.train[1]})"


def baseline_runs(bars: pd.DataFrame, splits: Splits, config: RLConfig, test_bars: pd.DataFrame,
                  best_strategy: tuple[str, dict[str, Any]] | None = None):
    """Buy-and-hold and the best strategy on ``test_bars`` (the test period the policy
    traded) with the configuration's broker: two ``BacktestResult``. ``best_strategy=(name,
    params)``, or else :func:`training_period_params`."""
    from research_lab.core.backtest.api import run_signal
    from research_lab.core.backtest.signals import strategy_signal, target_positions

    history = bars_until(bars, splits.test[1])
    sessions = pd.DatetimeIndex(test_bars["session"])
    broker = config.broker_settings()
    bh = run_signal(test_bars, np.ones(len(test_bars)), name="buy_and_hold", **broker)
    if best_strategy is None:
        name = config.evaluation.baseline_strategy
        params = training_period_params(bars, splits, config)
    else:
        name, params = best_strategy
    signal = strategy_signal(history, name, params)
    held = target_positions(signal, config.env.allow_short).set_axis(
        pd.DatetimeIndex(history["session"])).reindex(sessions)
    return bh, run_signal(test_bars, held, name=name, params=params, **broker)


def _episode_stats(model: Any, bars: pd.DataFrame, splits: Splits, config: RLConfig):
    env = period_env(bars, splits, "test", config, random_start=False)
    span = env.last - env.first
    length = min(config.evaluation.episode_length, max(2, span // 2))
    offsets = sorted({int(round(x)) for x in np.linspace(0, span - length,
                                                          config.evaluation.episodes)})
    out = []
    for offset in offsets:
        played = rollout(model, env, options={"offset": offset, "length": length})
        out.append((offset, played.steps, float(played.equity.iloc[-1] / played.equity.iloc[0]
                                                 - 1.0)))
    return out, length


def evaluate_policy(
    policy: Any,
    bars: pd.DataFrame,
    *,
    config: RLConfig | None = None,
    splits: Splits | None = None,
    best_strategy: tuple[str, dict[str, Any]] | None = None,
    benchmark_close: pd.Series | None = None,
    vix_close: pd.Series | None = None,
    market: Any = None,
    baseline_source: str | None = None,
) -> Evaluation:
    """Compare ``policy`` (a model or a saved policy's path) with buy-and-hold and the best
    strategy on the test period of ``bars`` (see the module docstring). ``config``
    defaults to the one the policy was trained with (its ``policy.json``);
    ``baseline_source`` says where ``best_strategy`` came from (default: ``given``)."""
    if config is None:
        if hasattr(policy, "predict"):
            raise ValueError("evaluate_policy: pass config= with a model object (or a path)")
        config = policy_config(policy)
    model = load_policy(policy) if not hasattr(policy, "predict") else policy
    splits = splits or make_splits(bars["session"], config.splits, config.env.window)
    context = dict(benchmark_close=benchmark_close, vix_close=vix_close, market=market)
    played = playback(model, bars, config=config, splits=splits, **context)
    test_bars = bars_until(bars, splits.test[1]).iloc[played.rollout.bars].reset_index(drop=True)
    bh, best = baseline_runs(bars, splits, config, test_bars, best_strategy)

    episodes, length = _episode_stats(model, bars, splits, config)
    steps = np.array([e[1] for e in episodes], dtype=float)
    m = played.metrics
    bh_report = report_from_result(bh, test_bars, **context)
    best_report = report_from_result(best, test_bars, **context)
    limit = config.evaluation.max_drawdown_limit
    comparison = {
        "sharpe": m["sharpe_ratio"],
        "sharpe_buy_and_hold": bh_report.metrics["sharpe_ratio"],
        "sharpe_best_strategy": best_report.metrics["sharpe_ratio"],
        "sharpe_delta_vs_buy_and_hold": m["sharpe_ratio"] - bh_report.metrics["sharpe_ratio"],
        "sharpe_delta_vs_best_strategy": m["sharpe_ratio"] - best_report.metrics["sharpe_ratio"],
        "max_drawdown": m["max_drawdown"],
        "max_drawdown_limit": limit,
        "drawdown_compliant": float(-m["max_drawdown"] <= limit)
        if not math.isnan(m["max_drawdown"]) else 0.0,
        "episode_length_mean": float(steps.mean()),
        "episode_length_std": float(steps.std()),
        "episode_completion_min": float(steps.min() / length),
        "episode_return_std": float(np.std([e[2] for e in episodes])),
    }
    return Evaluation(
        symbol=played.report.symbol, playback=played, buy_and_hold=bh_report,
        best_strategy=best_report, comparison=comparison, episodes=tuple(episodes),
        baseline_source=baseline_source or ("given" if best_strategy is not None
                                            else training_period_source(splits)),
    )


def write_evaluation(ev: Evaluation, folder: str | Path) -> dict[str, Path]:
    """Write the playback's backtest outputs into ``folder/playback/`` (result.json,
    equity.png, trades.csv) and the comparison into ``folder/evaluation.json``, each
    atomically; returns ``{kind: path}``."""
    from research_lab.core.backtest.outputs import write_json, write_outputs
    from research_lab.core.backtest.report import json_safe

    folder = Path(folder)
    paths = write_outputs(ev.playback.report, folder / "playback", tearsheet=False)
    paths["evaluation"] = write_json(folder / "evaluation.json", json_safe({
        "symbol": ev.symbol, "splits": ev.playback.splits.to_dict(),
        "comparison": ev.comparison,
        "best_strategy": {"strategy": ev.best_strategy.result.strategy,
                          "params": ev.best_strategy.result.params,
                          "source": ev.baseline_source},
        "episodes": [{"offset": o, "steps": n, "return": r} for o, n, r in ev.episodes],
        "metrics": ev.playback.metrics,
        "buy_and_hold_metrics": ev.buy_and_hold.metrics,
        "best_strategy_metrics": ev.best_strategy.metrics,
    }))
    return paths
