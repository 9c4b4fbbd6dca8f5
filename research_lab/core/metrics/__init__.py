"""Metrics: from a backtest's plain outputs to numbers, tables and pictures.

Inputs are plain pandas/numpy objects, never an engine's classes: an equity curve or daily
returns (``pd.Series`` by session date), closed trades (rows with ``pnl`` and ``return``),
per-bar position and traded value, and optionally a benchmark's daily returns (a ``pd.Series``;
a ticker string raises ``TypeError``, nothing here ever downloads).

Which function for which job::

    from research_lab.core.metrics import (
        fast_metrics, performance_report, regime_table, equity_drawdown_plot, write_tearsheet,
    )

    # an optimizer trial: six numbers in ~50 us (numpy only)
    fast_metrics(returns.to_numpy())          # total_return, cagr, volatility, sharpe_ratio, ...

    # a run a person will look at: 50 metrics as {name: float}, ~0.1 s (quantstats underneath)
    report = performance_report(returns, benchmark=spy_returns, trades=trades,
                                position=position, traded_value=traded, equity=equity)

    # how it did in bull/bear x calm/stressed markets (one row per regime)
    table = regime_table(returns, index_close=spy_close, vix_close=vix_close)
    markdown_table(table)                     # for Dagster metadata or an MLflow artifact

    # artifacts
    equity_drawdown_plot(equity, "equity.png", title="SMA 10/50 on ORCL")
    write_tearsheet(returns, spy_returns, "tearsheet.html", title="SMA 10/50 on ORCL")  # ~3 s

Modules, each documenting its metrics' exact definitions and conventions:

=============== =================================================================================
returns         input gate (:func:`clean_returns`), equity <-> returns, drawdown series
performance     return and ratio metrics via quantstats (CAGR, Sharpe, Sortino, win rate, ...)
risk            drawdown and tail metrics via quantstats (max drawdown, duration, VaR, CVaR, ...)
trades          per-trade statistics (win rate, expectancy, SQN, profit factor, ...)
exposure        time in the market and turnover from positions and traded value
benchmark       alpha, beta, R², information ratio, tracking error, up/down capture
report          :func:`performance_report`: all of the above as one flat dict
fast            the same core six metrics in plain numpy for optimizers
regimes         :func:`regime_table`: metrics per market regime (SMA-200 trend x VIX level)
tables          a dependency-free markdown table renderer
plots           :func:`equity_drawdown_plot`: equity + drawdown PNG
tearsheet       :func:`write_tearsheet`: the quantstats HTML tearsheet
=============== =================================================================================

Conventions everywhere: simple returns as fractions, 252 bars a year, risk-free rate 0 unless
given (annual), drawdowns negative, ratios as plain numbers. quantstats and matplotlib are
imported inside the functions that use them: importing this package costs only pandas/numpy.
"""

from __future__ import annotations

from .benchmark import align_benchmark, benchmark_metrics, check_benchmark
from .exposure import exposure_metrics
from .fast import fast_metrics, fast_metrics_from_equity
from .performance import performance_metrics
from .plots import equity_drawdown_plot
from .regimes import REGIMES, classify_regimes, regime_table
from .report import METRIC_DEFINITIONS, METRIC_NAMES, performance_report
from .returns import clean_returns, drawdown_series, equity_from_returns, returns_from_equity
from .risk import risk_metrics
from .tables import markdown_table, metrics_markdown
from .tearsheet import write_tearsheet
from .trades import trade_metrics, trades_frame

__all__ = [
    "METRIC_DEFINITIONS",
    "METRIC_NAMES",
    "REGIMES",
    "align_benchmark",
    "benchmark_metrics",
    "check_benchmark",
    "classify_regimes",
    "clean_returns",
    "drawdown_series",
    "equity_drawdown_plot",
    "equity_from_returns",
    "exposure_metrics",
    "fast_metrics",
    "fast_metrics_from_equity",
    "markdown_table",
    "metrics_markdown",
    "performance_metrics",
    "performance_report",
    "regime_table",
    "returns_from_equity",
    "risk_metrics",
    "trade_metrics",
    "trades_frame",
    "write_tearsheet",
]
