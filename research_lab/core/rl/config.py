"""The RL configuration: ``config/rl.yaml`` as typed, frozen pydantic models, field by field.

One file holds every choice a training run makes, so that a run is reproducible from it (and
the seed): the algorithm and its hyperparameters, the environment, the date splits, early
stopping, checkpoints, the guardrails, the evaluation limits and the statistics over seeds.
The broker is not in this file: it is the lab's one broker (the ``broker:`` section of
``config/research_lab.yaml``, :func:`research_lab.core.backtest.costs.load_broker`), copied
into the configuration when it is loaded so that a policy's ``policy.json`` records the
broker it was trained with. The file's own comments describe each field; ``docs/rl.md``
describes the guardrails, the statistics and their defaults.

:func:`load_rl_config` reads ``RESEARCH_LAB_RL_CONFIG`` if set, else ``config/rl.yaml`` of the
source tree, else the defaults below; keyword overrides (``algorithm="A2C"``,
``timesteps=5000``, ``seed=3``, or any section as a mapping merged over the file's) win. One
validation path (pydantic) and one error style: a bad value raises :class:`RLConfigError` (a
``ValueError``) ``"<file>: <section.field>: <problem>"``.

This module imports only the standard library, pydantic and PyYAML: Dagster definitions can
import it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt,
                      ValidationError, model_validator)

from research_lab.core.yamlfile import read_mapping

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "rl.yaml"
ALGORITHMS = ("PPO", "A2C", "DQN")
ACTIONS = ("discrete", "box")
REWARDS = ("pnl", "log_return", "risk_adjusted")
SCORES = ("sharpe", "total_return")


class RLConfigError(ValueError):
    """A bad RL configuration value; the message names where it came from and the field."""


class _Rule(ValueError):
    """A field rule broken (raised inside validators; :func:`_build` turns it into one line)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field, self.problem = field, problem


def _need(ok: bool, field: str, problem: str) -> None:
    if not ok:
        raise _Rule(field, problem)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{value!r} must be a finite number")
    return float(value)


def _date(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


Number = Annotated[float, BeforeValidator(_number)]
Day = Annotated[dt.date | None, BeforeValidator(_date)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnvConfig(_Section):
    """What the agent sees, what it may do, and what it is paid."""

    window: StrictInt = 20                   # past daily log returns in each observation
    action: str = "discrete"                 # discrete: flat/long(/short); box: target weight
    allow_short: StrictBool = False          # add the short direction
    reward: str = "pnl"                      # pnl | log_return | risk_adjusted
    risk_penalty: Number = 0.5               # risk_adjusted: penalty per unit of new drawdown
    reward_scale: Number = 100.0             # rewards in percent of the starting cash
    episode_length: StrictInt | None = 252   # training episodes: random start, this many steps
    max_drawdown_stop: Number | None = None  # end an episode when drawdown reaches this

    @model_validator(mode="after")
    def _rules(self) -> EnvConfig:
        _need(2 <= self.window <= 250, "window", f"{self.window!r} not in 2..250")
        _need(self.action in ACTIONS, "action", f"{self.action!r} is not one of {ACTIONS}")
        _need(self.reward in REWARDS, "reward", f"{self.reward!r} is not one of {REWARDS}")
        _need(self.risk_penalty >= 0, "risk_penalty", "must be >= 0")
        _need(self.reward_scale > 0, "reward_scale", "must be > 0")
        _need(self.episode_length is None or self.episode_length >= 2, "episode_length",
              f"{self.episode_length!r} must be null or an integer >= 2")
        _need(self.max_drawdown_stop is None or 0 < self.max_drawdown_stop <= 1,
              "max_drawdown_stop", f"{self.max_drawdown_stop!r} must be null or in (0, 1]")
        return self


class SplitConfig(_Section):
    """Train / validation / test by date: fractions of the sessions, or explicit end dates."""

    train: Number = 0.6
    validation: Number = 0.2
    train_end: Day = None
    validation_end: Day = None

    @model_validator(mode="after")
    def _rules(self) -> SplitConfig:
        if self.train_end is None and self.validation_end is None:
            _need(self.train > 0 and self.validation > 0 and self.train + self.validation < 1,
                  "", f"train ({self.train!r}) and validation ({self.validation!r}) must be > 0 "
                  "and sum to < 1")
        else:
            _need(self.train_end is not None and self.validation_end is not None, "",
                  "give both train_end and validation_end as dates (YYYY-MM-DD)")
            _need(self.train_end < self.validation_end, "validation_end",
                  f"{self.validation_end} must be after train_end {self.train_end}")
        return self


class EarlyStopping(_Section):
    """Evaluate on the validation period every ``eval_freq`` steps; stop after ``patience``
    evaluations without a gain of more than ``min_delta``."""

    eval_freq: StrictInt = 2048
    patience: StrictInt = 5
    min_delta: Number = 0.0
    metric: str = "sharpe"  # sharpe | total_return

    @model_validator(mode="after")
    def _rules(self) -> EarlyStopping:
        _need(self.eval_freq > 0, "eval_freq", "must be > 0")
        _need(self.patience > 0, "patience", "must be > 0")
        _need(self.min_delta >= 0, "min_delta", "must be >= 0")
        _need(self.metric in SCORES, "metric", f"{self.metric!r} is not one of {SCORES}")
        return self


class Guardrails(_Section):
    """Hard limits on a training run (see ``docs/rl.md``)."""

    max_timesteps: StrictInt = 1_000_000
    wall_clock_seconds: Number = 1800.0
    torch_threads: StrictInt = 1
    memory_mb: Number = 4096.0
    memory_check_every: StrictInt = 256      # environment steps between two RSS readings
    deterministic_torch: StrictBool = True

    @model_validator(mode="after")
    def _rules(self) -> Guardrails:
        for name in ("max_timesteps", "torch_threads", "memory_check_every"):
            _need(getattr(self, name) > 0, name, "must be an integer > 0")
        for name in ("wall_clock_seconds", "memory_mb"):
            _need(getattr(self, name) > 0, name, "must be > 0")
        return self


class EvaluationConfig(_Section):
    """Limits and baselines of :func:`~research_lab.core.rl.evaluate.evaluate_policy`."""

    max_drawdown_limit: Number = 0.25   # compliance: max drawdown no deeper than -25 %
    episodes: StrictInt = 5             # stability: evenly spaced test episodes...
    episode_length: StrictInt = 126     # ...of this many decisions each
    baseline_strategy: str = "sma_cross"
    baseline_grid: dict[str, tuple[Any, ...]] = Field(
        default_factory=lambda: {"fast": (5, 10, 20), "slow": (30, 50, 100)}
    )

    @model_validator(mode="after")
    def _rules(self) -> EvaluationConfig:
        _need(0 < self.max_drawdown_limit <= 1, "max_drawdown_limit",
              "must be in (0, 1] (0.25 = a 25 % drawdown)")
        _need(self.episodes > 0, "episodes", "must be > 0")
        _need(self.episode_length >= 2, "episode_length", "must be an integer >= 2")
        _need(bool(self.baseline_grid), "baseline_grid",
              "must map parameter names to lists of values")
        return self


class StatisticsConfig(_Section):
    """Seeds x walk-forward folds for :mod:`~research_lab.core.rl.seeds` and the bootstrap of
    :mod:`~research_lab.core.rl.statistics` (see ``docs/rl.md``)."""

    enabled: StrictBool = True          # rl evaluate / rl_evaluation run the seed study
    seeds: StrictInt = 5                # training seeds: seed, seed + 1, ...
    folds: StrictInt = 3                # expanding walk-forward folds (splits.walk_forward)
    timesteps: StrictInt = 10_000       # training steps of each seed x fold
    metric: str = "sharpe"              # the score of a run on its test period
    confidence: Number = 0.95           # coverage of the bootstrap intervals
    bootstrap_reps: StrictInt = 50_000  # bootstrap resamples
    bootstrap_seed: StrictInt = 0       # seed of the resampling

    @model_validator(mode="after")
    def _rules(self) -> StatisticsConfig:
        for name in ("seeds", "folds", "timesteps", "bootstrap_reps"):
            _need(getattr(self, name) > 0, name, "must be an integer > 0")
        _need(self.metric in SCORES, "metric", f"{self.metric!r} is not one of {SCORES}")
        _need(0 < self.confidence < 1, "confidence", "must be in (0, 1) (0.95 = a 95 % interval)")
        _need(self.bootstrap_seed >= 0, "bootstrap_seed", "must be an integer >= 0")
        return self


def _lab_broker() -> dict[str, Any]:
    from research_lab.core.backtest.costs import load_broker

    return load_broker().to_dict()


class RLConfig(BaseModel):
    """Everything one training run and its evaluation use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    algorithm: str = "PPO"
    timesteps: StrictInt = 100_000
    seed: StrictInt = 0
    hyperparameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    net_arch: tuple[StrictInt, ...] = (64, 64)
    env: EnvConfig = Field(default_factory=EnvConfig)
    broker: dict[str, Any] = Field(default_factory=_lab_broker)  # the lab's one broker
    splits: SplitConfig = Field(default_factory=SplitConfig)
    early_stopping: EarlyStopping = Field(default_factory=EarlyStopping)
    checkpoint_freq: StrictInt = 10_000
    checkpoints_kept: StrictInt = 3
    guardrails: Guardrails = Field(default_factory=Guardrails)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    statistics: StatisticsConfig = Field(default_factory=StatisticsConfig)
    source: str = "defaults"

    @model_validator(mode="after")
    def _rules(self) -> RLConfig:
        _need(self.algorithm in ALGORITHMS, "algorithm",
              f"{self.algorithm!r} is not one of {ALGORITHMS}")
        _need(self.timesteps > 0, "timesteps", f"{self.timesteps!r} must be > 0")
        _need(self.seed >= 0, "seed", f"{self.seed!r} must be an integer >= 0")
        _need(bool(self.net_arch) and all(n > 0 for n in self.net_arch), "net_arch",
              "layer sizes must be > 0")
        for algo in self.hyperparameters:
            _need(algo in ALGORITHMS, f"hyperparameters.{algo}", f"not one of {ALGORITHMS}")
        for name in ("checkpoint_freq", "checkpoints_kept"):
            _need(getattr(self, name) > 0, name, "must be an integer > 0")
        _need(not (self.algorithm == "DQN" and self.env.action == "box"), "env.action",
              "DQN needs discrete actions (set env.action: discrete or choose PPO/A2C)")
        return self

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
        return self.model_dump(exclude={"source"})

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
        for section in ("env", "splits", "early_stopping", "guardrails", "evaluation",
                        "statistics"):
            for k, v in d[section].items():
                out[f"{section}.{k}"] = v.isoformat() if isinstance(v, dt.date) else v
        return out


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


def rl_config_from_dict(data: Mapping[str, Any], where: str = "policy.json") -> RLConfig:
    """An :class:`RLConfig` from :meth:`RLConfig.to_dict` output (e.g. a policy's
    ``policy.json``, with the broker it was trained with), checked like a file."""
    return _build(data, where)


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _build(data: Mapping[str, Any], where: str) -> RLConfig:
    """The one validation path: pydantic, with every error as ``where: field: problem``."""
    values = dict(data)
    if "algorithm" in values and isinstance(values["algorithm"], str):
        values["algorithm"] = values["algorithm"].upper()
    values.pop("source", None)
    try:
        return RLConfig(**values, source=where)
    except ValidationError as exc:
        raise RLConfigError(f"{where}: {_describe(exc.errors()[0])}") from None


def _describe(error: Mapping[str, Any]) -> str:
    """``field: problem`` for the first pydantic error (a rule, an unknown key, a type)."""
    loc = [str(p) for p in error["loc"] if not str(p).startswith("function-")]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _Rule):
        name = ".".join([*loc, cause.field] if cause.field else loc)
        return f"{name}: {cause.problem}"
    name = ".".join(loc)
    if error["type"] == "extra_forbidden":
        if len(loc) == 1:
            valid = sorted(set(RLConfig.model_fields) - {"source"})
            return f"{name}: unknown key(s); valid: {', '.join(valid)}"
        section = RLConfig.model_fields[loc[0]].annotation
        fields = sorted(getattr(section, "model_fields", {}))
        return f"{name}: unknown field; valid: {', '.join(fields)}"
    if isinstance(cause, ValueError):
        return f"{name}: {cause}"
    if error["type"] in ("model_type", "dict_type", "model_attributes_type"):
        return f"{name}: must be a mapping"
    return f"{name}: {error['msg']} (got {error.get('input')!r})"
