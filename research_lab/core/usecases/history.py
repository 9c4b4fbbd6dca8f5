"""The first steps every use case on stored data shares: the quality gate, then the history.

:func:`gated_history` refuses a symbol with open critical anomalies
(:func:`research_lab.core.quality.gate.require_no_open_criticals`, raising
``QualityGateError``) *before* reading its bars; then it reads the symbol, the benchmark
``^GSPC`` and the volatility index ``^VIX`` from the store in one query, falls back to the
configured source for a symbol the store lacks (when given one), and keeps the session range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

BENCHMARK = "^GSPC"  # as research_lab.core.backtest.market_context (not imported: pandas)
VIX = "^VIX"


class MissingDataError(ValueError):
    """No (or too few) bars for the symbol: the message says what to materialize or ingest."""


@dataclass(frozen=True, eq=False)
class History:
    """A symbol's bars in the session range, every frame read with them, and their origin."""

    symbol: str
    bars: Any  # pd.DataFrame, sessions in [start, end]
    origin: str
    frames: dict[str, Any] = field(default_factory=dict)  # symbol -> whole stored history

    @property
    def first(self) -> date:
        return self.bars["session"].iloc[0].date()

    @property
    def last(self) -> date:
        return self.bars["session"].iloc[-1].date()


def require_quality(store: Any, symbol: str) -> None:
    """The gate: ``QualityGateError`` while ``symbol`` has open critical anomalies in ``store``
    (no store: nothing was scored, nothing to block)."""
    from research_lab.core.quality.gate import require_no_open_criticals

    if store is not None:
        require_no_open_criticals(store, symbol)


def between(bars: Any, start: date | None, end: date | None, what: str, min_bars: int = 2):
    """``bars`` with sessions in ``[start, end]``; ``MissingDataError`` with fewer than
    ``min_bars``."""
    sessions = bars["session"].dt.date
    keep = (sessions >= (start or date.min)) & (sessions <= (end or date.max))
    out = bars.loc[keep].reset_index(drop=True)
    if len(out) < min_bars:
        have = f"{sessions.iloc[0]}..{sessions.iloc[-1]}" if len(bars) else "no bars"
        raise MissingDataError(
            f"{what}: {len(out)} bar(s) between {start or 'the start'} and {end or 'the end'} "
            f"(it has {have}); need at least {min_bars}"
        )
    return out


def gated_history(
    store: Any,
    symbol: str,
    *,
    start: date | None = None,
    end: date | None = None,
    source: Callable[[], Any] | None = None,
    min_bars: int = 2,
) -> History:
    """Gate, then read ``symbol`` (+ ``^GSPC``, ``^VIX``) from ``store`` in one query; a symbol
    the store lacks comes from ``source()`` when given, else ``MissingDataError``."""
    symbol = symbol.strip().upper()
    if start and end and end < start:
        raise ValueError(f"end {end} is before start {start}")
    require_quality(store, symbol)
    frames: dict[str, Any] = {}
    if store is not None:
        frame = store.read_many([symbol, BENCHMARK, VIX])
        frames = {str(s): rows.reset_index(drop=True)
                  for s, rows in frame.groupby("symbol", sort=False)}
    bars = frames.get(symbol)
    if bars is not None and not bars.empty:
        origin = f"store {store.url}"
    elif source is not None:
        from research_lab.core.marketdata.calendar import calendar_bounds
        from research_lab.core.marketdata.sources import SourceError

        src = source()
        try:
            bars = src.fetch(symbol, start or calendar_bounds()[0], end or date.today())
        except SourceError as exc:
            raise MissingDataError(f"{symbol} is not in the store and {exc}") from None
        origin = f"source:{src.name}"
    else:
        where = f"the store at {store.url}" if store is not None else "no store"
        raise MissingDataError(
            f"{where} has no bars of {symbol}: ingest them first (`research-lab data ingest "
            f"--symbols {symbol}` or materialize market_data)"
        )
    return History(symbol, between(bars, start, end, f"{symbol} ({origin})", min_bars),
                   origin, frames)
