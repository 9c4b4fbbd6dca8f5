"""The RL configuration: ``config/rl.yaml`` read into frozen dataclasses, checked field by field.

One file holds every choice a training run makes, so that a run is reproducible from it (and
the seed): the algorithm and its hyperparameters, the environment, the broker (the same
settings as a backtest, :class:`~research_lab.core.backtest.costs.BrokerConfig`), the date
splits, early stopping, checkpoints, the guardrails and the evaluation limits. The file's own
comments describe each field; ``docs/rl.md`` describes the guardrails and their defaults.

:func:`load_rl_config` reads ``RESEARCH_LAB_RL_CONFIG`` if set, else ``config/rl.yaml`` of the
source tree, else the defaults below; keyword overrides (``algorithm="A2C"``,
``timesteps=5000``, ``seed=3``, or any section as a mapping merged over the file's) win. A
bad value raises :class:`RLConfigError` (a ``ValueError``) naming the file and the field.

This module imports only the standard library and PyYAML: Dagster definitions can import it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from research_lab.core.yamlfile import read_mapping

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "rl.yaml"
ALGORITHMS = ("PPO", "A2C", "DQN")
ACTIONS = ("discrete", "box")
REWARDS = ("pnl", "log_return", "risk_adjusted")
SCORES = ("sharpe", "total_return")


class RLConfigError(ValueError):
    """A bad RL configuration value; the message names where it came from and the field."""


@dataclass(frozen=True)
class EnvConfig:
    """What the agent sees, what it may do, and what it is paid."""

    window: int = 20                   # past daily log returns in each observation
    action: str = "discrete"           # discrete: flat/long(/short); box: target weight
    allow_short: bool = False          # add the short direction
    reward: str = "pnl"                # pnl | log_return | risk_adjusted
    risk_penalty: float = 0.5          # risk_adjusted: penalty per unit of new drawdown
    reward_scale: float = 100.0        # rewards in percent of the starting cash
    episode_length: int | None = 252   # training episodes: random start, this many decisions
    max_drawdown_stop: float | None = None  # end an episode when drawdown reaches this


@dataclass(frozen=True)
class SplitConfig:
    """Train / validation / test by date: fractions of the sessions, or explicit end dates."""

    train: float = 0.6
    validation: float = 0.2
    train_end: dt.date | None = None
    validation_end: dt.date | None = None


@dataclass(frozen=True)
class EarlyStopping:
    """Evaluate on the validation period every ``eval_freq`` steps; stop after ``patience``
    evaluations without a gain of more than ``min_delta``."""

    eval_freq: int = 2048
    patience: int = 5
    min_delta: float = 0.0
    metric: str = "sharpe"  # sharpe | total_return


@dataclass(frozen=True)
class Guardrails:
    """Hard limits on a training run (see ``docs/rl.md``)."""

    max_timesteps: int = 1_000_000
    wall_clock_seconds: float = 1800.0
    torch_threads: int = 1
    memory_mb: float = 4096.0
    memory_check_every: int = 256      # environment steps between two RSS readings
    deterministic_torch: bool = True


@dataclass(frozen=True)
class EvaluationConfig:
    """Limits and baselines of :func:`~research_lab.core.rl.evaluate.evaluate_policy`."""

    max_drawdown_limit: float = 0.25   # compliance: max drawdown no deeper than -25 %
    episodes: int = 5                  # stability: evenly spaced test episodes...
    episode_length: int = 126          # ...of this many decisions each
    baseline_strategy: str = "sma_cross"
    baseline_grid: Mapping[str, tuple[Any, ...]] = field(
        default_factory=lambda: {"fast": (5, 10, 20), "slow": (30, 50, 100)}
    )


@dataclass(frozen=True)
class RLConfig:
    """Everything one training run and its evaluation use."""

    algorithm: str = "PPO"
    timesteps: int = 100_000
    seed: int = 0
    hyperparameters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    net_arch: tuple[int, ...] = (64, 64)
    env: EnvConfig = field(default_factory=EnvConfig)
    broker: Mapping[str, Any] = field(default_factory=lambda: _lab_broker())
    splits: SplitConfig = field(default_factory=SplitConfig)
    early_stopping: EarlyStopping = field(default_factory=EarlyStopping)
    checkpoint_freq: int = 10_000
    checkpoints_kept: int = 3
    guardrails: Guardrails = field(default_factory=Guardrails)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    source: str = "defaults"

    def algorithm_kwargs(self) -> dict[str, Any]:
        """The hyperparameters of the chosen algorithm (SB3 constructor keywords)."""
        return dict(self.hyperparameters.get(self.algorithm, {}))

    def broker_settings(self) -> dict[str, Any]:
        """Broker keywords with ``allow_short`` taken from the environment section."""
        return {**self.broker, "allow_short": self.env.allow_short}

    def replace(self, **overrides: Any) -> RLConfig:
        """A copy with top-level fields or whole sections replaced; sections given as
        mappings are merged over the current ones, and everything is checked again."""
        return _build(_merge(self.to_dict(), overrides), f"{self.source} + overrides")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("source")
        return out

    def flat_params(self) -> dict[str, Any]:
        """Flat ``section.field`` -> value pairs (MLflow params): the chosen algorithm's
        hyperparameters as ``hp.<name>``, the broker as ``broker.<name>``."""
        d = self.to_dict()
        out: dict[str, Any] = {
            "algorithm": self.algorithm, "timesteps": self.timesteps, "seed": self.seed,
            "net_arch": "x".join(map(str, self.net_arch)),
            "checkpoint_freq": self.checkpoint_freq,
        }
        out.update({f"hp.{k}": v for k, v in self.algorithm_kwargs().items()})
        out.update({f"broker.{k}": v for k, v in self.broker_settings().items()})
        for section in ("env", "splits", "early_stopping", "guardrails", "evaluation"):
            for k, v in d[section].items():
                out[f"{section}.{k}"] = v.isoformat() if isinstance(v, dt.date) else v
        return out


_SECTIONS = {
    "env": EnvConfig, "splits": SplitConfig, "early_stopping": EarlyStopping,
    "guardrails": Guardrails, "evaluation": EvaluationConfig,
}


def load_rl_config(path: str | Path | None = None, **overrides: Any) -> RLConfig:
    """The RL configuration from ``path`` (else ``RESEARCH_LAB_RL_CONFIG``, else
    ``config/rl.yaml``, else the defaults) with ``overrides`` applied."""
    env_path = os.environ.get("RESEARCH_LAB_RL_CONFIG")
    cfg_path = Path(path) if path else Path(env_path) if env_path else (
        DEFAULT_PATH if DEFAULT_PATH.exists() else None
    )
    data: dict[str, Any] = {}
    where = "defaults"
    if cfg_path is not None:
        where = str(cfg_path)
        data = read_mapping(cfg_path, what="RL config file", error=RLConfigError)
        if "broker" in data:
            raise RLConfigError(f"{where}: broker: not a key of this file: policies use the "
                                "lab's one broker, the `broker:` section of "
                                "config/research_lab.yaml")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        where += " + overrides"
    return _build(_merge(data, overrides), where)


def _lab_broker() -> dict[str, Any]:
    from research_lab.core.backtest.costs import load_broker

    return load_broker().to_dict()


def rl_config_from_dict(data: Mapping[str, Any], where: str = "policy.json") -> RLConfig:
    """An :class:`RLConfig` from :meth:`RLConfig.to_dict` output (e.g. a policy's
    ``policy.json``), checked like a file."""
    return _build(data, where)


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _build(data: Mapping[str, Any], where: str) -> RLConfig:
    def fail(name: str, problem: str) -> RLConfigError:
        return RLConfigError(f"{where}: {name}: {problem}")

    known = {f.name for f in dataclasses.fields(RLConfig)} - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise fail(", ".join(unknown), f"unknown key(s); valid: {', '.join(sorted(known))}")
    values: dict[str, Any] = {"source": where}
    for name, cls in _SECTIONS.items():
        section = data.get(name) or {}
        if isinstance(section, cls):
            section = dataclasses.asdict(section)
        if not isinstance(section, Mapping):
            raise fail(name, "must be a mapping")
        fields = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(section) - fields)
        if bad:
            raise fail(f"{name}.{bad[0]}", f"unknown field; valid: {', '.join(sorted(fields))}")
        if name == "splits":
            section = {k: _date(v, f"splits.{k}", fail) if k.endswith("_end") else v
                       for k, v in section.items()}
        values[name] = cls(**section)
    for name in ("algorithm", "timesteps", "seed", "checkpoint_freq", "checkpoints_kept"):
        if name in data:
            values[name] = data[name]
    if "algorithm" in values:
        values["algorithm"] = str(values["algorithm"]).upper()
    if "net_arch" in data:
        arch = data["net_arch"]
        if not isinstance(arch, (list, tuple)) or not arch:
            raise fail("net_arch", f"must be a list of layer sizes, got {arch!r}")
        values["net_arch"] = tuple(arch)
    for name in ("hyperparameters", "broker"):
        if name in data:
            if not isinstance(data[name], Mapping):
                raise fail(name, "must be a mapping")
            values[name] = dict(data[name])
    config = RLConfig(**values)
    _check(config, fail)
    return config


def _date(value: Any, name: str, fail) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise fail(name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check(c: RLConfig, fail) -> None:  # noqa: C901 - one flat list of field rules
    def need(ok: bool, name: str, problem: str) -> None:
        if not ok:
            raise fail(name, problem)

    need(c.algorithm in ALGORITHMS, "algorithm", f"{c.algorithm!r} is not one of {ALGORITHMS}")
    need(_is_int(c.timesteps) and c.timesteps > 0, "timesteps", f"{c.timesteps!r} must be > 0")
    need(_is_int(c.seed) and c.seed >= 0, "seed", f"{c.seed!r} must be an integer >= 0")
    need(all(_is_int(n) and n > 0 for n in c.net_arch), "net_arch", "layer sizes must be > 0")
    for algo, hp in c.hyperparameters.items():
        need(algo in ALGORITHMS, f"hyperparameters.{algo}", f"not one of {ALGORITHMS}")
        need(isinstance(hp, Mapping), f"hyperparameters.{algo}", "must be a mapping")
    for name in ("checkpoint_freq", "checkpoints_kept"):
        need(_is_int(getattr(c, name)) and getattr(c, name) > 0, name, "must be an integer > 0")
    e = c.env
    need(_is_int(e.window) and 2 <= e.window <= 250, "env.window", f"{e.window!r} not in 2..250")
    need(e.action in ACTIONS, "env.action", f"{e.action!r} is not one of {ACTIONS}")
    need(isinstance(e.allow_short, bool), "env.allow_short", "must be true or false")
    need(e.reward in REWARDS, "env.reward", f"{e.reward!r} is not one of {REWARDS}")
    need(_is_num(e.risk_penalty) and e.risk_penalty >= 0, "env.risk_penalty", "must be >= 0")
    need(_is_num(e.reward_scale) and e.reward_scale > 0, "env.reward_scale", "must be > 0")
    need(e.episode_length is None or (_is_int(e.episode_length) and e.episode_length >= 2),
         "env.episode_length", f"{e.episode_length!r} must be null or an integer >= 2")
    need(e.max_drawdown_stop is None or (_is_num(e.max_drawdown_stop)
                                         and 0 < e.max_drawdown_stop <= 1),
         "env.max_drawdown_stop", f"{e.max_drawdown_stop!r} must be null or in (0, 1]")
    need(not (c.algorithm == "DQN" and e.action == "box"), "env.action",
         "DQN needs discrete actions (set env.action: discrete or choose PPO/A2C)")
    s = c.splits
    if s.train_end is None and s.validation_end is None:
        ok = _is_num(s.train) and _is_num(s.validation) and s.train > 0 and s.validation > 0
        need(ok and s.train + s.validation < 1, "splits",
             f"train ({s.train!r}) and validation ({s.validation!r}) must be > 0 and sum to < 1")
    else:
        need(isinstance(s.train_end, dt.date) and isinstance(s.validation_end, dt.date),
             "splits", "give both train_end and validation_end as dates (YYYY-MM-DD)")
        need(s.train_end < s.validation_end, "splits.validation_end",
             f"{s.validation_end} must be after train_end {s.train_end}")
    es = c.early_stopping
    need(_is_int(es.eval_freq) and es.eval_freq > 0, "early_stopping.eval_freq", "must be > 0")
    need(_is_int(es.patience) and es.patience > 0, "early_stopping.patience", "must be > 0")
    need(_is_num(es.min_delta) and es.min_delta >= 0, "early_stopping.min_delta", "must be >= 0")
    need(es.metric in SCORES, "early_stopping.metric", f"{es.metric!r} is not one of {SCORES}")
    g = c.guardrails
    need(_is_int(g.max_timesteps) and g.max_timesteps > 0, "guardrails.max_timesteps",
         "must be an integer > 0")
    need(_is_num(g.wall_clock_seconds) and g.wall_clock_seconds > 0,
         "guardrails.wall_clock_seconds", "must be > 0")
    need(_is_int(g.torch_threads) and g.torch_threads > 0, "guardrails.torch_threads",
         "must be an integer > 0")
    need(_is_num(g.memory_mb) and g.memory_mb > 0, "guardrails.memory_mb", "must be > 0")
    need(_is_int(g.memory_check_every) and g.memory_check_every > 0,
         "guardrails.memory_check_every", "must be an integer > 0")
    need(isinstance(g.deterministic_torch, bool), "guardrails.deterministic_torch",
         "must be true or false")
    v = c.evaluation
    need(_is_num(v.max_drawdown_limit) and 0 < v.max_drawdown_limit <= 1,
         "evaluation.max_drawdown_limit", "must be in (0, 1] (0.25 = a 25 % drawdown)")
    need(_is_int(v.episodes) and v.episodes > 0, "evaluation.episodes", "must be > 0")
    need(_is_int(v.episode_length) and v.episode_length >= 2, "evaluation.episode_length",
         "must be an integer >= 2")
    need(isinstance(v.baseline_grid, Mapping) and bool(v.baseline_grid),
         "evaluation.baseline_grid", "must map parameter names to lists of values")
