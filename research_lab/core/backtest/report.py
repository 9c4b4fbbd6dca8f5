"""A backtest with everything a person judges it by: metrics, regimes, benchmark, lineage.

::

    from research_lab.core.backtest.report import backtest_report
    from research_lab.core.backtest.outputs import write_outputs

    report = backtest_report(bars, "sma_cross", {"fast": 10, "slow": 50},
                             benchmark_close=spx_close, vix_close=vix_close)
    report.metrics["sharpe_ratio"], report.metrics["alpha"]    # 50 metrics, NaN where n/a
    report.regimes                                             # 4 rows: bull/bear x low/high vol
    report.lineage["data_version"]                             # hash of the bars it ran on
    write_outputs(report, "runs/sma_cross/ACME")               # result.json, equity.png, ...

:class:`BacktestReport` is the engine's :class:`~.result.BacktestResult` plus

``metrics``
    :func:`research_lab.core.metrics.performance_report` on the run's daily returns, with the
    closed trades, the per-session position and traded value (rebuilt here from the fills, so
    exposure and turnover are exact) and the benchmark's daily returns (``benchmark_close``'s
    ``pct_change``): always the 50 keys of ``METRIC_NAMES``; the benchmark ones are NaN
    without a benchmark.
``regimes``
    :func:`research_lab.core.metrics.regime_table`: bull/bear by the index's 200-day SMA x
    low/high volatility by VIX < 20. Without a VIX series the volatility level is the
    realized-volatility stand-in; without an index, the trend and the stand-in are computed on
    the symbol's own close. ``lineage["regime_index"]`` and ``lineage["vol_source"]`` (and the
    table's ``vol_source`` column) say which was used.
``lineage``
    symbol, first/last session, bar count, ``data_version`` of the bars (the store's hash, so
    a report can be traced to the exact rows it ran on), where the bars came from, and the
    same for the benchmark and the VIX series (:mod:`.market_context`).
``notes``
    what is missing and what stood in for it, in words (also printed by the CLI).

:meth:`BacktestReport.to_dict` is the ``result.json`` document: plain JSON, ISO dates, NaN
and ±inf as ``null``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .market_context import MarketContext, close_series, context_notes
from .prices import Prices
from .result import BacktestResult

# the few metrics shown first (CLI summary, Dagster numeric metadata): all in METRIC_NAMES
KEY_METRICS: tuple[str, ...] = (
    "total_return", "cagr", "volatility", "sharpe_ratio", "sortino_ratio", "calmar_ratio",
    "max_drawdown", "num_trades", "trade_win_rate", "exposure", "alpha", "beta",
    "information_ratio",
)


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON: ISO dates, floats (NaN and ±inf as None), lists, str keys."""
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).date().isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def position_and_traded(result: BacktestResult) -> tuple[pd.Series, pd.Series]:
    """Per-session position after the session's fills, and traded value (size * price * mult),
    both indexed like ``result.equity``."""
    sessions = result.equity.index
    orders = result.orders
    signed = np.where(orders["side"].to_numpy() == "buy", 1.0, -1.0) * orders["size"].to_numpy(
        dtype=np.float64
    )
    dates = pd.DatetimeIndex(orders["date"])
    mult = float(result.broker.get("mult", 1.0))
    notional = orders["size"].to_numpy(dtype=np.float64) * orders["price"].to_numpy(
        dtype=np.float64
    ) * mult
    fills = pd.Series(signed, index=dates).groupby(level=0).sum()
    traded = pd.Series(notional, index=dates).groupby(level=0).sum()
    position = fills.reindex(sessions, fill_value=0.0).cumsum().rename("position")
    return position, traded.reindex(sessions, fill_value=0.0).rename("traded_value")


def run_notes(result: BacktestResult) -> tuple[str, ...]:
    """How the run was set up and what the broker had to do, in words: price basis, risk-free
    rate, missing sessions, margin calls, bankruptcy."""
    from .gaps import gap_note

    basis = result.conditions.get("price_basis", "raw")
    rf = float(result.broker.get("risk_free_rate", 0.0))
    out = [
        f"prices: {basis} ("
        + ("total-return: adjusted for dividends and splits" if basis == "adjusted"
           else "as traded: dividends not reinvested") + f"); risk-free rate {rf:.2%} a year"
    ]
    gaps = gap_note(result.conditions.get("gaps"))
    if gaps:
        out.append(gaps)
    return (*out, *result.notes())


def _bars_lineage(bars: pd.DataFrame | Prices, origin: str | None) -> dict[str, Any]:
    if isinstance(bars, Prices):
        sessions, symbol, version = bars.sessions, bars.symbol, None
    else:
        from research_lab.core.marketdata.schema import data_version

        sessions = pd.DatetimeIndex(bars["session"])
        symbol = str(bars["symbol"].iloc[0]) if "symbol" in bars.columns else "?"
        try:
            version = data_version(bars)
        except KeyError:  # not the full bar schema: no version to trace it by
            version = None
    return {
        "symbol": symbol,
        "start": sessions[0].date().isoformat(),
        "end": sessions[-1].date().isoformat(),
        "bars": int(len(sessions)),
        "data_version": version,
        "origin": origin,
    }


def _as_close(values: Any, what: str) -> pd.Series | None:
    """An index's closes as a float Series on a sorted DatetimeIndex; a ticker is refused."""
    if values is None:
        return None
    if not isinstance(values, pd.Series):
        kind = f"the ticker {values!r}" if isinstance(values, str) else type(values).__name__
        raise TypeError(
            f"{what} must be a pd.Series of closes by date, not {kind}: research_lab never "
            "downloads an index; load its bars (store, source, CSV) and pass their close"
        )
    out = values.astype("float64")
    out.index = pd.DatetimeIndex(out.index)
    return out.sort_index()


def _own_close(bars: pd.DataFrame | Prices, symbol: str) -> pd.Series:
    if isinstance(bars, Prices):
        return pd.Series(bars.close, index=bars.sessions, name=symbol)
    return close_series(bars, symbol)


@dataclass(frozen=True, eq=False)
class BacktestReport:
    """A :class:`~.result.BacktestResult` with its metrics, regime table, lineage and notes."""

    result: BacktestResult
    symbol: str
    metrics: dict[str, float]
    regimes: pd.DataFrame
    lineage: dict[str, Any]
    notes: tuple[str, ...] = ()
    # the benchmark's daily returns the metrics and the tearsheet compared against (None
    # without a benchmark, or when the comparison is undefined: a strategy that never held)
    benchmark_returns: pd.Series | None = field(default=None, repr=False)

    @property
    def data_version(self) -> str | None:
        """The ``data_version`` of the bars the backtest ran on."""
        return self.lineage.get("data_version")

    def key_metrics(self) -> dict[str, float]:
        """``final_value`` and the metrics of :data:`KEY_METRICS`."""
        return {"final_value": self.result.final_value,
                **{k: self.metrics[k] for k in KEY_METRICS}}

    def title(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.result.params.items())
        feeds = "+".join(f["symbol"] for f in self.lineage.get("feeds") or []) or self.symbol
        return f"{self.result.strategy}({params}) on {feeds} [{self.result.engine}]"

    def summary_line(self) -> str:
        """One line for a terminal: span, final value, return, Sharpe, drawdown, trades."""
        m, lin = self.metrics, self.lineage

        def pct(x: float) -> str:
            return "n/a" if math.isnan(x) else f"{x:+.2%}"

        def num(x: float) -> str:
            return "n/a" if math.isnan(x) else f"{x:.2f}"

        line = (
            f"{self.title()} {lin['start']}..{lin['end']} ({lin['bars']} bars): final value "
            f"{self.result.final_value:,.2f} ({pct(m['total_return'])}), Sharpe "
            f"{num(m['sharpe_ratio'])}, max drawdown {pct(m['max_drawdown'])}, "
            f"{int(m['num_trades'])} trades"
        )
        if not math.isnan(m["beta"]):
            bench = lin["benchmark"]["symbol"]
            line += f", alpha {pct(m['alpha'])}, beta {num(m['beta'])} vs {bench}"
        return line

    def to_dict(self) -> dict[str, Any]:
        """The ``result.json`` document (see the module docstring)."""
        base = self.result.to_dict()
        attrs = self.regimes.attrs
        return json_safe({
            "symbol": self.symbol,
            "strategy": base.pop("strategy"),
            "params": base.pop("params"),
            "engine": base.pop("engine"),
            "broker": base.pop("broker"),
            "final_value": base.pop("final_value"),
            "final_cash": base.pop("final_cash"),
            "final_position": base.pop("final_position"),
            "rejected_orders": base.pop("rejected_orders"),
            "lineage": self.lineage,
            "notes": list(self.notes),
            "metrics": self.metrics,
            "regimes": {
                "trend_index": self.lineage["regime_index"],
                "vol_source": attrs.get("vol_source"),
                "sma_window": attrs.get("sma_window"),
                "vol_threshold": attrs.get("vol_threshold"),
                "unclassified_days": attrs.get("unclassified_days"),
                "table": self.regimes.to_dict(orient="records"),
            },
            **base,  # summary, orders, trades, equity, returns
        })


def report_from_result(
    result: BacktestResult,
    bars: pd.DataFrame | Prices,
    *,
    benchmark_close: pd.Series | None = None,
    vix_close: pd.Series | None = None,
    market: MarketContext | None = None,
    origin: str | None = None,
    periods: int = 252,
) -> BacktestReport:
    """The report of a finished backtest on ``bars`` (see :func:`backtest_report`)."""
    from research_lab.core.metrics import performance_report, regime_table

    lineage = _bars_lineage(bars, origin)
    symbol = lineage["symbol"]
    benchmark_close = _as_close(benchmark_close, "benchmark_close")
    vix_close = _as_close(vix_close, "vix_close")
    if market is not None:
        if benchmark_close is not None or vix_close is not None:
            raise ValueError("pass either market= or benchmark_close=/vix_close=, not both")
        benchmark_close, vix_close = market.benchmark_close, market.vix_close
        index_lineage, notes = dict(market.lineage), market.all_notes()
    else:
        index_lineage = {
            key: {"symbol": str(s.name or key), "origin": "given", "first":
                  s.index[0].date().isoformat(), "last": s.index[-1].date().isoformat(),
                  "bars": int(len(s))}
            for key, s in (("benchmark", benchmark_close), ("vix", vix_close)) if s is not None
        }
        notes = context_notes(index_lineage)
    returns = result.returns
    benchmark_returns = None
    if benchmark_close is not None:
        bench = benchmark_close
        shared = returns.index.intersection(bench.index)
        if len(shared) < 2:
            raise ValueError(
                f"benchmark {bench.name} ({bench.index[0].date()}..{bench.index[-1].date()}) "
                f"shares {len(shared)} session(s) with {symbol} ({lineage['start']}.."
                f"{lineage['end']}); need at least 2"
            )
        benchmark_returns = bench.pct_change().iloc[1:].rename(bench.name)
    compared = benchmark_returns
    if compared is not None and returns.reindex(compared.index).dropna().nunique() < 2:
        # quantstats' r_squared raises on a constant series (a strategy that never held)
        compared = None
        notes = (*notes, "the strategy's returns are constant on the benchmark's dates (it "
                 "never held a position): benchmark metrics are NaN")
    notes = (*notes, *run_notes(result))
    position, traded = position_and_traded(result)
    metrics = performance_report(
        returns, benchmark=compared, trades=result.trades, position=position,
        traded_value=traded, equity=result.equity, periods=periods,
        rf=float(result.broker.get("risk_free_rate", 0.0)),
    )
    index_close = benchmark_close if benchmark_close is not None else _own_close(bars, symbol)
    regimes = regime_table(returns, index_close, vix_close, periods=periods)
    unclassified = int(regimes.attrs.get("unclassified_days") or 0)
    if unclassified:
        notes = (*notes, f"{unclassified} of {len(returns)} day(s) have no regime: the index "
                 f"{index_close.name} starts {index_close.index[0].date()}, with no earlier "
                 "data to define its 200-day SMA (or a VIX print is missing)")
    lineage.update(
        price_basis=result.conditions.get("price_basis", "raw"),
        gaps=result.conditions.get("gaps"),
        risk_free_rate=float(result.broker.get("risk_free_rate", 0.0)),
        margin_calls=result.margin_calls,
        bankrupt_session=result.bankrupt_session,
        benchmark=index_lineage.get("benchmark"),
        vix=index_lineage.get("vix"),
        regime_index=str(index_close.name) if benchmark_close is not None
        else f"{symbol} (own close: no index data)",
        vol_source=regimes.attrs["vol_source"],
    )
    return BacktestReport(
        result=result, symbol=symbol, metrics=metrics, regimes=regimes, lineage=lineage,
        notes=tuple(notes), benchmark_returns=compared,
    )


def backtest_report(
    bars: pd.DataFrame | Prices,
    strategy: str,
    params: Mapping[str, Any] | None = None,
    *,
    engine: str = "auto",
    benchmark_close: pd.Series | None = None,
    vix_close: pd.Series | None = None,
    market: MarketContext | None = None,
    origin: str | None = None,
    periods: int = 252,
    feeds: Sequence[pd.DataFrame] = (),
    **broker: Any,
) -> BacktestReport:
    """Backtest ``strategy`` on one symbol's ``bars`` and build its full report.

    Args:
        bars: one symbol's bar frame (the store's schema; its ``data_version`` goes into the
            lineage) or :class:`~.prices.Prices`.
        strategy, params, engine, broker: as :func:`~.api.run_backtest` (``cash``, ``sizing``,
            ``stake``, ``percent``, ``commission``, ``mult``, ``margin``, ``allow_short``).
        benchmark_close: the benchmark index's close by session date (a Series, never a
            ticker); its daily returns give the benchmark metrics, its 200-day SMA the regime
            trend. None: benchmark metrics NaN, trend from the symbol's own close.
        vix_close: the volatility index's close by date. None: the realized-volatility
            stand-in.
        market: a :class:`~.market_context.MarketContext` instead of the two series (it also
            carries their lineage and notes).
        origin: where ``bars`` came from, for the lineage (``"store"``, ``"csv:<path>"``...).
        feeds: more symbols' bar frames for a backtrader strategy (``self.datas[1:]``); all
            feeds are cut to the sessions they share. The metrics, regimes and benchmark
            comparison are the account's; the lineage lists every feed.

    The lineage also records the strategy's code version (``lineage["strategy"]``: the hash
    of its source file, its package's version, its class and file).
    """
    from research_lab.core.strategies.feeds import align_feeds

    from .api import run_backtest
    from .strategies import resolve_strategy

    ref = resolve_strategy(strategy)
    bars, feeds, feed_notes = align_feeds(bars, feeds)
    result = run_backtest(bars, ref, params, engine=engine, feeds=feeds, **broker)
    report = report_from_result(
        result, bars, benchmark_close=benchmark_close, vix_close=vix_close, market=market,
        origin=origin, periods=periods,
    )
    report.lineage["strategy"] = ref.code()
    if feeds:
        report.lineage["feeds"] = [_bars_lineage(f, origin) for f in (bars, *feeds)]
    return replace(report, notes=(*report.notes, *feed_notes)) if feed_notes else report
