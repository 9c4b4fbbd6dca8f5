"""Settings: ``config/research_lab.yaml`` overlaid with environment variables.

Nothing here runs at import time: call :func:`load_settings` when a value is needed (a resource's
setup, a CLI command), so that tests and processes can change the environment freely.

Environment variables (each overrides the file):

=========================== ======================================================
RESEARCH_LAB_CONFIG         path of the YAML file (default: ``config/research_lab.yaml``
                            of the source tree, or none)
RESEARCH_LAB_HOME           folder for embedded stores (default ``~/.research_lab``)
RESEARCH_LAB_STORE_URL      market-data store URL (default ``sqlite:///$HOME/market.db``)
RESEARCH_LAB_SOURCE         ``synthetic`` | ``csv`` | ``yfinance``
RESEARCH_LAB_SEED           synthetic source seed
RESEARCH_LAB_CSV_DIR        landing folder of the csv source
RESEARCH_LAB_UNIVERSE       comma-separated symbols
=========================== ======================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from research_lab.core.yamlfile import read_mapping

SOURCE_KINDS = ("synthetic", "csv", "yfinance")
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "research_lab.yaml"


class SettingsError(ValueError):
    """A bad configuration value; the message names the file (or variable) and the field."""


@dataclass(frozen=True)
class LabSettings:
    source_kind: str = "synthetic"
    seed: int = 42
    csv_dir: str | None = None
    universe: tuple[str, ...] = ("ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE", "^GSPC", "^VIX")
    calendar: str = "XNYS"
    history_years: int = 2
    gap_lookback_sessions: int = 260
    store_url: str | None = None
    max_abs_log_return: float = 0.25
    max_abs_log_return_by_symbol: tuple[tuple[str, float], ...] = (("^VIX", 0.7),)
    stale_run: int = 5
    home: Path = field(default_factory=lambda: Path.home() / ".research_lab")
    config_path: Path | None = None

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.home / 'market.db'}"

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


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs and messages)."""
    import re

    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


def _where(path: Path | None) -> str:
    return str(path) if path else "settings"


def _from_mapping(data: Mapping[str, Any], path: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    known = {"source", "universe", "calendar", "ingest", "store_url", "quality"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SettingsError(
            f"{_where(path)}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}"
        )
    src = data.get("source") or {}
    if not isinstance(src, Mapping):
        raise SettingsError(f"{_where(path)}: 'source' must be a mapping")
    if "kind" in src:
        out["source_kind"] = src["kind"]
    if "seed" in src:
        out["seed"] = src["seed"]
    if src.get("csv_dir"):
        out["csv_dir"] = str(src["csv_dir"])
    if "universe" in data:
        uni = data["universe"]
        if not isinstance(uni, list) or not all(isinstance(s, str) and s.strip() for s in uni):
            raise SettingsError(f"{_where(path)}: 'universe' must be a list of symbols")
        out["universe"] = tuple(s.strip().upper() for s in uni)
    if "calendar" in data:
        out["calendar"] = str(data["calendar"])
    ingest = data.get("ingest") or {}
    for key in ("history_years", "gap_lookback_sessions"):
        if key in ingest:
            out[key] = ingest[key]
    if data.get("store_url"):
        out["store_url"] = str(data["store_url"])
    quality = data.get("quality") or {}
    if "max_abs_log_return" in quality:
        out["max_abs_log_return"] = quality["max_abs_log_return"]
    if "stale_run" in quality:
        out["stale_run"] = quality["stale_run"]
    by_symbol = quality.get("max_abs_log_return_by_symbol") or {}
    if not isinstance(by_symbol, Mapping):
        raise SettingsError(f"{_where(path)}: quality.max_abs_log_return_by_symbol must map symbols to numbers")
    if by_symbol:
        out["max_abs_log_return_by_symbol"] = tuple((str(k).upper(), v) for k, v in by_symbol.items())
    return out


def _check(s: LabSettings, where: str) -> LabSettings:
    if s.source_kind not in SOURCE_KINDS:
        raise SettingsError(
            f"{where}: source.kind {s.source_kind!r} is not one of {', '.join(SOURCE_KINDS)}"
        )
    for name in ("seed", "history_years", "gap_lookback_sessions"):
        value = getattr(s, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SettingsError(f"{where}: {name} must be a non-negative integer, got {value!r}")
    limits = [("max_abs_log_return", s.max_abs_log_return)] + [
        (f"max_abs_log_return_by_symbol[{k}]", v) for k, v in s.max_abs_log_return_by_symbol
    ]
    for name, value in limits:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise SettingsError(f"{where}: quality.{name} must be a positive number, got {value!r}")
    if isinstance(s.stale_run, bool) or not isinstance(s.stale_run, int) or s.stale_run < 2:
        raise SettingsError(f"{where}: quality.stale_run must be an integer >= 2, got {s.stale_run!r}")
    if not s.universe:
        raise SettingsError(f"{where}: universe is empty")
    from research_lab.core.marketdata.symbols import symbol_problem

    for symbol in s.universe:
        if problem := symbol_problem(symbol):
            raise SettingsError(f"{where}: universe symbol {symbol!r} {problem}")
    return s


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> LabSettings:
    """Read the YAML file (if any) and overlay the environment."""
    env = os.environ if env is None else env
    cfg_path = Path(path) if path else Path(env["RESEARCH_LAB_CONFIG"]) if env.get(
        "RESEARCH_LAB_CONFIG"
    ) else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    values: dict[str, Any] = {}
    if cfg_path is not None:
        data = read_mapping(cfg_path, error=SettingsError)
        values = _from_mapping(data, cfg_path)
    settings = LabSettings(config_path=cfg_path, **values)

    overrides: dict[str, Any] = {}
    if env.get("RESEARCH_LAB_HOME"):
        overrides["home"] = Path(env["RESEARCH_LAB_HOME"]).expanduser()
    if env.get("RESEARCH_LAB_STORE_URL"):
        overrides["store_url"] = env["RESEARCH_LAB_STORE_URL"]
    if env.get("RESEARCH_LAB_SOURCE"):
        overrides["source_kind"] = env["RESEARCH_LAB_SOURCE"]
    if env.get("RESEARCH_LAB_CSV_DIR"):
        overrides["csv_dir"] = env["RESEARCH_LAB_CSV_DIR"]
    if env.get("RESEARCH_LAB_SEED"):
        try:
            overrides["seed"] = int(env["RESEARCH_LAB_SEED"])
        except ValueError:
            raise SettingsError(
                f"RESEARCH_LAB_SEED must be an integer, got {env['RESEARCH_LAB_SEED']!r}"
            ) from None
    if env.get("RESEARCH_LAB_UNIVERSE"):
        overrides["universe"] = tuple(
            s.strip().upper() for s in env["RESEARCH_LAB_UNIVERSE"].split(",") if s.strip()
        )
    settings = replace(settings, **overrides)
    return _check(settings, _where(cfg_path) + (" + environment" if overrides else ""))
