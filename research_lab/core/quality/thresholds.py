"""Thresholds of the sentinel, per symbol, and the YAML file that ``quality calibrate`` writes.

:class:`Thresholds` holds every number the severity decision uses. Built-in defaults suit a
liquid stock; ``research-lab quality calibrate`` fits the model thresholds per symbol on its
stored history (see :mod:`.calibration`) and writes ``config/quality_thresholds.yaml``::

    version: 1
    calibrated_at: '2025-01-02T18:00:00+00:00'
    target_rate: 0.002
    defaults: {jump_warn_z: 9.0, ...}        # used for symbols not listed
    symbols:
      ORCL: {jump_warn_z: 10.4, if_warn: 0.71, ..., sessions: 5036}

Which file is read (at run time, never at import): the ``path`` argument, else
``RESEARCH_LAB_QUALITY_THRESHOLDS``, else ``config/quality_thresholds.yaml`` of the source
tree when it exists, else the built-in defaults. A bad file raises ``ValueError`` naming the
file, the symbol and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from research_lab.core.yamlfile import read_mapping

ENV_VAR = "RESEARCH_LAB_QUALITY_THRESHOLDS"
DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "quality_thresholds.yaml"
# descriptive keys calibrate writes beside the thresholds (ignored when reading)
INFO_KEYS = ("sessions", "span", "observed")


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of the severity decision (robust z in sigmas, IF score in (0, 1))."""

    jump_warn_z: float = 9.0  # |close move| in trailing robust sigmas: warning
    jump_crit_z: float = 25.0  # ... counts toward critical (with a model agreeing)
    if_warn: float = 0.70  # Isolation Forest score: warning
    if_crit: float = 0.80  # ... counts toward critical
    prophet_warn_z: float = 9.0  # |Prophet standardized residual| (close or volume): warning
    prophet_crit_z: float = 25.0  # ... counts toward critical
    split_tolerance: float = 0.12  # |log(ratio) - log(split ratio)| accepted as split-like
    split_min_z: float = 5.0  # a split-like ratio must also be this many sigmas
    unit_tolerance: float = 0.35  # |log(ratio)| within this of log(100) is a unit error
    stale_run: int = 5  # identical OHLC bars in a row that make a frozen feed critical

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"threshold {f.name} must be a positive number, got {value!r}")
        if self.jump_crit_z < self.jump_warn_z or self.prophet_crit_z < self.prophet_warn_z:
            raise ValueError("critical thresholds must not be below warning thresholds")
        if not 0 < self.if_warn <= self.if_crit < 1:
            raise ValueError("need 0 < if_warn <= if_crit < 1")
        if int(self.stale_run) != self.stale_run or self.stale_run < 2:
            raise ValueError(f"stale_run must be an integer >= 2, got {self.stale_run!r}")

    def as_dict(self) -> dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ThresholdBook:
    """Defaults plus per-symbol thresholds, as read from a calibration file (or built-in)."""

    defaults: Thresholds = field(default_factory=Thresholds)
    symbols: Mapping[str, Thresholds] = field(default_factory=dict)
    path: Path | None = None
    calibrated_at: str | None = None

    def for_symbol(self, symbol: str) -> Thresholds:
        return self.symbols.get(symbol.upper(), self.defaults)

    def label(self, symbol: str) -> str:
        """Which thresholds apply to ``symbol`` (stored with each score row)."""
        where = self.path.name if self.path else "built-in"
        return f"{where}:{symbol.upper()}" if symbol.upper() in self.symbols else f"{where}:defaults"

    def with_stale_run(self, stale_run: int) -> ThresholdBook:
        """The same book with ``stale_run`` set everywhere (from the lab settings)."""
        return replace(
            self,
            defaults=replace(self.defaults, stale_run=stale_run),
            symbols={s: replace(t, stale_run=stale_run) for s, t in self.symbols.items()},
        )


def _thresholds(data: Any, where: str, base: Thresholds) -> Thresholds:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: must be a mapping of threshold names to numbers")
    known = {f.name for f in fields(Thresholds)}
    unknown = sorted(set(data) - known - set(INFO_KEYS))
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}"
        )
    try:
        return replace(base, **{k: v for k, v in data.items() if k in known})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def resolve_path(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """The thresholds file that applies (None: built-in defaults)."""
    from research_lab.core.environment import read_environment

    if path:
        return Path(path)
    given = read_environment(env).quality_thresholds  # RESEARCH_LAB_QUALITY_THRESHOLDS
    if given is not None:
        return given
    return DEFAULT_PATH if DEFAULT_PATH.exists() else None


def load_thresholds(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> ThresholdBook:
    """Read the thresholds file (see the module docstring for which one)."""
    where = resolve_path(path, env)
    if where is None:
        return ThresholdBook()
    data = read_mapping(where, what="thresholds file")
    defaults = _thresholds(data.get("defaults") or {}, f"{where}: defaults", Thresholds())
    symbols_data = data.get("symbols") or {}
    if not isinstance(symbols_data, Mapping):
        raise ValueError(f"{where}: symbols must map symbols to thresholds")
    symbols = {
        str(sym).upper(): _thresholds(values, f"{where}: symbols.{sym}", defaults)
        for sym, values in symbols_data.items()
    }
    return ThresholdBook(defaults, symbols, where, data.get("calibrated_at"))


def save_thresholds(
    path: str | Path,
    symbols: Mapping[str, Thresholds],
    *,
    defaults: Thresholds | None = None,
    info: Mapping[str, Mapping[str, Any]] | None = None,
    target_rate: float | None = None,
    calibrated_at: str | None = None,
) -> Path:
    """Write a thresholds file (what ``quality calibrate`` does); returns its path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {"version": 1, "calibrated_at": calibrated_at, "target_rate": target_rate,
                            "defaults": (defaults or Thresholds()).as_dict(), "symbols": {}}
    for sym in sorted(symbols):
        entry = symbols[sym].as_dict()
        entry.update((info or {}).get(sym, {}))
        body["symbols"][sym] = entry
    header = (
        "# Data quality sentinel thresholds, written by `research-lab quality calibrate`.\n"
        "# Per symbol: warning thresholds at the (1 - target_rate) quantile of each evidence on\n"
        "# the symbol's own history, critical ones well above anything seen there.\n"
        "# Read at run time (RESEARCH_LAB_QUALITY_THRESHOLDS overrides the path).\n"
    )
    out.write_text(header + yaml.safe_dump(body, sort_keys=False))
    return out
