"""What a backtest is compared against: a benchmark index and a volatility index, and where
they came from.

A :class:`~.report.BacktestReport` measures a strategy against a benchmark (alpha, beta, R²,
information ratio, tracking error, up/down capture) and splits its returns by market regime
(the index's 200-day SMA trend x the VIX level). Both need the index's *close prices* as a
``pd.Series`` by session date; nothing here ever passes a ticker to a library that would
download it.

:func:`load_market_context` finds them, for the backtest's sessions ``[start, end]``:

1. bar frames already read (the Dagster asset reads the symbol, ``^GSPC`` and ``^VIX`` in one
   store query and hands them over as ``frames``), else the market-data store;
   used when they cover ``[start, end]`` *and the warm-up before it*: the benchmark needs
   :data:`WARMUP_SESSIONS` sessions before ``start`` (its 200-day SMA is then defined on the
   first backtest day), VIX none;
2. otherwise the configured source, when it offers the symbol (the synthetic source always
   offers ``^GSPC`` and ``^VIX``), from :data:`LOOKBACK_DAYS` calendar days before ``start``
   so that the 200-day SMA is defined from the first backtest day;
3. otherwise whatever part the store had (the notes say how much warm-up is missing), else
   nothing. A regime day is "unclassified" only when no earlier index data exists anywhere.

Every outcome is recorded: :attr:`MarketContext.lineage` says per index which origin, span
and data version was used, and :meth:`MarketContext.all_notes` says in words what is missing
(a report with no benchmark has NaN benchmark metrics and says so; with no VIX the regime
table uses the documented realized-volatility stand-in of :mod:`research_lab.core.metrics.regimes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from research_lab.core.marketdata.schema import data_version

BENCHMARK = "^GSPC"
VIX = "^VIX"
LOOKBACK_DAYS = 420  # calendar days before the first backtest day: > 200 sessions for the SMA
SMA_WINDOW = 200  # the regime trend's SMA (research_lab.core.metrics.regimes' default)
WARMUP_SESSIONS = {"benchmark": SMA_WINDOW - 1, "vix": 0}  # sessions needed before start


def close_series(bars: pd.DataFrame, name: str | None = None) -> pd.Series:
    """The ``close`` of a one-symbol bar frame as a float Series indexed by session date."""
    if bars.empty:
        raise ValueError(f"no bars for {name or 'the series'}")
    series = pd.Series(
        bars["close"].to_numpy(dtype="float64"),
        index=pd.DatetimeIndex(bars["session"], name="session"),
        name=name or (str(bars["symbol"].iloc[0]) if "symbol" in bars.columns else "close"),
    )
    return series


def _describe(bars: pd.DataFrame, symbol: str, origin: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "origin": origin,
        "first": bars["session"].iloc[0].date().isoformat(),
        "last": bars["session"].iloc[-1].date().isoformat(),
        "bars": int(len(bars)),
        "data_version": data_version(bars),
    }


@dataclass(frozen=True, eq=False)
class MarketContext:
    """Benchmark and volatility-index closes (either may be None) with their lineage."""

    benchmark_close: pd.Series | None = None
    vix_close: pd.Series | None = None
    lineage: dict[str, Any] = field(default_factory=dict)  # "benchmark"/"vix" -> description
    notes: tuple[str, ...] = ()  # why an index is missing or partial (see also context_notes)

    def all_notes(self) -> tuple[str, ...]:
        """What stands in for a missing index (:func:`context_notes`), then :attr:`notes`."""
        return context_notes(self.lineage) + self.notes

    @classmethod
    def from_frames(
        cls,
        benchmark: pd.DataFrame | None = None,
        vix: pd.DataFrame | None = None,
        *,
        origin: str = "given",
    ) -> MarketContext:
        """A context from bar frames of the benchmark and the volatility index."""
        lineage: dict[str, Any] = {}
        out: dict[str, pd.Series | None] = {"benchmark": None, "vix": None}
        for key, frame in (("benchmark", benchmark), ("vix", vix)):
            if frame is not None and not frame.empty:
                symbol = str(frame["symbol"].iloc[0]) if "symbol" in frame.columns else key
                out[key] = close_series(frame, symbol)
                lineage[key] = _describe(frame, symbol, origin)
        return cls(out["benchmark"], out["vix"], lineage)


def context_notes(lineage: Mapping[str, Any]) -> tuple[str, ...]:
    """What a context without a benchmark or VIX series stands in for, in words."""
    notes = []
    if "benchmark" not in lineage:
        notes.append(
            "no benchmark index data: benchmark metrics (alpha, beta, ...) are NaN and the "
            "regime trend uses the symbol's own close"
        )
    if "vix" not in lineage:
        notes.append(
            "no VIX series: the regime volatility level is the realized-volatility stand-in "
            "(21-day, annualized, in VIX points)"
        )
    return tuple(notes)


def _warmup(bars: pd.DataFrame, start: date) -> int:
    """Sessions of ``bars`` before ``start``."""
    return int((pd.DatetimeIndex(bars["session"]) < pd.Timestamp(start)).sum())


def _covers(bars: pd.DataFrame | None, start: date, end: date, warmup: int = 0) -> bool:
    if bars is None or bars.empty:
        return False
    return (bars["session"].iloc[0].date() <= start and bars["session"].iloc[-1].date() >= end
            and _warmup(bars, start) >= warmup)


def _from_source(
    source: Any, symbol: str, start: date, end: date
) -> tuple[pd.DataFrame | None, str]:
    """(bars or None, why not) from a source that offers ``symbol``; never raises."""
    try:
        if symbol not in source.symbols():
            return None, f"{source.name} source does not offer {symbol}"
        bars = source.fetch(symbol, start - timedelta(days=LOOKBACK_DAYS), end)
    except Exception as exc:  # noqa: BLE001 - a missing index degrades the report, says why
        return None, f"{getattr(source, 'name', 'source')} source failed for {symbol}: {exc}"
    if bars.empty:
        return None, f"{source.name} source has no {symbol} bars up to {end}"
    return bars, ""


def load_market_context(
    start: date,
    end: date,
    *,
    store: Any = None,
    source: Any | Callable[[], Any] = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
    benchmark: str = BENCHMARK,
    vix: str = VIX,
    store_label: str = "store",
) -> MarketContext:
    """Benchmark and VIX closes for a backtest over sessions ``[start, end]`` (module docs).

    Args:
        store: a :class:`~research_lab.core.marketdata.store.BarStore` (or None).
        source: a bar source, or a zero-argument callable building one (called only if needed).
        frames: bar frames already read, by symbol; used instead of querying ``store``.
        store_label: how the lineage names the store's origin (e.g. its masked URL).
    """
    found: dict[str, pd.DataFrame] = {}
    lineage: dict[str, Any] = {}
    reasons: list[str] = []
    src = None
    for key, symbol in (("benchmark", benchmark), ("vix", vix)):
        stored = None
        warmup = WARMUP_SESSIONS[key]
        if frames is not None:
            stored = frames.get(symbol)
        elif store is not None:
            stored = store.read_bars(symbol, start - timedelta(days=LOOKBACK_DAYS), end)
        if _covers(stored, start, end, warmup):
            found[key], origin = stored, store_label
        else:
            bars, why = None, "no source configured"
            if source is not None:
                if src is None:
                    src = source() if callable(source) and not hasattr(source, "fetch") else source
                bars, why = _from_source(src, symbol, start, end)
                if bars is not None and not _covers(bars, start, end, warmup) and _covers(
                        stored, start, end):
                    bars, why = None, f"{src.name} source has no earlier {symbol} bars either"
            if bars is not None:
                found[key], origin = bars, f"source:{src.name}"
            elif _covers(stored, start, end):
                found[key], origin = stored, f"{store_label} (no warm-up)"
                reasons.append(
                    f"{symbol} has {_warmup(stored, start)} of the {warmup} sessions before "
                    f"{start} its {SMA_WINDOW}-day SMA needs ({why}): the first regime days "
                    "are unclassified"
                )
            elif stored is not None and not stored.empty:
                found[key], origin = stored, f"{store_label} (partial)"
                reasons.append(f"{symbol} covers only part of {start}..{end}: {why}")
            else:
                reasons.append(f"{symbol}: {why}")
                continue
        lineage[key] = _describe(found[key], symbol, origin)
    closes = {k: close_series(bars, lineage[k]["symbol"]) for k, bars in found.items()}
    return MarketContext(
        closes.get("benchmark"), closes.get("vix"), lineage, tuple(reasons)
    )
