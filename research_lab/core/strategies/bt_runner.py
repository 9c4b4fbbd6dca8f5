"""Running a backtrader strategy unchanged, and reading back what it did.

:func:`run_backtrader_strategy` builds a ``Cerebro`` the way a backtrader script does: one
``PandasData`` feed per symbol (named by the symbol, in the order given: ``self.datas[0]`` is
the first), the broker's cash and commission from the run's broker settings, a sizer when
the settings ask for one, then ``addstrategy(cls, **params)``. The strategy's own
``notify_order``, ``start()`` (e.g. ``self.broker.setcommission(...)``), analyzers and
sizers run as they always do; the only addition is a recording analyzer, which sees every
order notification and the account value at each bar without touching the strategy.

Feeds are aligned on the sessions all symbols share (the caller does it; the report notes
it), so the equity curve has one value per shared session.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from research_lab.core.backtest.costs import BrokerConfig
from research_lab.core.backtest.result import BacktestResult, make_result, trades_from_orders

from ._ref import StrategyError, StrategyRef

RECORDER = "_research_lab_recorder"


@functools.cache
def _recorder() -> type:
    import backtrader as bt

    class Recorder(bt.Analyzer):
        """Fills (bar, data, size, price, commission), rejections and value per bar."""

        def start(self) -> None:
            self.fills: list[tuple[int, int, float, float, float]] = []
            self.equity: list[float] = []
            self.rejected = 0

        def notify_order(self, order: Any) -> None:
            bar = len(self.strategy.datas[0]) - 1
            data = self.strategy.datas.index(order.data)
            for bit in order.executed.iterpending():
                self.fills.append((bar, data, bit.size, bit.price, bit.comm))
            if order.status in (order.Margin, order.Rejected):
                self.rejected += 1

        def next(self) -> None:
            self.equity.append(self.strategy.broker.getvalue())

        def get_analysis(self) -> dict:
            return {"fills": self.fills, "rejected": self.rejected}

    return Recorder


def feed_frame(bars: pd.DataFrame | Any) -> pd.DataFrame:
    """open..volume indexed by session, from a bar frame or Prices (volume 0 without one)."""
    if isinstance(bars, pd.DataFrame):
        frame = bars.set_index(pd.DatetimeIndex(bars["session"]))
        volume = frame["volume"] if "volume" in frame else 0.0
        return pd.DataFrame({"open": frame["open"], "high": frame["high"], "low": frame["low"],
                             "close": frame["close"], "volume": volume, "openinterest": 0.0})
    return pd.DataFrame({"open": bars.open, "high": bars.high, "low": bars.low,
                         "close": bars.close, "volume": 0.0, "openinterest": 0.0},
                        index=bars.sessions)


def _orders(sessions: pd.DatetimeIndex, fills: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    from research_lab.core.backtest.result import orders_frame

    frame = orders_frame(sessions, fills[:, 0], fills[:, 2], fills[:, 3], fills[:, 4])
    if len(names) > 1:
        frame["data"] = [names[int(i)] for i in fills[:, 1]]
    return frame


def run_backtrader_strategy(
    ref: StrategyRef,
    feeds: Sequence[tuple[str, Any]],
    params: Mapping[str, Any],
    broker: BrokerConfig,
) -> BacktestResult:
    """Run ``ref``'s backtrader class on ``feeds`` ((name, bars) pairs, aligned sessions)."""
    import backtrader as bt

    cerebro = bt.Cerebro(stdstats=False, maxcpus=1)
    frames = [(name, feed_frame(bars)) for name, bars in feeds]
    for name, frame in frames:
        cerebro.adddata(bt.feeds.PandasData(dataname=frame), name=name)
    cerebro.broker.setcash(broker.cash)
    cerebro.broker.setcommission(commission=broker.commission, margin=broker.margin,
                                 mult=broker.mult)
    if broker.sizing == "percent":
        cerebro.addsizer(bt.sizers.PercentSizer, percents=broker.percent)
    elif broker.stake != 1.0:
        cerebro.addsizer(bt.sizers.FixedSize, stake=broker.stake)
    cerebro.addstrategy(ref.cls, **dict(params))
    cerebro.addanalyzer(_recorder(), _name=RECORDER)
    try:
        strat = cerebro.run()[0]
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise StrategyError(f"{ref.name} raised during the run: {_in_user_code(exc, ref)}") from exc
    rec = getattr(strat.analyzers, RECORDER)
    sessions = frames[0][1].index
    fills = np.array(rec.fills, dtype=np.float64).reshape(-1, 5)
    info = strat.broker.getcommissioninfo(strat.datas[0])  # what start() may have set
    actual = {**broker.to_dict(), "commission": float(info.p.commission),
              "mult": float(info.p.mult),
              "margin": None if info.stocklike else float(info.p.margin or 0.0)}
    names = [name for name, _ in frames]
    orders = _orders(sessions, fills, names)
    result = make_result(
        strategy=ref.name, params=dict(params), engine="backtrader", broker=actual,
        sessions=sessions, equity=np.array(rec.equity, dtype=np.float64),
        final_cash=float(strat.broker.getcash()),
        final_position=float(strat.getposition(strat.datas[0]).size),
        orders=orders[[c for c in orders.columns if c != "data"]] if len(names) == 1
        else orders.iloc[0:0, :5], rejected=rec.rejected,
    )
    if len(names) > 1:  # round trips per feed
        trades = [trades_from_orders(orders[orders["data"] == n].iloc[:, :5], sessions,
                                     mult=actual["mult"], margin=actual["margin"]).assign(data=n)
                  for n in names]
        import dataclasses

        result = dataclasses.replace(
            result, orders=orders,
            trades=pd.concat(trades, ignore_index=True).sort_values("exit_date",
                                                                    ignore_index=True))
    return result


def _in_user_code(exc: BaseException, ref: StrategyRef) -> str:
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if ref.file and f.filename == ref.file]
    last = mine[-1] if mine else (frames[-1] if frames else None)
    where = f"{last.filename}:{last.lineno}: " if last else ""
    return f"{where}{type(exc).__name__}: {exc}"
