"""A backtrader strategy that sets its own broker terms in ``start()``: a futures-like
contract (2.0 per contract commission, margin 2,000, multiplier 10), as a futures desk's
strategies do. Whatever the run's broker settings say, these apply."""

import backtrader as bt


class FuturesTrend(bt.Strategy):
    """Long one contract while the close is above its EMA(period), short below."""

    params = (("period", 20), ("contracts", 1))

    def start(self):
        self.broker.setcommission(commission=2.0, margin=2000.0, mult=10.0)

    def __init__(self):
        self.ema = bt.indicators.EMA(self.data.close, period=self.p.period)
        self.order = None

    def notify_order(self, order):
        if order.status not in (order.Submitted, order.Accepted):
            self.order = None

    def next(self):
        if self.order:
            return
        want = self.p.contracts if self.data.close[0] > self.ema[0] else -self.p.contracts
        if self.position.size != want:
            self.order = self.order_target_size(target=want)
