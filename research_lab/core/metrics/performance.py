"""Return and ratio metrics of one daily returns series, computed by quantstats.

Every value here is what the named ``quantstats.stats`` function (0.0.86) returns for the same
cleaned series, ``periods=252`` bars a year and ``rf=0`` unless told otherwise; the tests pin
the values and check them against independent computations. Two deliberate departures:

* **risk-free rate**: quantstats subtracts ``rf`` only when it is > 0 (a negative rate is
  silently treated as 0). Here the per-bar rate ``rf_d = (1 + rf) ** (1 / periods) - 1`` is
  subtracted from the returns *before* quantstats sees them (with ``rf=0`` there), for any
  rate, positive, zero or negative: Sharpe, Sortino, their smart variants, Omega and PSR then
  equal quantstats' own rf > 0 values and :mod:`.fast`'s values for every rate.
* **constant returns**: quantstats divides by a std of ~1e-19 and reports a Sharpe of ~1e16;
  here the constant-returns convention of :mod:`.fast` applies (``ZERO_STD_REL``): Sharpe and
  smart Sharpe are +-inf by the sign of the mean excess return (NaN when it is 0) and PSR is
  1, 0 or NaN accordingly.

Conventions worth knowing before reading a number:

========================== ========================================================================
name                       definition (quantstats function)
========================== ========================================================================
total_return               prod(1 + r) - 1 (``comp``)
cagr                       (1 + total_return) ** (periods / n) - 1, n = number of returns
                           (``cagr``; 0.0.86 counts *bars*, not calendar years; rf is not used)
avg_return                 mean of the *non-zero* returns (``avg_return``: flat days excluded)
expected_return            geometric mean per bar: prod(1 + r) ** (1 / n) - 1 (``expected_return``)
avg_win, avg_loss          mean of the positive / negative returns (``avg_win`` / ``avg_loss``)
volatility                 std(r, ddof=1) * sqrt(periods) (``volatility``)
sharpe_ratio               mean(x) / std(x, ddof=1) * sqrt(periods), x = r - rf_d (``sharpe``),
                           rf_d = (1 + rf) ** (1 / periods) - 1, the per-bar risk-free rate
sortino_ratio              mean(x) / sqrt(sum(x[x < 0] ** 2) / n) * sqrt(periods) (``sortino``;
                           downside over *all* n bars; NaN when there is no losing bar)
smart_sharpe_ratio         sharpe_ratio / autocorrelation penalty, penalty = sqrt(1 + 2 * sum
                           over lags k of ((n - k) / n) * |rho_1| ** k) (``smart_sharpe``)
smart_sortino_ratio        sortino_ratio with the same penalty (``smart_sortino``)
calmar_ratio               cagr / abs(max_drawdown) (``calmar``)
omega_ratio                sum(x[x > 0]) / -sum(x[x < 0]), threshold 0 (``omega``)
probabilistic_sharpe_ratio P(true Sharpe > 0) from the per-bar Sharpe, skew and kurtosis
                           (``probabilistic_sharpe_ratio``), in 0..1
best_day, worst_day        largest / smallest single return (``best`` / ``worst``)
win_rate                   bars with r > 0 / bars with r != 0 (``win_rate``; per bar, not trade)
payoff_ratio               avg_win / abs(avg_loss) (``payoff_ratio``; per bar)
profit_factor              sum(r[r >= 0]) / abs(sum(r[r < 0])) (``profit_factor``; per bar);
                           0 when flat, inf when nothing was lost
gain_to_pain_ratio         sum(r) / abs(sum(r[r < 0])) (``gain_to_pain_ratio``, daily)
kelly_criterion            win_rate - (1 - win_rate) / payoff_ratio (``kelly_criterion``)
max_consecutive_wins       longest run of r > 0 (``consecutive_wins``)
max_consecutive_losses     longest run of r < 0 (``consecutive_losses``)
time_in_market             bars with r != 0 / bars, *rounded up* to the next 0.01 (``exposure``);
                           :mod:`.exposure` gives the exact figure from the engine's positions
========================== ========================================================================
"""

from __future__ import annotations

import math

import pandas as pd

from ._quantstats import as_float, qs_stats, quiet
from .fast import ZERO_STD_REL, per_bar_rf

DEFINITIONS: dict[str, str] = {
    "total_return": "compounded return over the whole series: prod(1 + r) - 1 (quantstats comp)",
    "cagr": "(1 + total_return) ** (periods / n_bars) - 1 (quantstats cagr, bar-count years)",
    "avg_return": "mean of the non-zero per-bar returns (quantstats avg_return)",
    "expected_return": "geometric mean per-bar return (quantstats expected_return)",
    "avg_win": "mean of the positive per-bar returns (quantstats avg_win)",
    "avg_loss": "mean of the negative per-bar returns (quantstats avg_loss)",
    "volatility": "annualized std of returns: std(ddof=1) * sqrt(periods) (quantstats volatility)",
    "sharpe_ratio": "mean / std of excess returns * sqrt(periods) (quantstats sharpe)",
    "sortino_ratio": "mean / downside deviation * sqrt(periods) (quantstats sortino)",
    "smart_sharpe_ratio": "Sharpe penalized for return autocorrelation (quantstats smart_sharpe)",
    "smart_sortino_ratio": "Sortino penalized for autocorrelation (quantstats smart_sortino)",
    "calmar_ratio": "cagr / |max_drawdown| (quantstats calmar)",
    "omega_ratio": "gains above 0 / losses below 0, per bar (quantstats omega)",
    "probabilistic_sharpe_ratio": "probability that the true Sharpe exceeds 0 (quantstats)",
    "best_day": "largest single-bar return (quantstats best)",
    "worst_day": "smallest single-bar return (quantstats worst)",
    "win_rate": "positive bars / non-zero bars (quantstats win_rate; per bar, not per trade)",
    "payoff_ratio": "avg_win / |avg_loss| per bar (quantstats payoff_ratio)",
    "profit_factor": "sum of non-negative / |sum of negative| returns (quantstats profit_factor)",
    "gain_to_pain_ratio": "sum(r) / |sum of negative r| (quantstats gain_to_pain_ratio)",
    "kelly_criterion": "win_rate - (1 - win_rate) / payoff_ratio (quantstats kelly_criterion)",
    "max_consecutive_wins": "longest run of positive bars (quantstats consecutive_wins)",
    "max_consecutive_losses": "longest run of negative bars (quantstats consecutive_losses)",
    "time_in_market": "non-zero bars / bars, rounded up to 0.01 (quantstats exposure)",
}
NAMES: tuple[str, ...] = tuple(DEFINITIONS)


def _calmar(qs, r, periods: int) -> float:
    """quantstats' calmar, NaN where there is no drawdown (it divides by zero there)."""
    try:
        return qs.calmar(r, periods=periods)
    except ZeroDivisionError:
        return float("nan")


def performance_metrics(
    returns: pd.Series, *, rf: float = 0.0, periods: int = 252
) -> dict[str, float]:
    """The metrics of :data:`NAMES` for a cleaned returns series (see :func:`.clean_returns`)."""
    qs = qs_stats()
    r = returns
    # the excess returns, for any rate (quantstats would ignore rf <= 0); quantstats then
    # gets rf=0 and computes exactly what it computes for a positive rate
    x = r - per_bar_rf(rf, periods) if rf else r
    with quiet():
        out = {
            "total_return": qs.comp(r),
            "cagr": qs.cagr(r, rf=0.0, compounded=True, periods=periods),
            "avg_return": qs.avg_return(r),
            "expected_return": qs.expected_return(r),
            "avg_win": qs.avg_win(r),
            "avg_loss": qs.avg_loss(r),
            "volatility": qs.volatility(r, periods=periods),
            "sharpe_ratio": qs.sharpe(x, periods=periods),
            "sortino_ratio": qs.sortino(x, periods=periods),
            "smart_sharpe_ratio": qs.smart_sharpe(x, periods=periods),
            "smart_sortino_ratio": qs.smart_sortino(x, periods=periods),
            "calmar_ratio": _calmar(qs, r, periods),
            "omega_ratio": qs.omega(x, required_return=0.0, periods=periods),
            "probabilistic_sharpe_ratio": qs.probabilistic_sharpe_ratio(x, periods=periods),
            "best_day": qs.best(r),
            "worst_day": qs.worst(r),
            "win_rate": qs.win_rate(r),
            "payoff_ratio": qs.payoff_ratio(r),
            "profit_factor": qs.profit_factor(r),
            "gain_to_pain_ratio": qs.gain_to_pain_ratio(r),
            "kelly_criterion": qs.kelly_criterion(r),
            "max_consecutive_wins": qs.consecutive_wins(r),
            "max_consecutive_losses": qs.consecutive_losses(r),
            "time_in_market": qs.exposure(r),
        }
    result = {name: as_float(value) for name, value in out.items()}
    mean, std = float(r.mean()), float(r.std(ddof=1)) if len(r) > 1 else math.nan
    if len(r) > 1 and std <= ZERO_STD_REL * abs(mean):  # constant returns
        excess = float(x.mean())
        sign = math.nan if excess == 0.0 else math.copysign(math.inf, excess)
        result["sharpe_ratio"] = result["smart_sharpe_ratio"] = sign
        result["probabilistic_sharpe_ratio"] = (
            math.nan if math.isnan(sign) else float(sign > 0)
        )
    return result
