"""What a backtest returns, the same for both engines.

:class:`BacktestResult` holds the run's identity (strategy, resolved parameters, engine,
broker settings), the end state (value, cash, position), and four tables:

``orders``
    one row per executed fill: ``date`` (the session of the fill), ``side`` (``buy``/``sell``),
    ``size`` (> 0), ``price``, ``commission``. Rejected orders are not fills; they are counted
    in ``rejected_orders``.
``trades``
    closed round trips rebuilt from the fills by :func:`trades_from_orders` (a reversal closes
    one trade and opens the next; its commission is split by size): ``side``, ``size``,
    ``entry_date``, ``exit_date``, ``entry_price``, ``exit_price``, ``pnl_gross``,
    ``commission``, ``pnl`` (net), ``return`` (net pnl over the capital committed at entry:
    size * price * mult for stock-like, size * margin for futures-like), ``bars`` (sessions
    from entry fill to exit fill). A position still open at the end is not a trade.
``equity``
    account value at each session's close (``pd.Series`` indexed by session).
``returns``
    per-session simple returns of ``equity``, the first one against the starting cash; -1 on
    the session the account reaches zero and 0 after it (:func:`.fastmetrics.returns_from_equity`).

``margin_calls`` counts forced liquidations for maintenance margin, ``bankrupt_session`` is
the session the account value reached zero (it stopped trading there) or None,
``shorts_refused`` counts short entries refused for initial margin, and ``conditions`` holds
how the run was set up beyond the broker (price basis, gap handling): see :mod:`.costs`.

:meth:`BacktestResult.to_dict` is plain JSON (ISO dates, NaN as null).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import fastmetrics

ORDER_COLUMNS = ("date", "side", "size", "price", "commission")
SWEEP_COLUMNS = (  # after the parameters, in a sweep's table
    "final_value", "final_cash", "total_return", "sharpe", "max_drawdown", "fills", "rejected",
    "margin_calls", "bankrupt",
)
TRADE_COLUMNS = (
    "side", "size", "entry_date", "exit_date", "entry_price", "exit_price",
    "pnl_gross", "commission", "pnl", "return", "bars",
)


def orders_frame(
    sessions: pd.DatetimeIndex,
    bars: np.ndarray,
    sizes: np.ndarray,
    prices: np.ndarray,
    commissions: np.ndarray,
) -> pd.DataFrame:
    """The ``orders`` table from per-fill arrays (signed sizes: > 0 buys)."""
    sizes = np.asarray(sizes, dtype=np.float64)
    return pd.DataFrame(
        {
            "date": sessions[np.asarray(bars, dtype=np.int64)],
            "side": np.where(sizes > 0, "buy", "sell"),
            "size": np.abs(sizes),
            "price": np.asarray(prices, dtype=np.float64),
            "commission": np.asarray(commissions, dtype=np.float64),
        },
        columns=list(ORDER_COLUMNS),
    )


def trades_from_orders(
    orders: pd.DataFrame, sessions: pd.DatetimeIndex, *, mult: float = 1.0,
    margin: float | None = None,
) -> pd.DataFrame:
    """Closed round trips from the fills (positions never grow in place here)."""
    dates = pd.DatetimeIndex(orders["date"])
    bars = sessions.get_indexer(dates)
    signed = np.where(orders["side"].to_numpy() == "buy", 1.0, -1.0) * orders["size"].to_numpy()
    prices = orders["price"].to_numpy(dtype=np.float64)
    comms = orders["commission"].to_numpy(dtype=np.float64)
    rows: list[tuple[Any, ...]] = []
    pos = 0.0
    entry: dict[str, Any] = {}
    for k in range(len(signed)):
        size_k, price, comm_k = float(signed[k]), float(prices[k]), float(comms[k])
        remaining, comm_left = size_k, comm_k
        if pos != 0.0 and (size_k > 0) != (pos > 0):  # closes (part of) the open trade
            closing = -pos if abs(size_k) >= abs(pos) else size_k
            size = abs(closing)
            comm = comm_k * size / abs(size_k)
            direction = 1.0 if pos > 0 else -1.0
            gross = size * (price - entry["price"]) * mult * direction
            total_comm = entry["comm"] * size / entry["size"] + comm
            capital = size * (entry["price"] * mult if margin is None else margin)
            pnl = gross - total_comm
            rows.append((
                "long" if pos > 0 else "short", size, entry["k"], k, entry["price"], price,
                gross, total_comm, pnl, pnl / capital, int(bars[k] - bars[entry["k"]]),
            ))
            pos += closing
            remaining, comm_left = size_k - closing, comm_k - comm
            if pos != 0.0:  # partly closed: the rest keeps its share of the entry commission
                entry["comm"] -= entry["comm"] * size / entry["size"]
                entry["size"] -= size
        if remaining != 0.0:
            if pos == 0.0:
                entry = {"k": k, "price": price, "size": abs(remaining), "comm": comm_left}
            pos += remaining
    frame = pd.DataFrame(rows, columns=list(TRADE_COLUMNS))
    for col in ("entry_date", "exit_date"):  # order positions -> dates, vectorized
        frame[col] = dates[frame[col].to_numpy(dtype=np.int64)]
    return frame


def _plain(value: Any) -> Any:
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).date().isoformat()
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """One backtest: identity, end state, orders, trades, equity and returns."""

    strategy: str
    params: dict[str, Any]
    engine: str
    broker: dict[str, Any]
    final_value: float
    final_cash: float
    final_position: float
    orders: pd.DataFrame
    trades: pd.DataFrame
    equity: pd.Series
    returns: pd.Series
    rejected_orders: int = 0
    margin_calls: int = 0
    bankrupt_session: pd.Timestamp | None = None
    shorts_refused: int = 0
    conditions: dict[str, Any] = dataclasses.field(default_factory=dict)

    def notes(self) -> tuple[str, ...]:
        """Margin calls and bankruptcy, in words (empty when neither happened)."""
        out = []
        if self.margin_calls:
            out.append(f"{self.margin_calls} margin call(s): the position was closed at the "
                       "next open when the account fell below the maintenance margin")
        if self.shorts_refused:
            out.append(f"{self.shorts_refused} short entr(y/ies) refused: the account was below "
                       "the initial margin for the short's value")
        if self.bankrupt_session is not None:
            out.append(f"bankrupt on {self.bankrupt_session.date()}: the account value reached "
                       "zero, the position was closed at the next open and trading stopped")
        return tuple(out)

    def summary(self) -> dict[str, float]:
        """Total return, Sharpe and max drawdown (:mod:`.fastmetrics` conventions)."""
        return fastmetrics.summary(self.equity.to_numpy(), self.broker["cash"])

    def to_dict(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [_plain(r) for r in frame.to_dict(orient="records")]

        return {
            "strategy": self.strategy,
            "params": _plain(self.params),
            "engine": self.engine,
            "broker": _plain(self.broker),
            "final_value": _plain(self.final_value),
            "final_cash": _plain(self.final_cash),
            "final_position": _plain(self.final_position),
            "rejected_orders": int(self.rejected_orders),
            "margin_calls": int(self.margin_calls),
            "bankrupt_session": _plain(self.bankrupt_session),
            "shorts_refused": int(self.shorts_refused),
            "conditions": _plain(self.conditions),
            "summary": _plain(self.summary()),
            "orders": records(self.orders),
            "trades": records(self.trades),
            "equity": {
                "date": [_plain(d) for d in self.equity.index],
                "value": [_plain(v) for v in self.equity.to_numpy()],
            },
            "returns": [_plain(v) for v in self.returns.to_numpy()],
        }


def make_result(
    *, strategy: str, params: dict[str, Any], engine: str, broker: dict[str, Any],
    sessions: pd.DatetimeIndex, equity: np.ndarray, final_cash: float, final_position: float,
    orders: pd.DataFrame, rejected: int, margin_calls: int = 0, bankrupt_bar: int = -1,
    shorts_refused: int = 0, conditions: dict[str, Any] | None = None,
) -> BacktestResult:
    """Assemble a :class:`BacktestResult` (trades and returns derived here, once for both
    engines)."""
    equity_s = pd.Series(np.asarray(equity, dtype=np.float64), index=sessions, name="equity")
    returns = pd.Series(
        fastmetrics.returns_from_equity(equity_s.to_numpy(), broker["cash"]),
        index=sessions, name="returns",
    )
    trades = trades_from_orders(
        orders, sessions, mult=broker["mult"], margin=broker["margin"]
    )
    return BacktestResult(
        strategy=strategy, params=dict(params), engine=engine, broker=dict(broker),
        final_value=float(equity_s.iloc[-1]), final_cash=float(final_cash),
        final_position=float(final_position), orders=orders, trades=trades,
        equity=equity_s, returns=returns, rejected_orders=int(rejected),
        margin_calls=int(margin_calls),
        bankrupt_session=sessions[int(bankrupt_bar)] if bankrupt_bar >= 0 else None,
        shorts_refused=int(shorts_refused), conditions=dict(conditions or {}),
    )
