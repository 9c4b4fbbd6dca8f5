"""Reinforcement learning: a trading environment, guarded training, deterministic playback.

Quick start::

    from research_lab.core.rl import load_rl_config, train_policy, evaluate_policy

    config = load_rl_config(timesteps=20_000)                 # config/rl.yaml + overrides
    trained = train_policy(bars, config, out_dir="rl/ACME")   # PPO by default
    trained.policy_path, trained.stop_reason, trained.validation_score
    ev = evaluate_policy(trained.policy_path, bars, config=config, market=market)
    ev.playback.metrics["sharpe_ratio"], ev.comparison["sharpe_delta_vs_buy_and_hold"]

``bars`` is one symbol's whole history (the store's bar schema); the configuration splits it
by date into training, validation and test periods that never overlap.

How the pieces fit
    * :mod:`.config` reads ``config/rl.yaml`` (typed pydantic models): algorithm and
      hyperparameters, environment, splits, early stopping, checkpoints, guardrails,
      evaluation limits; the broker is the lab's one broker (``config/research_lab.yaml``).
    * :mod:`.features` computes the market part of the observation from past bars only.
    * :mod:`.env` is the gymnasium :class:`~.env.TradingEnv`. Its fills and costs are the
      backtest engine's own compiled broker loop, so an action sequence gives the equity
      curve ``run_signal`` gives, to the bit.
    * :mod:`.splits` makes the date splits and the environment of each period.
    * :mod:`.train` trains PPO / A2C / DQN (Stable-Baselines3) under guardrails (timesteps,
      wall clock, torch threads, memory, seed) with early stopping on validation and
      checkpoints (:mod:`.callbacks`).
    * :mod:`.playback` runs the policy deterministically on the test period and backtests
      its positions through the fast engine: the same 50 metrics and regime table as every
      strategy (:class:`~research_lab.core.backtest.report.BacktestReport`).
    * :mod:`.evaluate` compares it with buy-and-hold and the best strategy on the same bars.
    * :mod:`.seeds` trains and scores ``statistics.seeds`` x ``folds`` policies over
      walk-forward folds (:func:`.splits.walk_forward`); :mod:`.statistics` gives their
      interquartile mean with bootstrap confidence intervals and the probability of beating
      each baseline (rliable's conventions).

Importing this package is light (the standard library and PyYAML); numpy, pandas, gymnasium,
torch and Stable-Baselines3 load when a function that needs them runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import RLConfig, RLConfigError, load_rl_config

_LAZY = {
    "TradingEnv": ".env",
    "compute_features": ".features",
    "Splits": ".splits",
    "make_splits": ".splits",
    "period_env": ".splits",
    "TrainingResult": ".train",
    "train_policy": ".train",
    "PlaybackResult": ".playback",
    "load_policy": ".playback",
    "playback": ".playback",
    "Evaluation": ".evaluate",
    "evaluate_policy": ".evaluate",
    "walk_forward": ".splits",
    "SeedStudy": ".seeds",
    "run_seeds": ".seeds",
    "write_seeds": ".seeds",
}

__all__ = ["RLConfig", "RLConfigError", "load_rl_config", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
