"""A classic backtrader strategy, exactly as a backtrader code base has it: an SMA crossover
with its own ``notify_order`` (it keeps one order in flight and logs fills)."""

import backtrader as bt


class SMACrossover(bt.Strategy):
    """Long when SMA(fast) crosses above SMA(slow); flat when it crosses below."""

    params = (("fast", 10), ("slow", 30), ("printlog", False))

    def __init__(self):
        self.order = None
        fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.crossover = bt.indicators.CrossOver(fast, slow)
        self.log_lines = []

    def log(self, text):
        self.log_lines.append(f"{self.data.datetime.date(0)} {text}")
        if self.p.printlog:
            print(self.log_lines[-1])

    def notify_order(self, order):
        if order.status in (order.Submitted, order.Accepted):
            return
        if order.status == order.Completed:
            side = "BUY" if order.isbuy() else "SELL"
            self.log(f"{side} EXECUTED {order.executed.size} @ {order.executed.price:.2f}")
        elif order.status in (order.Canceled, order.Margin, order.Rejected):
            self.log("order canceled/margin/rejected")
        self.order = None

    def next(self):
        if self.order:
            return
        if not self.position and self.crossover > 0:
            self.order = self.buy()
        elif self.position and self.crossover < 0:
            self.order = self.close()
