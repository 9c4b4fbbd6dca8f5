"""A two-data pairs strategy: trade the spread of ``datas[0]`` against ``datas[1]``.

Run it with two symbols together: ``--symbols ACME GLOBEX --together``."""

import math

import backtrader as bt


class PairsSpread(bt.Strategy):
    """z-score of price0 / price1 over `period` bars: short the spread above +entry,
    long below -entry, close inside +-exit."""

    params = (("period", 20), ("entry", 1.5), ("exit", 0.25), ("stake", 10))

    def __init__(self):
        if len(self.datas) < 2:
            raise ValueError("PairsSpread needs two datas: --symbols A B --together")
        a, b = self.datas[0], self.datas[1]
        self.spread = a.close / b.close
        self.mean = bt.indicators.SMA(self.spread, period=self.p.period)
        self.std = bt.indicators.StdDev(self.spread, period=self.p.period)

    def next(self):
        std = self.std[0]
        if not std or math.isnan(std):
            return
        z = (self.spread[0] - self.mean[0]) / std
        a, b = self.datas[0], self.datas[1]
        held = self.getposition(a).size
        if held == 0 and z > self.p.entry:
            self.sell(data=a, size=self.p.stake)
            self.buy(data=b, size=self.p.stake)
        elif held == 0 and z < -self.p.entry:
            self.buy(data=a, size=self.p.stake)
            self.sell(data=b, size=self.p.stake)
        elif held != 0 and abs(z) < self.p.exit:
            self.close(data=a)
            self.close(data=b)
