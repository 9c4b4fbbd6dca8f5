"""The backtrader engine: the same signal, run through backtrader's own broker.

The strategy's signal (:mod:`.signals`) is computed once, attached to the bars as an extra
line of a ``PandasDirectData`` feed (no price rounding; ~4x faster to load than
``PandasData``), and a small ``bt.Strategy`` reads it bar by bar, sizing and sending market
orders exactly as :func:`.kernels.simulate` does. Everything else (order checks against
cash, fills at the next open, commission, futures margin and mark-to-market, account value)
is backtrader's ``BackBroker`` with default settings (slippage through its own
``set_slippage_perc`` / ``set_slippage_fixed``), so this engine is the reference the fast
engine is tested against, order by order. backtrader has no margin call or bankruptcy: the
strategy applies research_lab's rule (:mod:`.costs`) at each close, sending the liquidation as
an order the broker does not check against cash (``_checksubmit=False``), exactly as
:func:`.kernels.simulate_bars` does.

Whether the signal itself matches backtrader's indicators is tested separately
(``test_indicators_match_backtrader``), and ``close_sma_cross`` is also checked against
backtrader's own classic strategy (``SMA`` + ``CrossOver`` in ``next``) and the numbers
published in backtrader's test suite.

A run costs ~0.4 s per 5,000 bars; backtrader is imported only when this engine runs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .costs import BrokerConfig
from .lines import LineCache
from .prices import Prices
from .result import BacktestResult, make_result, orders_frame
from .signals import Rule, rule_signal


@functools.cache
def _classes() -> tuple[type, type]:
    import backtrader as bt

    class SignalFeed(bt.feeds.PandasDirectData):
        """Bars plus a ``signal`` line (column 7 after the index, open..openinterest)."""

        lines = ("signal",)
        params = (("signal", 7),)

    class SignalStrategy(bt.Strategy):
        """Holds the direction the ``signal`` line asks for; records fills and equity."""

        params = (
            ("fixed", True),
            ("stake", 1.0),
            ("fraction", 0.95),
            ("stocklike", True),
            ("margin", 1.0),
            ("allow_short", False),
            ("mult", 1.0),
            ("initial_margin", 0.5),
            ("maintenance_margin", 0.25),
        )

        def __init__(self) -> None:
            self.pending = False
            self.fills: list[tuple[int, float, float, float]] = []
            self.equity: list[float] = []
            self.rejected = 0
            self.margin_calls = 0
            self.bankrupt = -1
            self.shorts_refused = 0

        def _force(self, size: float) -> None:
            """A liquidation order: not checked against cash at submission."""
            if size > 0:
                self.buy(size=size, _checksubmit=False)
            else:
                self.sell(size=-size, _checksubmit=False)
            self.pending = True

        def notify_order(self, order: Any) -> None:
            # the execution bits of this notification: their price is the fill price itself
            # (``order.executed.price`` is recomputed as an average, off by an ulp at times)
            for bit in order.executed.iterpending():
                self.fills.append((len(self.data) - 1, bit.size, bit.price, bit.comm))
            if order.status == order.Margin:
                self.rejected += 1
            if not order.alive():
                self.pending = False

        def next(self) -> None:
            value = self.broker.getvalue()
            self.equity.append(value)
            if self.pending or self.bankrupt >= 0:  # an order pending, or the account closed
                return
            pos = self.position.size
            if value <= 0.0:
                self.bankrupt = len(self.data) - 1
                if pos != 0:
                    self._force(-pos)
                return
            if pos != 0 and self.p.maintenance_margin > 0.0:
                px = self.data.close[0]
                unit = px * self.p.mult if self.p.stocklike else self.p.margin
                if value < abs(pos) * unit * self.p.maintenance_margin:
                    self.margin_calls += 1
                    self._force(-pos)
                    return
            want = self.data.signal[0]
            if math.isnan(want):
                return
            if want < 0.0 and not self.p.allow_short:
                want = 0.0
            have = 1.0 if pos > 0 else (-1.0 if pos < 0 else 0.0)
            if want == have:
                return
            if self.p.fixed:
                units = self.p.stake
            else:
                px = self.data.close[0]
                unit_cost = px if self.p.stocklike else self.p.margin
                units = math.floor(self.broker.getvalue() * self.p.fraction / unit_cost)
            if want < 0.0 and self.p.stocklike:
                px = self.data.close[0]
                if value < units * px * self.p.initial_margin:
                    want = 0.0  # a short needs initial_margin x its value in equity
                    self.shorts_refused += 1
            size = want * units - pos
            if size > 0:
                self.buy(size=size)
                self.pending = True
            elif size < 0:
                self.sell(size=-size)
                self.pending = True

    return SignalFeed, SignalStrategy


def bars_frame(prices: Prices, signal: np.ndarray) -> pd.DataFrame:
    """The feed's frame: index, open, high, low, close, volume, openinterest, signal."""
    zeros = np.zeros(len(prices))
    return pd.DataFrame(
        {
            "open": prices.open, "high": prices.high, "low": prices.low, "close": prices.close,
            "volume": zeros, "openinterest": zeros, "signal": signal,
        },
        index=prices.sessions,
    )


def run_backtrader(
    prices: Prices,
    strategy: str,
    params: Mapping[str, Any],
    rule: Rule,
    broker: BrokerConfig,
    cache: LineCache | None = None,
) -> BacktestResult:
    """One backtest of ``rule`` through backtrader's Cerebro and BackBroker."""
    signal = rule_signal(cache or LineCache(prices), rule)
    return run_backtrader_signal(prices, signal, broker, strategy, dict(params))


def run_backtrader_signal(
    prices: Prices, signal: np.ndarray, broker: BrokerConfig, name: str, params: dict
) -> BacktestResult:
    """backtrader's Cerebro and BackBroker over a ready signal."""
    import backtrader as bt

    feed_cls, strategy_cls = _classes()
    cerebro = bt.Cerebro(stdstats=False, maxcpus=1)
    cerebro.adddata(feed_cls(dataname=bars_frame(prices, signal)))
    cerebro.broker.setcash(broker.cash)
    cerebro.broker.setcommission(
        commission=broker.commission, margin=broker.margin, mult=broker.mult
    )
    if broker.slip_perc:
        cerebro.broker.set_slippage_perc(broker.slip_perc)
    elif broker.slippage_fixed:
        cerebro.broker.set_slippage_fixed(broker.slippage_fixed)
    cerebro.addstrategy(
        strategy_cls,
        fixed=broker.sizing == "fixed",
        stake=float(broker.stake),
        fraction=float(broker.percent) / 100.0,
        stocklike=broker.stocklike,
        margin=float(broker.margin) if broker.margin is not None else 1.0,
        allow_short=broker.allow_short,
        mult=float(broker.mult),
        initial_margin=float(broker.initial_margin),
        maintenance_margin=float(broker.maintenance_margin),
    )
    strat = cerebro.run()[0]
    fills = np.array(strat.fills, dtype=np.float64).reshape(-1, 4)
    return make_result(
        strategy=name, params=params, engine="backtrader", broker=broker.to_dict(),
        sessions=prices.sessions, equity=np.array(strat.equity, dtype=np.float64),
        final_cash=float(cerebro.broker.getcash()), final_position=float(strat.position.size),
        orders=orders_frame(prices.sessions, fills[:, 0], fills[:, 1], fills[:, 2], fills[:, 3]),
        rejected=strat.rejected, margin_calls=strat.margin_calls, bankrupt_bar=strat.bankrupt,
        shorts_refused=strat.shorts_refused, conditions=prices.conditions(),
    )
