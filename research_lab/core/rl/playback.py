"""Deterministic playback: a trained policy's positions, run through the backtest engine.

::

    result = playback("rl/ACME/policy.zip", bars, config=config, market=market)
    result.report.metrics["sharpe_ratio"]     # the same 50 metrics as every backtest
    result.report.regimes                     # the same regime table
    result.positions                          # the direction held after each test session

The policy acts with ``deterministic=True`` (no sampling) on the test period's
:class:`~.env.TradingEnv`, from its first session to its last. The directions it chose are a
signal like any strategy's (:mod:`research_lab.core.backtest.signals`), and they are run
through the fast engine by :func:`research_lab.core.backtest.api.run_signal` on the test
bars, with the configured broker: the resulting
:class:`~research_lab.core.backtest.report.BacktestReport` is built exactly like a strategy's
(:func:`~research_lab.core.backtest.report.report_from_result`). The environment's own equity
curve must equal the engine's to the bit; a difference raises (it would be a bug).

Same policy file + same bars + same configuration = the same numbers, in any process: nothing
here draws a random number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from research_lab.core.backtest.report import BacktestReport, report_from_result

from .config import RLConfig
from .splits import Splits, bars_until, make_splits, period_env

SIDECAR = "policy.json"


@dataclass(frozen=True, eq=False)
class Rollout:
    """One deterministic episode: the direction chosen at each bar (NaN at the last), the
    account value at each close, the number of steps, and whether it ended early."""

    signal: pd.Series
    equity: pd.Series
    steps: int
    terminated: bool
    bars: slice


def rollout(model: Any, env: Any, options: dict | None = None) -> Rollout:
    """Run ``model`` (anything with SB3's ``predict``) deterministically for one episode."""
    obs, _ = env.reset(options=options)
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        action, _ = model.predict(obs, deterministic=True)
        obs, _, terminated, truncated, _ = env.step(action)
        steps += 1
    return Rollout(env.episode_signal(), env.episode_equity(), steps, bool(terminated),
                   env.episode_bars())


def algorithm_class(name: str):
    """The Stable-Baselines3 class of ``PPO``, ``A2C`` or ``DQN``."""
    import stable_baselines3 as sb3

    from .config import ALGORITHMS

    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; valid: {', '.join(ALGORITHMS)}")
    return getattr(sb3, name)


def read_sidecar(policy_path: str | Path) -> dict[str, Any]:
    """The ``policy.json`` written next to a policy by training (algorithm, config, splits)."""
    path = Path(policy_path).with_name(SIDECAR)
    if not path.exists():
        raise ValueError(f"{path} is missing: was {policy_path} written by train_policy?")
    return json.loads(path.read_text())


def truncation(policy_path: str | Path) -> str | None:
    """Why the saved policy's training was cut short by a guardrail (its ``policy.json``:
    ``stop_reason`` and ``stop_detail``), or None when it ran as asked."""
    from .train import TRUNCATING

    doc = read_sidecar(policy_path)
    reason = doc.get("stop_reason")
    if doc.get("truncated") or reason in TRUNCATING:
        return f"{reason}: {doc.get('stop_detail', '')}".rstrip(": ")
    return None


def policy_config(policy_path: str | Path) -> RLConfig:
    """The configuration a saved policy was trained with (from its ``policy.json``)."""
    from .config import rl_config_from_dict

    return rl_config_from_dict(read_sidecar(policy_path)["config"],
                               str(Path(policy_path).with_name(SIDECAR)))


def load_policy(policy_path: str | Path, algorithm: str | None = None):
    """The SB3 model saved at ``policy_path`` (algorithm from its ``policy.json``)."""
    path = Path(policy_path)
    if not path.exists():
        raise ValueError(f"no policy at {path}: train one first (research-lab rl train)")
    algorithm = algorithm or read_sidecar(path)["algorithm"]
    return algorithm_class(algorithm).load(str(path), device="cpu")


@dataclass(frozen=True, eq=False)
class PlaybackResult:
    """The policy's test-period signal and positions, and its backtest report."""

    signal: pd.Series
    positions: pd.Series
    report: BacktestReport
    rollout: Rollout
    splits: Splits

    @property
    def metrics(self) -> dict[str, float]:
        return self.report.metrics


def playback(
    policy: Any,
    bars: pd.DataFrame,
    *,
    config: RLConfig | None = None,
    splits: Splits | None = None,
    period: str = "test",
    benchmark_close: pd.Series | None = None,
    vix_close: pd.Series | None = None,
    market: Any = None,
) -> PlaybackResult:
    """Play ``policy`` (a model or the path of a saved one) over ``period`` of ``bars``.

    ``config`` defaults to the one the policy was trained with (its ``policy.json``);
    ``splits`` to those the configuration gives on ``bars``. The market series feed the
    benchmark metrics and the regime table as in
    :func:`~research_lab.core.backtest.report.report_from_result`.
    """
    from research_lab.core.backtest.api import run_signal
    from research_lab.core.backtest.signals import target_positions

    if config is None:
        if not isinstance(policy, (str, Path)):
            raise ValueError("playback: pass config= with a model object (or a policy path)")
        config = policy_config(policy)
    model = load_policy(policy) if isinstance(policy, (str, Path)) else policy
    splits = splits or make_splits(bars["session"], config.splits, config.env.window)
    env = period_env(bars, splits, period, config, random_start=False)
    played = rollout(model, env)
    period_bars = bars_until(bars, getattr(splits, period)[1]).iloc[played.bars]
    period_bars = period_bars.reset_index(drop=True)
    result = run_signal(
        period_bars, played.signal, name="rl_policy",
        params={"algorithm": getattr(model, "__class__", type(model)).__name__},
        **config.broker_settings(),
    )
    if not np.array_equal(result.equity.to_numpy(), played.equity.to_numpy()):
        raise RuntimeError("playback: the environment's equity differs from the engine's")
    report = report_from_result(result, period_bars, benchmark_close=benchmark_close,
                                vix_close=vix_close, market=market)
    positions = target_positions(played.signal, config.env.allow_short).rename("position")
    return PlaybackResult(played.signal, positions, report, played, splits)
