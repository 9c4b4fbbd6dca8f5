"""The quantstats-backed metrics: wired to quantstats, pinned on real ORCL returns, and each
recomputed here from its written definition (numpy/scipy, never quantstats or our code).

quantstats-vs-quantstats comparisons through a thin wrapper could not fail; these can: the
wiring test fails if a metric stops coming from its quantstats function, the pins fail if a
quantstats upgrade moves a number, the independent computations fail if a definition in
``core/metrics/performance.py`` / ``risk.py`` is not what the code computes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from research_lab.core.metrics import performance_metrics, performance_report, risk_metrics
from research_lab.core.metrics.performance import NAMES as PERFORMANCE_NAMES
from research_lab.core.metrics.risk import NAMES as RISK_NAMES

# performance_metrics + risk_metrics of ORCL 1995-2014 close-to-close returns (5,035 values)
PINNED_ORCL = {
    "total_return": 20.2394751955807,
    "cagr": 0.1652606610085241,
    "avg_return": 0.0010511780822825033,
    "expected_return": 0.0006071080462719536,
    "avg_win": 0.0206708735729083,
    "avg_loss": -0.019190467409487055,
    "volatility": 0.4624378567054547,
    "sharpe_ratio": 0.5614500698938754,
    "sortino_ratio": 0.8429469970472052,
    "smart_sharpe_ratio": 0.530698977090862,
    "smart_sortino_ratio": 0.7967780806569735,
    "calmar_ratio": 0.19628478202108793,
    "omega_ratio": 1.1112885250335656,
    "probabilistic_sharpe_ratio": 0.9941346459748055,
    "best_day": 0.31094527363184077,
    "worst_day": -0.2915056859617412,
    "win_rate": 0.5078014184397163,
    "payoff_ratio": 1.0771427882308582,
    "profit_factor": 1.1112885250335656,
    "gain_to_pain_ratio": 0.1112885250335657,
    "kelly_criterion": 0.0508531039375228,
    "max_consecutive_wins": 13.0,
    "max_consecutive_losses": 9.0,
    "time_in_market": 0.99,
    "max_drawdown": -0.8419433198380568,
    "max_drawdown_duration_days": 5231.0,  # 2000-09-05 .. end, never recovered
    "ulcer_index": 0.4906836762625241,
    "value_at_risk": -0.04688567835509327,
    "cvar": -0.059058270128482575,
    "tail_ratio": 1.077443593503312,
    "skew": 0.34642214985505887,
    "kurtosis": 9.938595537870793,
}
P = 252


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def _longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for hit in mask:
        run = run + 1 if hit else 0
        best = max(best, run)
    return best


def independent(r: pd.Series) -> dict[str, float]:
    """Every metric of PINNED_ORCL from its written definition, numpy/scipy only."""
    v = r.to_numpy()
    n = v.size
    mean, std = v.mean(), v.std(ddof=1)
    wins, losses, nonzero = v[v > 0], v[v < 0], v[v != 0]
    equity = np.cumprod(1 + v)
    peak = np.maximum(np.maximum.accumulate(equity), 1.0)
    dd = equity / peak - 1
    downside = math.sqrt((losses**2).sum() / n)
    rho = np.corrcoef(v[:-1], v[1:])[0, 1]
    k = np.arange(1, n)
    penalty = math.sqrt(1 + 2 * np.sum((n - k) / n * abs(rho) ** k))
    skew = sps.skew(v, bias=False)
    kurt = sps.kurtosis(v, bias=False)  # excess, as pandas' kurt
    sr = mean / std
    sigma_sr = math.sqrt((1 - skew * sr + (kurt + 3 - 1) / 4 * sr**2) / (n - 1))
    z = sps.norm.ppf(0.05)
    under = (dd < 0).astype(int)
    # longest drawdown, calendar days from its first day to the day before the new high
    # (or the last day), both included
    longest, start = 0, None
    dates = r.index
    for i in range(n):
        if under[i] and start is None:
            start = i
        if start is not None and (not under[i] or i == n - 1):
            last = i - 1 if not under[i] else i
            longest = max(longest, (dates[last] - dates[start]).days + 1)
            start = None
    total = equity[-1] - 1
    win_rate = wins.size / nonzero.size
    payoff = wins.mean() / abs(losses.mean())
    return {
        "total_return": total,
        "cagr": (1 + total) ** (P / n) - 1,
        "avg_return": nonzero.mean(),
        "expected_return": (1 + total) ** (1 / n) - 1,
        "avg_win": wins.mean(),
        "avg_loss": losses.mean(),
        "volatility": std * math.sqrt(P),
        "sharpe_ratio": sr * math.sqrt(P),
        "sortino_ratio": mean / downside * math.sqrt(P),
        "smart_sharpe_ratio": sr * math.sqrt(P) / penalty,
        "smart_sortino_ratio": mean / downside * math.sqrt(P) / penalty,
        "calmar_ratio": ((1 + total) ** (P / n) - 1) / abs(dd.min()),
        "omega_ratio": wins.sum() / -losses.sum(),
        "probabilistic_sharpe_ratio": sps.norm.cdf(sr / sigma_sr),
        "best_day": v.max(),
        "worst_day": v.min(),
        "win_rate": win_rate,
        "payoff_ratio": payoff,
        "profit_factor": v[v >= 0].sum() / abs(losses.sum()),
        "gain_to_pain_ratio": v.sum() / abs(losses.sum()),
        "kelly_criterion": win_rate - (1 - win_rate) / payoff,
        "max_consecutive_wins": _longest_run(v > 0),
        "max_consecutive_losses": _longest_run(v < 0),
        "time_in_market": math.ceil(nonzero.size / n * 100) / 100,
        "max_drawdown": dd.min(),
        "max_drawdown_duration_days": longest,
        "ulcer_index": math.sqrt((dd**2).sum() / (n - 1)),
        "value_at_risk": mean + z * std,
        "cvar": mean - std * sps.norm.pdf(z) / 0.05,
        "tail_ratio": abs(np.quantile(v, 0.95) / np.quantile(v, 0.05)),
        "skew": skew,
        "kurtosis": kurt,
    }


@pytest.fixture(scope="module")
def ours(any_returns: pd.Series) -> dict[str, float]:
    return {**performance_metrics(any_returns), **risk_metrics(any_returns)}


def test_the_pins_cover_every_quantstats_metric() -> None:
    assert set(PINNED_ORCL) == set(PERFORMANCE_NAMES) | set(RISK_NAMES)


def test_orcl_values_are_the_pinned_ones(orcl_returns) -> None:
    """Pinned figures, so that a quantstats upgrade that moves them shows up."""
    report = performance_report(orcl_returns)
    for name, value in PINNED_ORCL.items():
        assert report[name] == pytest.approx(value, rel=1e-12), name


@pytest.mark.parametrize("name", list(PINNED_ORCL))
def test_metric_equals_its_written_definition(name: str, ours, any_returns) -> None:
    expected = float(independent(any_returns)[name])
    assert math.isfinite(ours[name]), name
    assert close(ours[name], expected), (name, ours[name], expected)


def test_each_metric_is_wired_to_its_quantstats_function(orcl_returns, monkeypatch, qs) -> None:
    """Replacing a quantstats function changes exactly the metric said to come from it."""
    sharpe = {"sharpe_ratio", "smart_sharpe_ratio", "probabilistic_sharpe_ratio"}
    wiring = {  # quantstats' smart and probabilistic Sharpe call its sharpe()
        "sharpe": sharpe, "sortino": {"sortino_ratio", "smart_sortino_ratio"},
        "omega": {"omega_ratio"}, "calmar": {"calmar_ratio"},
        "probabilistic_sharpe_ratio": {"probabilistic_sharpe_ratio"},
        "value_at_risk": {"value_at_risk"}, "conditional_value_at_risk": {"cvar"},
        "ulcer_index": {"ulcer_index"}, "tail_ratio": {"tail_ratio"},
        "comp": {"total_return", "cagr", "calmar_ratio"},  # cagr() calls comp()
        "win_rate": {"win_rate", "kelly_criterion"},
    }
    base = {**performance_metrics(orcl_returns), **risk_metrics(orcl_returns)}
    for function, metric in wiring.items():
        with monkeypatch.context() as m:
            m.setattr(qs, function, lambda *a, **k: 123.0)
            got = {**performance_metrics(orcl_returns), **risk_metrics(orcl_returns)}
        changed = {k for k in got if not (got[k] == base[k] or (got[k] != got[k]))}
        assert changed == metric, (function, changed)


@pytest.mark.parametrize("rf", [0.04, -0.01])
def test_any_risk_free_rate_is_subtracted_per_bar(orcl_returns, rf) -> None:
    """quantstats drops rf <= 0; here every sign is used, as the definition says."""
    v = orcl_returns.to_numpy()
    x = v - ((1 + rf) ** (1 / P) - 1)
    ours = performance_metrics(orcl_returns, rf=rf)
    assert close(ours["sharpe_ratio"], x.mean() / x.std(ddof=1) * math.sqrt(P))
    downside = math.sqrt((np.minimum(x, 0) ** 2).sum() / x.size)
    assert close(ours["sortino_ratio"], x.mean() / downside * math.sqrt(P))
    assert close(ours["omega_ratio"], x[x > 0].sum() / -x[x < 0].sum())
    assert ours["cagr"] == PINNED_ORCL["cagr"]  # rf never enters CAGR
    moved = ours["sharpe_ratio"] - PINNED_ORCL["sharpe_ratio"]
    assert moved < 0 if rf > 0 else moved > 0


def test_quantstats_itself_ignores_a_negative_rate(orcl_returns, qs) -> None:
    """Why the rate is subtracted before quantstats: its rf=-0.01 equals its rf=0."""
    assert qs.sharpe(orcl_returns, rf=-0.01) == qs.sharpe(orcl_returns)
    assert performance_metrics(orcl_returns, rf=-0.01)["sharpe_ratio"] != qs.sharpe(orcl_returns)
