"""The full report: every metric of a backtest as one flat ``{name: float}`` dict.

:func:`performance_report` is what a backtest asset logs to MLflow and shows in Dagster: always
the same keys, in the order of :data:`METRIC_NAMES` (stable snake_case names, safe to use as MLflow
metric keys and leaderboard columns). A metric whose input was not given is NaN, never missing:

============================= ====================== =============================================
group                         needs                  computed by
============================= ====================== =============================================
:mod:`.performance` (24)      returns                quantstats
:mod:`.risk` (8)              returns                quantstats
:mod:`.trades` (8)            ``trades``             here (quantstats has no trades)
:mod:`.exposure` (2)          ``position``,          here
                              ``traded_value`` +
                              ``equity``
:mod:`.benchmark` (8)         ``benchmark`` Series   quantstats + here, on the shared dates
============================= ====================== =============================================

So a bare daily returns series already gives 32 quantstats metrics; with an engine's trades and
positions the report has 42, with a benchmark 50. :data:`METRIC_DEFINITIONS` holds a one-line
definition per name (each module's docstring has the full convention).

Conventions: ``periods=252`` bars a year, ``rf=0`` (annual, any sign, subtracted per bar from
the returns before Sharpe, Sortino, their smart variants, Omega and PSR: quantstats itself would
ignore a rate <= 0), simple returns as fractions, ratios as plain numbers (0.25 is 25 %).
The optimizer's hot path is :mod:`.fast` (same values for its six metrics, ~1000x cheaper).
"""

from __future__ import annotations

import pandas as pd

from . import benchmark as _benchmark
from . import exposure as _exposure
from . import performance as _performance
from . import risk as _risk
from . import trades as _trades
from .returns import clean_returns

METRIC_DEFINITIONS: dict[str, str] = {
    **_performance.DEFINITIONS,
    **_risk.DEFINITIONS,
    **_trades.DEFINITIONS,
    **_exposure.DEFINITIONS,
    **_benchmark.DEFINITIONS,
}
METRIC_NAMES: tuple[str, ...] = tuple(METRIC_DEFINITIONS)
NAN = float("nan")


def performance_report(
    returns: pd.Series,
    *,
    benchmark: pd.Series | None = None,
    trades: _trades.TradesLike | None = None,
    position: _exposure.ArrayLike | None = None,
    traded_value: _exposure.ArrayLike | None = None,
    equity: _exposure.ArrayLike | None = None,
    rf: float = 0.0,
    periods: int = 252,
) -> dict[str, float]:
    """Every metric of :data:`METRIC_NAMES` for one strategy run.

    Args:
        returns: per-bar simple returns indexed by session date (a leading NaN is dropped).
        benchmark: the benchmark's per-bar returns as a ``pd.Series`` (a ticker string raises
            ``TypeError``); benchmark metrics use the dates both series share.
        trades: closed trades (see :func:`.trades.trades_frame` for the accepted shapes).
        position: per-bar position (anything non-zero counts as in the market).
        traded_value: per-bar traded value in account currency (buys and sells, any sign).
        equity: per-bar account value; needed with ``traded_value`` for turnover.
        rf: annual risk-free rate, any sign (Sharpe, Sortino, smart variants, Omega, PSR).
        periods: bars per year.
    """
    if benchmark is not None:
        _benchmark.check_benchmark(benchmark)
    r = clean_returns(returns)
    out: dict[str, float] = dict.fromkeys(METRIC_NAMES, NAN)
    out.update(_performance.performance_metrics(r, rf=rf, periods=periods))
    out.update(_risk.risk_metrics(r))
    if trades is not None:
        out.update(_trades.trade_metrics(trades))
    out.update(_exposure.exposure_metrics(position, traded_value, equity, periods))
    if benchmark is not None:
        out.update(_benchmark.benchmark_metrics(r, benchmark, periods=periods))
    return out
