"""Market-data sources: where daily bars come from.

Every source keeps the contract of :class:`BarSource` (see ``_base.py``): ``symbols()`` lists the
universe, ``fetch(symbol, start, end)`` returns validated bars for the days in [start, end], an
empty frame only when there truly are no bars, and raises :class:`SourceError` on any failure.

======================= ==================== ==============================================
kind                    class                what
======================= ==================== ==============================================
``"synthetic"``         SyntheticSource      embedded default: a deterministic regime-switching
                                             market with ``^GSPC`` and ``^VIX``, no network
``"csv"``               CsvDirSource         a directory of Yahoo or generic OHLCV CSV files
``"yfinance"``          YFinanceSource       Yahoo Finance over the network
======================= ==================== ==============================================

Pick one by name with :func:`make_source`, as configuration does::

    source = make_source("csv", directory="../shared/data")
    bars = source.fetch("ORCL", date(2014, 1, 2), date(2014, 1, 31))
"""

from __future__ import annotations

import inspect
from typing import Any

from research_lab.core.marketdata.sources._base import BarSource, SourceError
from research_lab.core.marketdata.sources.csv_dir import CsvDirSource, CsvFile, symbol_for_stem
from research_lab.core.marketdata.sources.synthetic import SyntheticSource
from research_lab.core.marketdata.sources.yfinance_source import YFinanceSource

SOURCE_KINDS: dict[str, type[BarSource]] = {
    "synthetic": SyntheticSource,
    "csv": CsvDirSource,
    "yfinance": YFinanceSource,
}


def make_source(kind: str, **options: Any) -> BarSource:
    """A source of the given kind, built from keyword options (its constructor's arguments).

    ``calendar`` may be an exchange name (``"XNYS"``) as well as a ``TradingCalendar``.
    """
    key = str(kind).strip().lower()
    if key not in SOURCE_KINDS:
        raise ValueError(
            f"unknown market-data source kind {kind!r}; valid kinds: {', '.join(SOURCE_KINDS)}"
        )
    cls = SOURCE_KINDS[key]
    params = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(options) - set(params) - {"self"})
    if unknown:
        valid = ", ".join(p for p in params if p != "self")
        raise ValueError(f"{key} source does not take option(s) {', '.join(unknown)}; "
                         f"it takes: {valid}")
    return cls(**options)


__all__ = [
    "BarSource",
    "CsvDirSource",
    "CsvFile",
    "SOURCE_KINDS",
    "SourceError",
    "SyntheticSource",
    "YFinanceSource",
    "make_source",
    "symbol_for_stem",
]
