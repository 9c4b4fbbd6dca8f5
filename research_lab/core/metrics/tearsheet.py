"""The quantstats HTML tearsheet, written to a file, benchmark always a Series.

``quantstats.reports.html`` is the richest single page a strategy gets (metrics table, yearly
returns, monthly heatmap, drawdown periods, rolling Sharpe and beta). It takes ~3-4 s, so it is
written for the runs a person will look at, not for every optimization trial. Around it:

- the benchmark must be a ``pd.Series`` of returns: a ticker string raises ``TypeError`` here
  (quantstats would call yfinance, and offline it drops the benchmark silently);
- strategy and benchmark are first restricted to the dates both have
  (:func:`.benchmark.align_benchmark`), so the page compares like with like and quantstats never
  back-fills the benchmark across missing dates;
- the benchmark is named after ``benchmark.name`` (or ``benchmark_name``), which the page shows
  in its header, its metrics table and its charts;
- matplotlib's Agg backend (no display) and quiet font lookups (no "findfont" log spam);
- ``output`` is always given, so quantstats never tries to open a browser.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._quantstats import quiet, use_agg_backend
from .benchmark import align_benchmark, check_benchmark
from .returns import clean_returns


def write_tearsheet(
    returns: pd.Series,
    benchmark: pd.Series | None,
    path: str | Path,
    title: str = "Strategy Tearsheet",
    *,
    strategy_name: str = "Strategy",
    benchmark_name: str | None = None,
    rf: float = 0.0,
    periods: int = 252,
) -> Path:
    """Write the quantstats HTML tearsheet of ``returns`` (vs ``benchmark``) to ``path``."""
    if benchmark is not None:
        check_benchmark(benchmark)
        r, b = align_benchmark(returns, benchmark)
        b = b.rename(benchmark_name or benchmark.name or "Benchmark")
    else:
        r, b = clean_returns(returns), None
    r = r.rename(strategy_name)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)

    use_agg_backend()
    with quiet():
        import quantstats

        quantstats.reports.html(
            r,
            benchmark=b,
            rf=rf,
            title=title,
            output=str(out),
            periods_per_year=periods,
            strategy_title=strategy_name,
            benchmark_title=None if b is None else str(b.name),
        )
    return out
