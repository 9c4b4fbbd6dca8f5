"""Settings: ``config/research_lab.yaml`` overlaid with environment variables.

Nothing here runs at import time: call :func:`load_settings` when a value is needed (a resource's
setup, a CLI command), so that tests and processes can change the environment freely.

One validation path: the file is parsed into :class:`SettingsFile` (pydantic, unknown keys
refused), the environment is read and validated by :mod:`research_lab.core.environment` (the
list of every ``RESEARCH_LAB_*`` variable), and the merged values are validated once more as
:class:`LabSettings`. Every error is one :class:`SettingsError` line naming the file and the
field (``config/research_lab.yaml: quality.stale_run: ...``) or the variable
(``RESEARCH_LAB_SEED='x': ...``).

Environment variables read here (each overrides the file): ``RESEARCH_LAB_CONFIG`` (the file),
``RESEARCH_LAB_HOME``, ``RESEARCH_LAB_STORE_URL``, ``RESEARCH_LAB_SOURCE``,
``RESEARCH_LAB_SEED``, ``RESEARCH_LAB_CSV_DIR``, ``RESEARCH_LAB_UNIVERSE``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from research_lab.core.environment import SettingsError, read_environment
from research_lab.core.yamlfile import read_mapping

SOURCE_KINDS = ("synthetic", "csv", "yfinance")
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "research_lab.yaml"

__all__ = ["DEFAULT_CONFIG", "LabSettings", "SOURCE_KINDS", "SettingsError", "SettingsFile",
           "load_settings", "mask_url"]

def _symbols(value: Any) -> Any:
    """A universe (list of symbols) validated by the one symbol rule
    (:mod:`research_lab.core.marketdata.symbols`), normalized and de-duplicated."""
    from research_lab.core.inputs import shown
    from research_lab.core.marketdata.symbols import symbol_problem, validate_symbols

    if isinstance(value, (list, tuple)):
        if not all(isinstance(s, str) for s in value):
            raise ValueError("must be a list of symbols")
        for s in value:
            problem = symbol_problem(s)
            if problem:
                raise ValueError(f"universe symbol {shown(s)} is not a valid symbol: it {problem}")
        return tuple(validate_symbols(value))
    return value


class LabSettings(BaseModel):
    """The resolved settings (file + environment), validated."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    source_kind: Literal["synthetic", "csv", "yfinance"] = "synthetic"
    seed: int = Field(default=42, ge=0, strict=True)
    csv_dir: Optional[str] = None
    universe: tuple[str, ...] = Field(
        default=("ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE", "^GSPC", "^VIX"), min_length=1)
    calendar: str = "XNYS"
    history_years: int = Field(default=2, ge=0, strict=True)
    gap_lookback_sessions: int = Field(default=260, ge=0, strict=True)
    store_url: Optional[str] = None
    max_abs_log_return: float = Field(default=0.25, gt=0)
    max_abs_log_return_by_symbol: tuple[tuple[str, float], ...] = (("^VIX", 0.7),)
    stale_run: int = Field(default=5, ge=2, strict=True)
    home: Path = Field(default_factory=lambda: Path.home() / ".research_lab")
    config_path: Optional[Path] = None

    @field_validator("universe", mode="before")
    @classmethod
    def check_universe(cls, v):
        return _symbols(v)

    @field_validator("max_abs_log_return_by_symbol", mode="after")
    @classmethod
    def check_limits(cls, v):
        for sym, limit in v:
            if limit <= 0:
                raise ValueError(f"[{sym}] must be a positive number, got {limit!r}")
        return v

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.home / 'market.db'}"

    def replace(self, **changes: Any) -> LabSettings:
        """A copy with ``changes``, validated like the original."""
        try:
            return LabSettings(**{**self.model_dump(), **changes})
        except ValidationError as exc:
            raise SettingsError(_message(exc, "settings", _SETTINGS_FIELDS, LabSettings)) from None

    def extreme_move_limit(self, symbol: str) -> float:
        """The |log return| above which a close-to-close move is flagged for ``symbol``."""
        return dict(self.max_abs_log_return_by_symbol).get(symbol, self.max_abs_log_return)

    def source_options(self) -> dict[str, Any]:
        """Keyword options for ``sources.make_source(self.source_kind, **options)``."""
        if self.source_kind == "synthetic":
            return {"seed": self.seed, "symbols": self.universe}
        if self.source_kind == "csv":
            if not self.csv_dir:
                raise SettingsError(
                    "source.csv_dir is required when source.kind is 'csv' "
                    "(set it in the config file or RESEARCH_LAB_CSV_DIR)"
                )
            return {"directory": self.csv_dir}
        return {"symbols": self.universe}


# -- the YAML file ---------------------------------------------------------------------------
class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSection(_Section):
    kind: Optional[Literal["synthetic", "csv", "yfinance"]] = None
    seed: Optional[int] = Field(default=None, ge=0, strict=True)
    csv_dir: Optional[str] = None


class IngestSection(_Section):
    history_years: Optional[int] = Field(default=None, ge=0, strict=True)
    gap_lookback_sessions: Optional[int] = Field(default=None, ge=0, strict=True)


class QualitySection(_Section):
    max_abs_log_return: Optional[float] = Field(default=None, gt=0)
    max_abs_log_return_by_symbol: Optional[dict[str, float]] = None
    stale_run: Optional[int] = Field(default=None, ge=2, strict=True)


class SettingsFile(_Section):
    """``config/research_lab.yaml`` as written (every key optional; unknown keys refused)."""

    source: Optional[SourceSection] = None
    universe: Optional[tuple[str, ...]] = Field(default=None, min_length=1)
    calendar: Optional[str] = None
    ingest: Optional[IngestSection] = None
    store_url: Optional[str] = None
    quality: Optional[QualitySection] = None
    # the lab's one broker: read and validated by research_lab.core.backtest.costs.load_broker
    broker: Any = None

    @field_validator("universe", mode="before")
    @classmethod
    def check_universe(cls, v):
        return _symbols(v)

    def values(self) -> dict[str, Any]:
        """The :class:`LabSettings` fields this file sets."""
        src, ing, q = self.source or SourceSection(), self.ingest or IngestSection(), \
            self.quality or QualitySection()
        by_symbol = q.max_abs_log_return_by_symbol
        out = {
            "source_kind": src.kind, "seed": src.seed, "csv_dir": src.csv_dir or None,
            "universe": self.universe, "calendar": self.calendar,
            "history_years": ing.history_years,
            "gap_lookback_sessions": ing.gap_lookback_sessions,
            "store_url": self.store_url or None,
            "max_abs_log_return": q.max_abs_log_return, "stale_run": q.stale_run,
            "max_abs_log_return_by_symbol": None if by_symbol is None
            else tuple((str(k).upper(), v) for k, v in by_symbol.items()),
        }
        return {k: v for k, v in out.items() if v is not None}


# where each LabSettings field is written in the file (for messages)
_SETTINGS_FIELDS = {
    "source_kind": "source.kind", "seed": "source.seed", "csv_dir": "source.csv_dir",
    "history_years": "ingest.history_years",
    "gap_lookback_sessions": "ingest.gap_lookback_sessions",
    "max_abs_log_return": "quality.max_abs_log_return", "stale_run": "quality.stale_run",
    "max_abs_log_return_by_symbol": "quality.max_abs_log_return_by_symbol",
}


def _message(exc: ValidationError, where: str, names: Mapping[str, str] | None = None,
             model: Any = None) -> str:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    if names and loc and loc[0] in names:
        loc[0] = names[loc[0]]
    field = '.'.join(loc) or 'file'
    if err["type"] == "literal_error":  # name the valid choices
        choices = err.get("ctx", {}).get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"{where}: {field} {err['input']!r} is not one of {choices}"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model or SettingsFile, err["loc"][:-1])
        msg = "unknown key" + (f" (expected one of {', '.join(allowed)})" if allowed else "")
    shown = f", got {err['input']!r}" if err["type"] not in ("extra_forbidden", "missing") \
        and not isinstance(err.get("input"), (dict, list, tuple)) else ""
    return f"{where}: {field}: {msg}{shown}"


def _allowed_keys(model: Any, parent: tuple) -> list[str]:
    """The keys ``model`` (the settings file) allows where ``parent`` (a location) points."""
    import typing

    for part in parent:
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return []
        args = [a for a in typing.get_args(info.annotation) if a is not type(None)] \
            or [info.annotation]
        model = args[0]
    fields = getattr(model, "model_fields", None)
    return list(fields) if isinstance(fields, dict) else []


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs and messages)."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


def _read_file(path: Path) -> dict[str, Any]:
    data = read_mapping(path, error=SettingsError)
    try:
        return SettingsFile.model_validate(data).values()
    except ValidationError as exc:
        raise SettingsError(_message(exc, str(path))) from None


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> LabSettings:
    """Read the YAML file (if any) and overlay the environment (validated: see the module)."""
    environment = read_environment(env)  # every RESEARCH_LAB_* variable, or SettingsError
    if path:
        cfg_path: Path | None = Path(path)
    elif environment.config is not None:
        cfg_path = environment.config
    else:
        cfg_path = DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None
    values = _read_file(cfg_path) if cfg_path is not None else {}
    overrides = {k: v for k, v in {
        "home": environment.home, "store_url": environment.store_url,
        "source_kind": environment.source, "csv_dir": environment.csv_dir,
        "seed": environment.seed, "universe": environment.universe,
    }.items() if v is not None}
    try:
        return LabSettings(config_path=cfg_path, **{**values, **overrides})
    except ValidationError as exc:
        where = str(cfg_path) if cfg_path else "settings"
        raise SettingsError(_message(exc, where, _SETTINGS_FIELDS, LabSettings)) from None
