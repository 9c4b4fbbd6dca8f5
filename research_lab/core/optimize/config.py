"""Study settings: ``config/optimize.yaml`` as one frozen pydantic model per section.

:func:`load_optimize_config` reads the file (``RESEARCH_LAB_OPTIMIZE_CONFIG``, else the source
tree's ``config/optimize.yaml``), validates every section with its model, and raises
:class:`ConfigError` (a ``ValueError``) naming the file and the key. ``OptimizeConfig.override
(section, **values)`` returns a copy with some values replaced (a CLI flag, a Dagster config
field), validated by the same model: one validation path, one error style. Nothing is read at
import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from typing import TYPE_CHECKING

from research_lab.core.yamlfile import read_mapping

if TYPE_CHECKING:  # the backtest package imports pandas: Dagster definitions import this module
    from research_lab.core.backtest.costs import BrokerConfig

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "optimize.yaml"
SAMPLERS = ("tpe", "random", "grid", "qmc", "cmaes", "gp", "nsga2", "nsga3")


class ConfigError(ValueError):
    """A bad optimization setting; the message names the file and the key."""


Num = Annotated[float, Field(strict=True)]


def _f(default: Any, expected: str, **constraints: Any) -> Any:
    """A field whose ``description`` is what the error message says it must be."""
    return Field(default=default, description=expected, **constraints)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


class StudySettings(_Section):
    n_trials: StrictInt = _f(100, "an integer >= 1", ge=1)
    workers: StrictInt = _f(4, "an integer in 1..256", ge=1, le=256)
    timeout: Num | None = _f(None, "null or seconds > 0", gt=0)
    metric: str = _f("sharpe_ratio", "a metric name", min_length=1)
    direction: Literal["maximize", "minimize"] | None = _f(None, "null, maximize or minimize")
    seed: StrictInt | None = _f(42, "null or an integer")
    enqueue_defaults: StrictBool = _f(True, "true or false")
    enqueue: tuple[dict[str, Any], ...] = _f((), "a list of parameter mappings")
    min_trades: StrictInt = _f(0, "an integer >= 0", ge=0)
    loss: str | None = _f(None, "null or a loss function reference module:function")


class SamplerSettings(_Section):
    type: Literal[SAMPLERS] = _f("tpe", "one of " + ", ".join(SAMPLERS))  # type: ignore[valid-type]
    n_startup_trials: StrictInt = _f(10, "an integer >= 0", ge=0)
    multivariate: StrictBool = _f(True, "true or false")
    constant_liar: Union[Literal["auto"], StrictBool] = _f("auto", "auto, true or false")


PRUNERS = ("median", "optuna_median", "wilcoxon", "none")
FOLD_SCHEMES = ("walk_forward", "calendar", "cpcv")


class PrunerSettings(_Section):
    type: Literal[PRUNERS] = _f(  # type: ignore[valid-type]
        "median", "one of " + ", ".join(PRUNERS))
    n_startup_trials: StrictInt = _f(10, "an integer >= 0", ge=0)
    n_warmup_steps: StrictInt = _f(0, "an integer >= 0", ge=0)
    interval_steps: StrictInt = _f(1, "an integer >= 1", ge=1)
    p_threshold: Num = _f(0.1, "a p-value in (0, 1)", gt=0, lt=1)


class WalkForwardSettings(_Section):
    folds: StrictInt = _f(4, "an integer in 1..50", ge=1, le=50)
    oos_fraction: Num = _f(0.2, "a fraction in (0, 1)", gt=0, lt=1)
    embargo_bars: StrictInt = _f(0, "an integer >= 0", ge=0)
    wfe_target: Num = _f(0.7, "a number > 0", gt=0)
    scheme: Literal[FOLD_SCHEMES] = _f(  # type: ignore[valid-type]
        "walk_forward", "one of " + ", ".join(FOLD_SCHEMES))
    calendar_freq: str = _f("QS", "a pandas frequency (MS, QS, YS, ...)", min_length=1)
    cpcv_test_folds: StrictInt = _f(2, "an integer >= 2", ge=2)
    cpcv_purge_bars: StrictInt = _f(0, "an integer >= 0", ge=0)
    cpcv_embargo_bars: StrictInt = _f(0, "an integer >= 0", ge=0)


class StorageSettings(_Section):
    url: str | None = _f(None, "null or a URL")
    heartbeat_interval: StrictInt = _f(5, "an integer >= 1", ge=1)
    grace_period: StrictInt = _f(20, "an integer >= 1", ge=1)
    max_retry: StrictInt = _f(3, "an integer >= 0", ge=0)
    journal_fsync: StrictBool = _f(False, "true or false")
    pg_synchronous_commit: StrictBool = _f(False, "true or false")


class MarketHoursSettings(_Section):
    calendar: str = _f("XNYS", "a calendar code", min_length=1)
    policy: Literal["refuse", "wait", "ignore"] = _f("refuse", "refuse, wait or ignore")
    margin_minutes: Num = _f(30.0, "minutes >= 0", ge=0)
    min_budget_minutes: Num = _f(10.0, "minutes >= 0", ge=0)


class TrackingSettings(_Section):
    enabled: StrictBool = _f(True, "true or false")
    project: str = _f("Default", "a name", min_length=1)
    strategy_family: str = _f("General", "a name", min_length=1)
    batch_seconds: Num = _f(0.5, "seconds > 0", gt=0)
    child_runs: StrictInt | None = _f(None, "null or an integer >= 0", ge=0)


class AssetClassSettings(_Section):
    """Which symbols of the universe are indices and volatility products; the rest are
    ``default``. The run queue's ``research_lab/asset_class`` tag and priority and the MLflow
    experiment's asset class come from here, never from the symbol's spelling."""

    default: Literal["equity", "index", "volatility"] = _f("equity", "equity, index or volatility")
    index: tuple[str, ...] = _f(("^GSPC",), "a list of symbols")
    volatility: tuple[str, ...] = _f(("^VIX",), "a list of symbols")

    def of(self, symbol: str) -> str:
        s = symbol.strip().upper()
        if s in {v.upper() for v in self.volatility}:
            return "volatility"
        if s in {v.upper() for v in self.index}:
            return "index"
        return self.default


class ScheduleSettings(_Section):
    strategies: tuple[str, ...] = _f(("sma_cross",), "a list of strategies", min_length=1)
    n_trials: StrictInt = _f(100, "an integer >= 1", ge=1)


SECTIONS: dict[str, type[_Section]] = {
    "study": StudySettings,
    "sampler": SamplerSettings,
    "pruner": PrunerSettings,
    "walkforward": WalkForwardSettings,
    "storage": StorageSettings,
    "market_hours": MarketHoursSettings,
    "tracking": TrackingSettings,
    "schedule": ScheduleSettings,
    "asset_classes": AssetClassSettings,
}


class OptimizeConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    study: StudySettings = Field(default_factory=StudySettings)
    sampler: SamplerSettings = Field(default_factory=SamplerSettings)
    pruner: PrunerSettings = Field(default_factory=PrunerSettings)
    walkforward: WalkForwardSettings = Field(default_factory=WalkForwardSettings)
    # the lab's one broker (config/research_lab.yaml `broker:`), not a section of this file
    broker: Any = Field(default_factory=lambda: _broker())
    storage: StorageSettings = Field(default_factory=StorageSettings)
    market_hours: MarketHoursSettings = Field(default_factory=MarketHoursSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    asset_classes: AssetClassSettings = Field(default_factory=AssetClassSettings)
    path: str = "defaults"

    def override(self, section: str, **values: Any) -> OptimizeConfig:
        """A copy with ``values`` replacing keys of ``section`` (``None`` values are ignored)."""
        given = {k: v for k, v in values.items() if v is not None}
        if not given:
            return self
        merged = section_settings(section, {**getattr(self, section).to_dict(), **given},
                                  "override")
        return self.model_copy(update={section: merged})


def section_settings(name: str, raw: Any, where: str) -> _Section:
    """The validated model of section ``name``; :class:`ConfigError` naming ``where`` and the
    key otherwise (the only way a section is built from outside values)."""
    cls = SECTIONS[name]
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: '{name}' must be a mapping")
    known = list(cls.model_fields)
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {name}.{', '.join(map(str, unknown))}; "
                          f"valid: {', '.join(known)}")
    try:
        return cls.model_validate(dict(raw))
    except ValidationError as exc:
        key = str(exc.errors()[0]["loc"][0])
        expected = cls.model_fields[key].description
        raise ConfigError(f"{where}: {name}.{key} must be {expected}, got {raw[key]!r}") from None


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
    sections = {name: section_settings(name, doc[name] or {}, str(p)) for name in SECTIONS if name in doc}
    return OptimizeConfig(**sections, broker=_broker(), path=str(p))


def _broker() -> BrokerConfig:
    from research_lab.core.backtest.costs import load_broker

    return load_broker()
