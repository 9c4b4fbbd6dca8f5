"""Named indicator lines, computed once per price series and shared.

A strategy does not compute arrays itself: it names the lines its rule compares, e.g.
``sma("close", 10)`` and ``sma("close", 30)``. A :class:`LineCache` computes each distinct
line once per :class:`~.prices.Prices`, so a 100-combination SMA sweep over
fast 5..50 x slow 20..200 computes 18 SMAs, not 200, and every combination reads rows of one
stacked matrix (:meth:`LineCache.stack`).

Lines are causal: the value at bar t uses bars 0..t only (tested for every strategy by
truncating the data). Values are NaN until the indicator has enough bars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .prices import Prices


class Line(NamedTuple):
    """A reference to an indicator line: ``kind`` and its arguments (a cheap-to-hash key)."""

    kind: str
    args: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(map(str, self.args))})"


def price(field: str = "close") -> Line:
    return Line("price", (field,))


def const(value: float) -> Line:
    return Line("const", (float(value),))


def sma(field: str, period: int) -> Line:
    return Line("sma", (field, int(period)))


def ema(field: str, period: int) -> Line:
    return Line("ema", (field, int(period)))


def rsi(field: str, period: int) -> Line:
    return Line("rsi", (field, int(period)))


def bollinger_top(field: str, period: int, devfactor: float) -> Line:
    return Line("bollinger_top", (field, int(period), float(devfactor)))


def bollinger_bot(field: str, period: int, devfactor: float) -> Line:
    return Line("bollinger_bot", (field, int(period), float(devfactor)))


def macd(field: str, fast: int, slow: int) -> Line:
    return Line("macd", (field, int(fast), int(slow)))


def macd_signal(field: str, fast: int, slow: int, signal: int) -> Line:
    return Line("macd_signal", (field, int(fast), int(slow), int(signal)))


def highest_before(field: str, period: int) -> Line:
    """Highest value of the ``period`` bars before bar t (bar t excluded)."""
    return Line("highest_before", (field, int(period)))


def lowest_before(field: str, period: int) -> Line:
    """Lowest value of the ``period`` bars before bar t (bar t excluded)."""
    return Line("lowest_before", (field, int(period)))


def roc(field: str, period: int) -> Line:
    return Line("roc", (field, int(period)))


class LineCache:
    """Computes lines of one :class:`Prices` on demand and remembers them."""

    def __init__(self, prices: Prices) -> None:
        self.prices = prices
        self._memo: dict[Any, Any] = {}

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def get(self, line: Line) -> np.ndarray:
        try:
            compute = _COMPUTE[line.kind]
        except KeyError:
            raise ValueError(f"unknown line kind {line.kind!r}; known: {sorted(_COMPUTE)}") from None
        return self.memo(line, lambda: compute(self, *line.args))

    def stack(self, lines: Sequence[Line]) -> tuple[np.ndarray, dict[Line, int]]:
        """The distinct ``lines`` as rows of one C-contiguous matrix, and each line's row."""
        rows: dict[Line, int] = {}
        for line in lines:
            rows.setdefault(line, len(rows))
        matrix = np.empty((len(rows), len(self.prices)))
        for line, i in rows.items():
            matrix[i] = self.get(line)
        return matrix, rows


def _ind():
    from . import indicators  # numba: imported only when a line is computed

    return indicators


def _bollinger(c: LineCache, field: str, period: int, devfactor: float) -> tuple:
    return c.memo(
        ("bollinger", field, period, devfactor),
        lambda: _ind().bollinger(c.prices.field(field), period, devfactor),
    )


def _sma(c: LineCache, field: str, period: int) -> np.ndarray:
    x = c.prices.field(field)
    prefix = c.memo(("prefix", field), lambda: _ind().prefix_sums(x))
    return _ind().sma_from_prefix(x, *prefix, period)


_COMPUTE: dict[str, Callable[..., np.ndarray]] = {
    "price": lambda c, f: c.prices.field(f),
    "const": lambda c, v: np.full(len(c.prices), v),
    "sma": lambda c, f, p: _sma(c, f, p),
    "ema": lambda c, f, p: _ind().smooth(c.prices.field(f), p, 2.0 / (1.0 + p)),
    "rsi": lambda c, f, p: _ind().rsi(c.prices.field(f), p),
    "bollinger_top": lambda c, f, p, d: _bollinger(c, f, p, d)[1],
    "bollinger_bot": lambda c, f, p, d: _bollinger(c, f, p, d)[2],
    "macd": lambda c, f, a, b: c.get(ema(f, a)) - c.get(ema(f, b)),
    "macd_signal": lambda c, f, a, b, s: _ind().smooth(c.get(macd(f, a, b)), s, 2.0 / (1.0 + s)),
    "highest_before": lambda c, f, p: _ind().shift(_ind().rolling_max(c.prices.field(f), p), 1),
    "lowest_before": lambda c, f, p: _ind().shift(_ind().rolling_min(c.prices.field(f), p), 1),
    "roc": lambda c, f, p: _ind().roc(c.prices.field(f), p),
}
