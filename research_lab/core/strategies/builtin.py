"""The built-in strategy library: eight fast strategies, defined as any user defines one.

Each is a :class:`~research_lab.core.strategies.FastStrategy` whose signal is a
:class:`~research_lab.core.backtest.signals.Rule` over indicator lines computed bit-identically
to backtrader's indicators. "-1" means short when shorts are allowed and flat otherwise.
This module is the one place their names, parameters and rules live; discovery finds it as
the first entry of ``config/strategies.yaml``'s ``packages``.

=================== ===========================================================================
strategy            rule
=================== ===========================================================================
close_sma_cross     +1 when close crosses above SMA(period), -1 when it crosses below:
                    backtrader's test-suite strategy (``tests/test_strategy_unoptimized.py``),
                    whose published numbers on ``2006-day-001`` both engines reproduce
sma_cross           +1 / -1 when SMA(fast) crosses above / below SMA(slow)
ema_cross           +1 / -1 when EMA(fast) crosses above / below EMA(slow)
macd                +1 / -1 when EMA(fast) - EMA(slow) crosses above / below its EMA(signal)
                    (``cross: signal``) or zero (``cross: zero``)
rsi_reversion       +1 while RSI(period) < lower, -1 while RSI > upper
bollinger           +1 while close < SMA - devfactor * std, -1 while close > SMA + devfactor * std
donchian_breakout   +1 when close > highest high of the previous ``period`` bars,
                    -1 when close < lowest low of the previous ``exit_period`` bars
momentum            +1 while ROC(period) > threshold, -1 while ROC < -threshold
=================== ===========================================================================
"""

from __future__ import annotations

from research_lab.core.backtest import lines as L
from research_lab.core.backtest.signals import ABOVE_BELOW, BELOW_ABOVE, CROSS, Rule
from research_lab.core.strategies._base import Choice, FastStrategy, Float, Int


class CloseSmaCross(FastStrategy):
    name = "close_sma_cross"
    description = ("backtrader's own test-suite strategy: long when the close crosses above "
                   "SMA(period), flat (or short) when it crosses below")
    params = {"period": Int(15, 2, 250)}

    def rule(self, p):
        return Rule(CROSS, L.price("close"), L.sma("close", p["period"]))


class SmaCross(FastStrategy):
    name = "sma_cross"
    description = "long when SMA(fast) crosses above SMA(slow), out (or short) on the cross below"
    params = {"fast": Int(10, 2, 200), "slow": Int(30, 3, 400)}
    constraints = ("fast < slow",)

    def rule(self, p):
        return Rule(CROSS, L.sma("close", p["fast"]), L.sma("close", p["slow"]))


class EmaCross(FastStrategy):
    name = "ema_cross"
    description = "long when EMA(fast) crosses above EMA(slow), out (or short) on the cross below"
    params = {"fast": Int(12, 2, 200), "slow": Int(26, 3, 400)}
    constraints = ("fast < slow",)

    def rule(self, p):
        return Rule(CROSS, L.ema("close", p["fast"]), L.ema("close", p["slow"]))


class RsiReversion(FastStrategy):
    name = "rsi_reversion"
    description = ("Wilder RSI(period) mean reversion: long while RSI < lower, out (or short) "
                   "while RSI > upper, hold in between")
    params = {"period": Int(14, 2, 100), "lower": Float(30.0, 5.0, 50.0, step=1.0),
              "upper": Float(70.0, 50.0, 95.0, step=1.0)}
    constraints = ("lower < upper",)

    def rule(self, p):
        return Rule(BELOW_ABOVE, L.rsi("close", p["period"]), L.const(p["lower"]),
                    L.const(p["upper"]))


class Bollinger(FastStrategy):
    name = "bollinger"
    description = ("Bollinger bands (SMA(period) +- devfactor * population std): long below the "
                   "lower band, out (or short) above the upper band, hold in between")
    params = {"period": Int(20, 5, 200), "devfactor": Float(2.0, 0.5, 4.0, step=0.25)}

    def rule(self, p):
        period, dev = p["period"], p["devfactor"]
        return Rule(BELOW_ABOVE, L.price("close"), L.bollinger_bot("close", period, dev),
                    L.bollinger_top("close", period, dev))


class Macd(FastStrategy):
    name = "macd"
    description = ("MACD = EMA(fast) - EMA(slow): long when it crosses above its signal line "
                   "EMA(signal) (cross: signal) or zero (cross: zero); out (or short) below")
    params = {"fast": Int(12, 2, 50), "slow": Int(26, 3, 100), "signal": Int(9, 2, 50),
              "cross": Choice("signal", ["signal", "zero"])}
    constraints = ("fast < slow",)

    def rule(self, p):
        line = L.macd("close", p["fast"], p["slow"])
        if p["cross"] == "zero":
            return Rule(CROSS, line, L.const(0.0))
        return Rule(CROSS, line, L.macd_signal("close", p["fast"], p["slow"], p["signal"]))


class DonchianBreakout(FastStrategy):
    name = "donchian_breakout"
    description = ("long when the close breaks above the highest high of the previous `period` "
                   "bars; out (or short) below the lowest low of the previous `exit_period`")
    params = {"period": Int(20, 2, 250), "exit_period": Int(10, 2, 250)}
    constraints = ("exit_period <= period",)

    def rule(self, p):
        return Rule(ABOVE_BELOW, L.price("close"), L.highest_before("high", p["period"]),
                    L.lowest_before("low", p["exit_period"]))


class Momentum(FastStrategy):
    name = "momentum"
    description = ("rate of change over `period` bars: long while above +threshold, out (or "
                   "short) while below -threshold, hold in between")
    params = {"period": Int(20, 1, 250), "threshold": Float(0.0, 0.0, 0.5, step=0.01)}

    def rule(self, p):
        threshold = float(p["threshold"])
        return Rule(ABOVE_BELOW, L.roc("close", p["period"]), L.const(threshold),
                    L.const(-threshold))


# the library by name, in definition order (derived: the names are written once, above)
LIBRARY: dict[str, type[FastStrategy]] = {
    cls.name: cls for cls in FastStrategy.__subclasses__() if cls.__module__ == __name__
}
