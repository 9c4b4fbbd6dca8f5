"""The Stable-Baselines3 callbacks that enforce the guardrails, stop early and checkpoint.

Each returns ``False`` from ``_on_step`` to stop training, after writing why into the shared
:class:`StopState` (the first reason wins). SB3 stops at that step: PPO and A2C do not run the
update of the interrupted rollout.

Imported only by :mod:`.train` (this module imports stable_baselines3 and torch).
"""

from __future__ import annotations

import copy
import math
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from research_lab.core.backtest import fastmetrics

from .config import EarlyStopping, Guardrails


@dataclass
class StopState:
    """Why training stopped (``None`` while it runs) and the detail in words."""

    reason: str | None = None
    detail: str = ""
    peak_rss_mb: float = 0.0

    def stop(self, reason: str, detail: str) -> bool:
        if self.reason is None:
            self.reason, self.detail = reason, detail
        return False


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux ``/proc``; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class GuardrailCallback(BaseCallback):
    """Timestep cap, wall-clock limit and memory ceiling; reports progress."""

    def __init__(self, guardrails: Guardrails, cap: int | None, state: StopState,
                 progress: Callable[[int], None] | None = None) -> None:
        super().__init__()
        self.g, self.cap, self.state, self.progress = guardrails, cap, state, progress
        self.started = time.monotonic()

    def _on_training_start(self) -> None:
        self.started = time.monotonic()

    def _on_step(self) -> bool:
        n = self.num_timesteps
        if self.progress is not None:
            self.progress(n)
        if self.cap is not None and n >= self.cap:
            return self.state.stop("max_timesteps",
                                   f"reached guardrails.max_timesteps = {self.cap}")
        elapsed = time.monotonic() - self.started
        if elapsed > self.g.wall_clock_seconds:
            return self.state.stop("wall_clock", f"{elapsed:.1f} s > guardrails."
                                   f"wall_clock_seconds = {self.g.wall_clock_seconds:g}")
        if self.n_calls == 1 or self.n_calls % self.g.memory_check_every == 0:
            rss = rss_mb()
            self.state.peak_rss_mb = max(self.state.peak_rss_mb, rss)
            if rss > self.g.memory_mb:
                return self.state.stop("memory_ceiling", f"resident memory {rss:.0f} MB > "
                                       f"guardrails.memory_mb = {self.g.memory_mb:g}")
        return True


def score_equity(equity: Any, cash: float, metric: str) -> float:
    """The validation score of an equity curve: Sharpe (NaN, i.e. never trading, is 0) or
    total return."""
    values = equity.to_numpy() if hasattr(equity, "to_numpy") else equity
    if metric == "total_return":
        return fastmetrics.total_return(values, cash)
    s = fastmetrics.sharpe(fastmetrics.returns_from_equity(values, cash))
    return 0.0 if math.isnan(s) else float(s)


@dataclass
class ValidationLog:
    """Every validation score by step, and the best policy weights seen."""

    scores: list[tuple[int, float]] = field(default_factory=list)
    best_score: float = -math.inf
    best_step: int = -1
    best_state: dict | None = None
    since_best: int = 0


class ValidationCallback(BaseCallback):
    """Every ``eval_freq`` steps: a deterministic run over the validation period; keeps the
    best weights; stops after ``patience`` evaluations without a gain > ``min_delta``."""

    def __init__(self, env: Any, es: EarlyStopping, log: ValidationLog, state: StopState) -> None:
        super().__init__()
        self.env, self.es, self.log, self.state = env, es, log, state

    def evaluate(self) -> float:
        from .playback import rollout

        played = rollout(self.model, self.env)
        score = score_equity(played.equity, self.env.broker.cash, self.es.metric)
        log = self.log
        step = self.model.num_timesteps
        log.scores.append((step, score))
        if score > log.best_score + self.es.min_delta or log.best_state is None:
            log.best_score, log.best_step, log.since_best = score, step, 0
            log.best_state = copy.deepcopy(self.model.policy.state_dict())
        else:
            log.since_best += 1
        return score

    def _on_step(self) -> bool:
        if self.n_calls % self.es.eval_freq:
            return True
        self.evaluate()
        if self.log.since_best >= self.es.patience:
            return self.state.stop(
                "early_stopping", f"no validation {self.es.metric} gain in {self.es.patience} "
                f"evaluations; best {self.log.best_score:.4f} at step {self.log.best_step}")
        return True


class CheckpointCallback(BaseCallback):
    """Saves the model every ``freq`` steps as ``step_<n>.zip``, keeping the last ``keep``."""

    def __init__(self, folder: Path, freq: int, keep: int) -> None:
        super().__init__()
        self.folder, self.freq, self.keep = Path(folder), freq, keep
        self.saved: list[Path] = []

    def _on_step(self) -> bool:
        if self.n_calls % self.freq == 0:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"step_{self.num_timesteps}.zip"
            self.model.save(str(path))
            self.saved.append(path)
            while len(self.saved) > self.keep:
                self.saved.pop(0).unlink(missing_ok=True)
        return True
