"""Training with guardrails: PPO (default), A2C or DQN on the training period.

::

    config = load_rl_config(timesteps=20_000)
    result = train_policy(bars, config, out_dir="~/.research_lab/rl/ACME", symbol="ACME")
    result.policy_path, result.stop_reason, result.validation_score
    result.params(), result.metrics(), result.tags()      # what the tracker logs

What happens, in order:

1. **Splits** by date (:mod:`.splits`): the training environment sees only bars up to the
   end of the training period; episodes start at random sessions (``env.episode_length``).
2. **Guardrails** (:func:`guardrails`): ``torch.set_num_threads(torch_threads)`` (1 by default:
   more threads on a busy 2-core machine made training ~20x slower), deterministic torch
   algorithms, and the seed (``set_random_seed`` for python, numpy and torch, plus the
   algorithm's and the environment's seeds). Both torch settings are restored afterwards.
3. **Learning** with three callbacks (:mod:`.callbacks`): the guardrails (timestep cap
   ``max_timesteps``, ``wall_clock_seconds``, resident-memory ceiling ``memory_mb``),
   validation every ``early_stopping.eval_freq`` steps with early stopping after
   ``patience`` evaluations without a gain, and checkpoints every ``checkpoint_freq`` steps.
4. **The kept policy** is the one with the best validation score (one last validation run
   after training makes sure there is a score), saved as ``policy.zip`` with a
   ``policy.json`` next to it (algorithm, configuration, splits, stop reason, data version).

``stop_reason`` is one of :data:`STOP_REASONS`: ``completed`` (the requested timesteps ran),
``max_timesteps``, ``wall_clock``, ``memory_ceiling`` or ``early_stopping``; ``stop_detail``
says it in words. A guardrail stop (:data:`TRUNCATING`) marks the policy ``truncated``: it was
not trained as asked, so ``research-lab rl train`` exits 3 and evaluation refuses it unless
``allow_truncated`` (``--allow-truncated``) says otherwise; early stopping is a normal end.
The same seed, data and configuration give the same policy (when no wall-clock or memory
stop intervenes: those depend on the machine).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from research_lab.core.backtest.outputs import write_json
from research_lab.core.backtest.report import json_safe

from .config import Guardrails, RLConfig, load_rl_config
from .playback import SIDECAR
from .splits import Splits, make_splits, period_env

STOP_REASONS = ("completed", "max_timesteps", "wall_clock", "memory_ceiling", "early_stopping")
# a guardrail cut the training short: the policy is marked truncated (``policy.json``),
# ``research-lab rl train`` exits 3 and evaluation refuses it unless asked (allow_truncated)
TRUNCATING = ("max_timesteps", "wall_clock", "memory_ceiling")
POLICY_FILE = "policy.zip"


@contextlib.contextmanager
def guardrails(g: Guardrails, seed: int) -> Iterator[None]:
    """Torch threads, deterministic algorithms and seeds for the duration of a training run."""
    import torch
    from stable_baselines3.common.utils import set_random_seed

    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(g.torch_threads)
    if g.deterministic_torch:
        torch.use_deterministic_algorithms(True, warn_only=True)
    set_random_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


@dataclass(frozen=True, eq=False)
class TrainingResult:
    """What a training run produced and everything needed to log it."""

    symbol: str
    algorithm: str
    policy_path: str
    timesteps: int
    requested_timesteps: int
    training_seconds: float  # wall clock of learning (validation runs included)
    cpu_seconds: float       # process CPU time of the same (less sensitive to machine load)
    stop_reason: str
    stop_detail: str
    validation_metric: str
    validation_score: float
    best_step: int
    evaluations: tuple[tuple[int, float], ...]
    checkpoints: tuple[str, ...]
    splits: Splits
    peak_rss_mb: float
    data_version: str | None
    config: RLConfig

    @property
    def truncated(self) -> bool:
        """A guardrail stopped the training before it ran as asked (:data:`TRUNCATING`)."""
        return self.stop_reason in TRUNCATING

    def params(self) -> dict[str, Any]:
        """MLflow params: the flat configuration, the symbol, the splits, the data version."""
        return {**self.config.flat_params(), "symbol": self.symbol,
                **{f"split.{k}": v for k, v in self.splits.to_dict().items()},
                "data_version": self.data_version or ""}

    def metrics(self) -> dict[str, float]:
        """MLflow metrics of the training run."""
        per_10k = self.training_seconds / self.timesteps * 10_000 if self.timesteps else math.nan
        return {
            "training_seconds": self.training_seconds,
            "training_cpu_seconds": self.cpu_seconds,
            "timesteps": float(self.timesteps),
            "seconds_per_10k_steps": per_10k,
            "validation_score": self.validation_score,
            "best_step": float(self.best_step),
            "evaluations": float(len(self.evaluations)),
            "peak_rss_mb": self.peak_rss_mb,
        }

    def tags(self) -> dict[str, str]:
        """MLflow tags (the tracking conventions: kind, seed, data_version) plus rl.*."""
        return {"kind": "policy", "seed": str(self.config.seed),
                "data_version": self.data_version or "", "symbol": self.symbol,
                "rl.algorithm": self.algorithm, "rl.stop_reason": self.stop_reason,
                "rl.truncated": str(self.truncated).lower()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "algorithm": self.algorithm, "policy_path": self.policy_path,
            "timesteps": self.timesteps, "requested_timesteps": self.requested_timesteps,
            "training_seconds": self.training_seconds, "cpu_seconds": self.cpu_seconds,
            "stop_reason": self.stop_reason, "truncated": self.truncated,
            "stop_detail": self.stop_detail, "validation_metric": self.validation_metric,
            "validation_score": self.validation_score, "best_step": self.best_step,
            "evaluations": [list(e) for e in self.evaluations],
            "checkpoints": list(self.checkpoints), "splits": self.splits.to_dict(),
            "peak_rss_mb": self.peak_rss_mb, "data_version": self.data_version,
            "config": json.loads(json.dumps(self.config.to_dict(), default=str)),
        }


def build_model(config: RLConfig, env: Any):
    """The SB3 model of ``config.algorithm`` on ``env`` (unknown hyperparameters raise)."""
    from .playback import algorithm_class

    cls = algorithm_class(config.algorithm)
    kwargs = config.algorithm_kwargs()
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "policy", "env"}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ValueError(f"{config.source}: hyperparameters.{config.algorithm}: unknown "
                         f"{', '.join(unknown)} for {config.algorithm}")
    return cls("MlpPolicy", env, seed=config.seed, device="cpu", verbose=0,
               policy_kwargs={"net_arch": list(config.net_arch)}, **kwargs)


def train_policy(
    bars: pd.DataFrame,
    config: RLConfig | None = None,
    *,
    out_dir: str | Path,
    symbol: str | None = None,
    data_version: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainingResult:
    """Train a policy on ``bars`` (one symbol's full history) under ``config``'s guardrails;
    write ``policy.zip``, ``policy.json`` and ``checkpoints/`` into ``out_dir``.

    ``progress(done, total)`` is called after every environment step (a progress bar).
    """
    from .callbacks import (CheckpointCallback, GuardrailCallback, StopState,
                            ValidationCallback, ValidationLog, rss_mb)

    config = config or load_rl_config()
    symbol = symbol or (str(bars["symbol"].iloc[0]) if "symbol" in bars.columns else "?")
    if data_version is None and "timestamp" in bars.columns:
        from research_lab.core.marketdata.schema import data_version as version_of

        data_version = version_of(bars)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / "checkpoints").glob("step_*.zip"):  # an earlier run's checkpoints
        stale.unlink()
    splits = make_splits(bars["session"], config.splits, config.env.window)
    g = config.guardrails
    total = min(config.timesteps, g.max_timesteps)
    cap = g.max_timesteps if config.timesteps > g.max_timesteps else None
    state, log = StopState(), ValidationLog()

    with guardrails(g, config.seed):
        train_env = period_env(bars, splits, "train", config)
        val_env = period_env(bars, splits, "validation", config)
        model = build_model(config, train_env)
        validation = ValidationCallback(val_env, config.early_stopping, log, state)
        checkpoints = CheckpointCallback(out / "checkpoints", config.checkpoint_freq,
                                         config.checkpoints_kept)
        guard = GuardrailCallback(g, cap, state, (lambda n: progress(n, total)) if progress
                                  else None)
        started, cpu_started = time.perf_counter(), time.process_time()
        model.learn(total_timesteps=total, callback=[guard, validation, checkpoints])
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        state.peak_rss_mb = max(state.peak_rss_mb, rss_mb())
        if not log.scores or log.scores[-1][0] != model.num_timesteps:
            validation.evaluate()  # the final weights get a score too
        model.policy.load_state_dict(log.best_state)
        policy_path = out / POLICY_FILE
        partial = out / f".{POLICY_FILE}.tmp.zip"
        model.save(str(partial))
        os.replace(partial, policy_path)  # never a half-written policy

    result = TrainingResult(
        symbol=symbol, algorithm=config.algorithm, policy_path=str(policy_path),
        timesteps=int(model.num_timesteps), requested_timesteps=config.timesteps,
        training_seconds=seconds, cpu_seconds=cpu_seconds, stop_reason=state.reason or "completed",
        stop_detail=state.detail or _completed(model.num_timesteps, total, config.algorithm),
        validation_metric=config.early_stopping.metric, validation_score=log.best_score,
        best_step=log.best_step, evaluations=tuple(log.scores),
        checkpoints=tuple(str(p) for p in checkpoints.saved), splits=splits,
        peak_rss_mb=state.peak_rss_mb, data_version=data_version, config=config,
    )
    write_json(out / SIDECAR, json_safe(result.to_dict()))
    return result


def _completed(done: int, total: int, algorithm: str) -> str:
    if done > total:
        return f"ran {done} steps ({total} requested; {algorithm} completes its last rollout)"
    return f"ran the requested {total} steps"


def policy_dir(home: str | Path, symbol: str) -> Path:
    """Where a symbol's policy lives: ``<home>/rl/<symbol>`` (characters other than
    letters, digits, ``.``, ``_`` and ``-`` become ``_``: ``^GSPC`` -> ``_GSPC``)."""
    return Path(home).expanduser() / "rl" / re.sub(r"[^A-Za-z0-9._-]", "_", symbol)
