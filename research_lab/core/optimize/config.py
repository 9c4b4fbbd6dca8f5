"""Study settings: ``config/optimize.yaml`` as one frozen dataclass per section.

:func:`load_optimize_config` reads the file (``RESEARCH_LAB_OPTIMIZE_CONFIG``, else the source
tree's ``config/optimize.yaml``), checks every key and value, and raises :class:`ConfigError`
(a ``ValueError``) naming the file and the key. ``OptimizeConfig.override(section, **values)``
returns a copy with some values replaced (a CLI flag, a Dagster config field), checked the same
way. Nothing is read at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from research_lab.core.yamlfile import read_mapping

if TYPE_CHECKING:  # the backtest package imports pandas: Dagster definitions import this module
    from research_lab.core.backtest.costs import BrokerConfig

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "optimize.yaml"


class ConfigError(ValueError):
    """A bad optimization setting; the message names the file and the key."""


@dataclass(frozen=True)
class StudySettings:
    n_trials: int = 100
    workers: int = 4
    timeout: float | None = None
    metric: str = "sharpe_ratio"
    direction: str | None = None
    seed: int | None = 42


@dataclass(frozen=True)
class SamplerSettings:
    n_startup_trials: int = 10
    multivariate: bool = True
    constant_liar: Any = "auto"  # "auto" | True | False


@dataclass(frozen=True)
class PrunerSettings:
    type: str = "median"
    n_startup_trials: int = 10
    n_warmup_steps: int = 0
    interval_steps: int = 1


@dataclass(frozen=True)
class WalkForwardSettings:
    folds: int = 4
    oos_fraction: float = 0.2
    embargo_bars: int = 0
    wfe_target: float = 0.7


@dataclass(frozen=True)
class StorageSettings:
    url: str | None = None
    heartbeat_interval: int = 5
    grace_period: int = 20
    max_retry: int = 3
    journal_fsync: bool = False
    pg_synchronous_commit: bool = False


@dataclass(frozen=True)
class MarketHoursSettings:
    calendar: str = "XNYS"
    policy: str = "refuse"
    margin_minutes: float = 30.0
    min_budget_minutes: float = 10.0


@dataclass(frozen=True)
class TrackingSettings:
    enabled: bool = True
    project: str = "Default"
    strategy_family: str = "General"
    batch_seconds: float = 0.5


@dataclass(frozen=True)
class ScheduleSettings:
    strategies: tuple[str, ...] = ("sma_cross",)
    n_trials: int = 100


SECTIONS: dict[str, type] = {
    "study": StudySettings,
    "sampler": SamplerSettings,
    "pruner": PrunerSettings,
    "walkforward": WalkForwardSettings,
    "storage": StorageSettings,
    "market_hours": MarketHoursSettings,
    "tracking": TrackingSettings,
    "schedule": ScheduleSettings,
}


@dataclass(frozen=True)
class OptimizeConfig:
    study: StudySettings = field(default_factory=StudySettings)
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    pruner: PrunerSettings = field(default_factory=PrunerSettings)
    walkforward: WalkForwardSettings = field(default_factory=WalkForwardSettings)
    # the lab's one broker (config/research_lab.yaml `broker:`), not a section of this file
    broker: BrokerConfig = field(default_factory=lambda: _broker())
    storage: StorageSettings = field(default_factory=StorageSettings)
    market_hours: MarketHoursSettings = field(default_factory=MarketHoursSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    path: str = "defaults"

    def override(self, section: str, **values: Any) -> OptimizeConfig:
        """A copy with ``values`` replacing keys of ``section`` (``None`` values are ignored)."""
        given = {k: v for k, v in values.items() if v is not None}
        if not given:
            return self
        current = getattr(self, section)
        merged = _section(section, {**_as_dict(current), **given}, "override")
        return replace(self, **{section: merged})


def _as_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_CHECKS: dict[tuple[str, str], tuple[Any, str]] = {
    ("study", "n_trials"): (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("study", "workers"): (lambda v: _is_int(v) and 1 <= v <= 256, "an integer in 1..256"),
    ("study", "timeout"): (lambda v: v is None or (_is_num(v) and v > 0), "null or seconds > 0"),
    ("study", "metric"): (lambda v: isinstance(v, str) and v, "a metric name"),
    ("study", "direction"): (lambda v: v in (None, "maximize", "minimize"),
                             "null, maximize or minimize"),
    ("study", "seed"): (lambda v: v is None or _is_int(v), "null or an integer"),
    ("sampler", "n_startup_trials"): (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    ("sampler", "multivariate"): (lambda v: isinstance(v, bool), "true or false"),
    ("sampler", "constant_liar"): (lambda v: v in ("auto", True, False), "auto, true or false"),
    ("pruner", "type"): (lambda v: v in ("median", "optuna_median", "none"),
                         "median, optuna_median or none"),
    ("pruner", "n_startup_trials"): (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    ("pruner", "n_warmup_steps"): (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    ("pruner", "interval_steps"): (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("walkforward", "folds"): (lambda v: _is_int(v) and 1 <= v <= 50, "an integer in 1..50"),
    ("walkforward", "oos_fraction"): (lambda v: _is_num(v) and 0 < v < 1, "a fraction in (0, 1)"),
    ("walkforward", "embargo_bars"): (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    ("walkforward", "wfe_target"): (lambda v: _is_num(v) and v > 0, "a number > 0"),
    ("storage", "url"): (lambda v: v is None or isinstance(v, str), "null or a URL"),
    ("storage", "heartbeat_interval"): (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("storage", "grace_period"): (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    ("storage", "max_retry"): (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    ("storage", "journal_fsync"): (lambda v: isinstance(v, bool), "true or false"),
    ("storage", "pg_synchronous_commit"): (lambda v: isinstance(v, bool), "true or false"),
    ("market_hours", "calendar"): (lambda v: isinstance(v, str) and v, "a calendar code"),
    ("market_hours", "policy"): (lambda v: v in ("refuse", "wait", "ignore"),
                                 "refuse, wait or ignore"),
    ("market_hours", "margin_minutes"): (lambda v: _is_num(v) and v >= 0, "minutes >= 0"),
    ("market_hours", "min_budget_minutes"): (lambda v: _is_num(v) and v >= 0, "minutes >= 0"),
    ("tracking", "enabled"): (lambda v: isinstance(v, bool), "true or false"),
    ("tracking", "project"): (lambda v: isinstance(v, str) and v, "a name"),
    ("tracking", "strategy_family"): (lambda v: isinstance(v, str) and v, "a name"),
    ("tracking", "batch_seconds"): (lambda v: _is_num(v) and v > 0, "seconds > 0"),
    ("schedule", "strategies"): (lambda v: isinstance(v, (list, tuple)) and v
                                 and all(isinstance(s, str) for s in v), "a list of strategies"),
    ("schedule", "n_trials"): (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
}


def _section(name: str, raw: Any, where: str) -> Any:
    cls = SECTIONS[name]
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: '{name}' must be a mapping")
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {name}.{', '.join(unknown)}; valid: "
                          f"{', '.join(known)}")
    for key, value in raw.items():
        check, expected = _CHECKS[(name, key)]
        if not check(value):
            raise ConfigError(f"{where}: {name}.{key} must be {expected}, got {value!r}")
    values = dict(raw)
    if name == "study" and _is_int(values.get("timeout")):
        values["timeout"] = float(values["timeout"])
    if name == "schedule" and "strategies" in values:
        values["strategies"] = tuple(values["strategies"])
    return cls(**values)


def config_path(env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    if env.get("RESEARCH_LAB_OPTIMIZE_CONFIG"):
        return Path(env["RESEARCH_LAB_OPTIMIZE_CONFIG"])
    return DEFAULT_PATH if DEFAULT_PATH.exists() else None


def load_optimize_config(path: str | Path | None = None,
                         env: Mapping[str, str] | None = None) -> OptimizeConfig:
    """The settings of ``path`` (or :func:`config_path`), every value checked."""
    p = Path(path) if path is not None else config_path(env)
    if p is None:
        return OptimizeConfig(broker=_broker())
    doc = read_mapping(p, what="optimization config", error=ConfigError)
    if "broker" in doc:
        raise ConfigError(f"{p}: 'broker' is no longer a section of this file: the broker of "
                          "every study is the lab's one broker, the `broker:` section of "
                          "config/research_lab.yaml")
    unknown = sorted(set(doc) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{p}: unknown section(s) {', '.join(unknown)}; valid: "
                          f"{', '.join(SECTIONS)}")
    sections = {name: _section(name, doc[name] or {}, str(p)) for name in SECTIONS if name in doc}
    return OptimizeConfig(**sections, broker=_broker(), path=str(p))


def _broker() -> BrokerConfig:
    from research_lab.core.backtest.costs import load_broker

    return load_broker()
