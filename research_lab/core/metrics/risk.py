"""Drawdown and tail-risk metrics of one daily returns series, computed by quantstats.

==================================== =============================================================
name                                 definition (quantstats function)
==================================== =============================================================
max_drawdown                         min over time of equity / running peak - 1, the account
                                     starting at 1.0 before the first bar (``max_drawdown``);
                                     negative, 0 when the curve never falls
max_drawdown_duration_days           longest drawdown in *calendar* days, first day under water
                                     to the last day before the new high (or the series end),
                                     both included (``drawdown_details(to_drawdown_series(r))``,
                                     quantstats' "Longest DD Days"); 0 without a drawdown
ulcer_index                          sqrt(sum(drawdown ** 2) / (n - 1)) (``ulcer_index``)
value_at_risk                        one-bar 95 % parametric (normal) VaR: the 5 % quantile of
                                     N(mean, std) (``value_at_risk``); a negative return
cvar                                 one-bar 95 % parametric expected shortfall: mean of N(mean,
                                     std) below its 5 % quantile (``conditional_value_at_risk``,
                                     method "parametric"); a negative return
tail_ratio                           |95th percentile / 5th percentile| of the returns
                                     (``tail_ratio``)
skew                                 sample skewness, pandas ``Series.skew`` (``skew``)
kurtosis                             *excess* kurtosis (normal = 0), pandas ``Series.kurt``
                                     (``kurtosis``)
==================================== =============================================================
"""

from __future__ import annotations

import pandas as pd

from ._quantstats import as_float, qs_stats, quiet

DEFINITIONS: dict[str, str] = {
    "max_drawdown": "worst fall from a running peak, from 1.0 before the first bar (quantstats)",
    "max_drawdown_duration_days": "longest drawdown in calendar days (quantstats drawdown_details)",
    "ulcer_index": "sqrt(sum(drawdown ** 2) / (n - 1)) (quantstats ulcer_index)",
    "value_at_risk": "one-bar 95% parametric VaR, a negative return (quantstats value_at_risk)",
    "cvar": "one-bar 95% parametric expected shortfall (quantstats conditional_value_at_risk)",
    "tail_ratio": "|95th / 5th percentile| of returns (quantstats tail_ratio)",
    "skew": "sample skewness of returns (quantstats skew)",
    "kurtosis": "excess kurtosis of returns, normal = 0 (quantstats kurtosis)",
}
NAMES: tuple[str, ...] = tuple(DEFINITIONS)


def max_drawdown_duration_days(returns: pd.Series) -> float:
    """quantstats' "Longest DD Days": the longest drawdown period in calendar days (0 if none)."""
    qs = qs_stats()
    with quiet():
        details = qs.drawdown_details(qs.to_drawdown_series(returns))
    if details.empty:
        return 0.0
    return float(details["days"].max())


def risk_metrics(returns: pd.Series) -> dict[str, float]:
    """The metrics of :data:`NAMES` for a cleaned returns series (see :func:`.clean_returns`)."""
    qs = qs_stats()
    r = returns
    with quiet():
        out = {
            "max_drawdown": qs.max_drawdown(r),
            "max_drawdown_duration_days": max_drawdown_duration_days(r),
            "ulcer_index": qs.ulcer_index(r),
            "value_at_risk": qs.value_at_risk(r, sigma=1, confidence=0.95),
            "cvar": qs.conditional_value_at_risk(r, sigma=1, confidence=0.95, method="parametric"),
            "tail_ratio": qs.tail_ratio(r, cutoff=0.95),
            "skew": qs.skew(r),
            "kurtosis": qs.kurtosis(r),
        }
    return {name: as_float(value) for name, value in out.items()}
