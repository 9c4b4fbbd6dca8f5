"""Synthetic daily bars: an embedded, offline, deterministic market to develop and test against.

The generator is a small market model, not white noise, so that anomaly detectors, regime
tables, strategies and learning agents meet the features of real data:

- **Regimes.** A Markov chain moves the market between *calm*, *volatile* and *crash* states
  (mean stays of roughly 80, 30 and 7 sessions). Each regime has its own drift and volatility.
- **Fat tails.** Shocks are Student-t with 4 degrees of freedom (unit variance, clipped at 8), and
  the regime mixture fattens the tails further: daily returns have a kurtosis well above 3.
- **A common factor.** ``^GSPC`` *is* the market factor, a benchmark-like price index. Every
  stock's log return is ``alpha + beta * market + idiosyncratic``, with a beta (0.6..1.5) and an
  idiosyncratic volatility drawn per symbol; idiosyncratic risk also rises in bad regimes.
- **A fear gauge.** ``^VIX`` follows the market's regime volatility and its realized (EWMA)
  volatility, mean-reverts, and jumps when the market falls: around 12-16 in calm markets, above
  20 in volatile ones, spiking past 40 in crashes.
- **Intraday bars.** The open gaps from the previous close by part of the day's move; high and
  low extend beyond the open/close by a half-normal amount scaled by the day's volatility, so
  ``low <= min(open, close) <= max(open, close) <= high`` always holds.
- **Dividends.** Dividend payers drop by the dividend on quarterly ex-dates; ``adj_close`` is
  the close adjusted back, Yahoo-style, from the end of the generated horizon (60 years after
  ``start``), a fixed anchor so that it never changes, hence below the close even on recent days.
  Returns of ``adj_close`` are total returns. Indices: ``adj_close == close``.
- **Volume** rises with the absolute return relative to the day's volatility and with the
  regime (index-like ``^VIX`` has zero volume, as on Yahoo).

Determinism: the bar of (seed, symbol, session) never depends on the range asked for, the
universe configured or the process. Each symbol's path is drawn once from a fixed origin session
(``start``) with a NumPy generator seeded from ``seed`` and a SHA-256 of the symbol (Python's
``hash()`` is salted per process); every random array has a fixed length (:data:`CAPACITY`
sessions) so that a longer calendar never shifts earlier draws. Paths are cached per process;
a fetch builds the frame of the requested slice only.

Like a live feed, the source shows bars only up to the last completed session (or ``end``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from research_lab.core.marketdata.calendar import TradingCalendar, as_date, calendar_bounds
from research_lab.core.marketdata.schema import empty_bars, validate_bars
from research_lab.core.marketdata.sources._base import (
    BarSource,
    SourceError,
    check_range,
    resolve_calendar,
)

INDEX = "^GSPC"
VIX = "^VIX"
DEFAULT_SYMBOLS: tuple[str, ...] = ("ACME", "GLOBEX", "INITECH", "UMBRELLA", "WAYNE")
CAPACITY = 15_120  # sessions drawn per path (60 years); fixed so draws never shift
REGIMES = ("calm", "volatile", "crash")
# daily transition probabilities between regimes (rows: from, columns: to)
TRANSITION = np.array(
    [
        [0.9870, 0.0115, 0.0015],
        [0.0300, 0.9600, 0.0100],
        [0.0100, 0.1400, 0.8500],
    ]
)
MARKET_DRIFT = np.array([0.00055, -0.0002, -0.0045])  # daily log drift per regime
MARKET_VOL = np.array([0.0075, 0.015, 0.033])  # daily volatility per regime
IDIO_MULT = np.array([1.0, 1.3, 1.8])  # idiosyncratic volatility multiplier per regime
T_DF = 4.0
T_CLIP = 8.0
INDEX_LEVEL = 1450.0


def _rng(seed: int, *words: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def _symbol_key(symbol: str) -> int:
    """A stable 64-bit key of a symbol (SHA-256, unlike the per-process salted ``hash()``)."""
    return int.from_bytes(hashlib.sha256(symbol.encode("utf-8")).digest()[:8], "little")


def _t(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance Student-t shocks, clipped at 8 standard deviations (no 90% days)."""
    return np.clip(rng.standard_t(T_DF, n) * np.sqrt((T_DF - 2) / T_DF), -T_CLIP, T_CLIP)


@lru_cache(maxsize=16)
def _market(seed: int) -> dict[str, np.ndarray]:
    """The market factor: regime path, log returns, volatility and the VIX level."""
    rng = _rng(seed, 0x4D4B54)  # "MKT"
    u, z = rng.random(CAPACITY), _t(rng, CAPACITY)
    cum = np.cumsum(TRANSITION, axis=1)
    regime = np.empty(CAPACITY, dtype=np.int8)
    state = 0
    for i, ui in enumerate(u.tolist()):
        state = min(int(np.searchsorted(cum[state], ui, "right")), len(REGIMES) - 1)
        regime[i] = state
    ret = MARKET_DRIFT[regime] + MARKET_VOL[regime] * z
    ewma = np.empty(CAPACITY)
    var = MARKET_VOL[0] ** 2
    for i, r in enumerate(ret.tolist()):
        var = 0.94 * var + 0.06 * r * r
        ewma[i] = var
    annual = np.sqrt(252.0) * 100.0
    target = np.log(1.12 * annual * (0.5 * MARKET_VOL[regime] + 0.5 * np.sqrt(ewma)))
    noise = 0.045 * rng.standard_normal(CAPACITY)
    log_vix = np.empty(CAPACITY)
    level = target[0]
    for i in range(CAPACITY):
        level += 0.2 * (target[i] - level) - 4.0 * ret[i] + noise[i]
        log_vix[i] = level
    return {"regime": regime, "ret": ret, "vol": MARKET_VOL[regime], "log_vix": log_vix}


def _ohlc(
    rng: np.random.Generator, first: float, log_ret: np.ndarray, vol: np.ndarray,
    gap_share: float, extra_gap: np.ndarray | float = 0.0,
) -> dict[str, np.ndarray]:
    """Open/high/low/close from close-to-close log returns and each day's volatility."""
    n = len(log_ret)
    n_gap, n_hi, n_lo = (rng.standard_normal(n) for _ in range(3))
    close = first * np.exp(np.cumsum(log_ret))
    prev = np.concatenate(([first], close[:-1]))
    gap = gap_share * (log_ret - extra_gap) + 0.3 * vol * n_gap * gap_share + extra_gap
    open_ = prev * np.exp(gap)
    high = np.maximum(open_, close) * np.exp(0.5 * vol * np.abs(n_hi))
    low = np.minimum(open_, close) * np.exp(-0.5 * vol * np.abs(n_lo))
    return {k: np.maximum(np.round(v, 4), 1e-4) for k, v in
            (("open", open_), ("high", high), ("low", low), ("close", close))}


@lru_cache(maxsize=256)
def _path(seed: int, symbol: str) -> dict[str, np.ndarray]:
    """All bars of one symbol over CAPACITY sessions from the origin (position 0)."""
    m = _market(seed)
    rng = _rng(seed, 0x53594D, _symbol_key(symbol))  # "SYM"
    if symbol == VIX:
        vix = np.exp(m["log_vix"])
        bars = _ohlc(rng, float(vix[0]), np.diff(m["log_vix"], prepend=m["log_vix"][0]),
                     np.full(CAPACITY, 0.05), gap_share=0.5)
        return {**bars, "adj_close": bars["close"], "volume": np.zeros(CAPACITY)}
    if symbol == INDEX:
        ret, vol, first, base_volume, q = m["ret"], m["vol"], INDEX_LEVEL, 1.2e9, 0.0
        gap_share = 0.1
    else:
        beta, idio = rng.uniform(0.6, 1.5), rng.uniform(0.008, 0.018)
        alpha = rng.normal(0.00005, 0.0001)
        first = float(np.exp(rng.uniform(np.log(15.0), np.log(150.0))))
        base_volume = float(np.exp(rng.uniform(np.log(5e5), np.log(3e7))))
        q = rng.uniform(0.005, 0.035) if rng.random() < 0.6 else 0.0
        idio_vol = idio * IDIO_MULT[m["regime"]]
        ret = alpha + beta * m["ret"] + idio_vol * _t(rng, CAPACITY)
        vol = np.sqrt((beta * m["vol"]) ** 2 + idio_vol**2)
        gap_share = 0.3
    ex_day = (np.arange(CAPACITY) % 63 == int(rng.integers(0, 63))) & (q > 0)
    div = np.where(ex_day, np.log1p(-q / 4), 0.0)
    bars = _ohlc(rng, first, ret + div, vol, gap_share, extra_gap=div)
    # adjusted back from the horizon's end: each later ex-date multiplies by (1 - q/4)
    later = ex_day[::-1].cumsum()[::-1] - ex_day
    adj = np.round(bars["close"] * (1 - q / 4) ** later, 6) if q > 0 else bars["close"]
    surprise = np.abs(ret - ret.mean()) / vol
    regime_boost = 0.5 * (IDIO_MULT[m["regime"]] - 1.0)
    volume = base_volume * np.exp(0.35 * surprise + regime_boost + 0.25 * rng.standard_normal(
        CAPACITY))
    return {**bars, "adj_close": np.maximum(adj, 1e-6), "volume": np.round(volume)}


@lru_cache(maxsize=8)
def _clock(origin: dt.date, calendar_name: str) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(sessions, close instants) from the origin to the calendar's end: the same for every
    symbol, so computed once."""
    cal = TradingCalendar(calendar_name)
    sessions = cal.session_index(origin, cal.last_session)
    if len(sessions) > CAPACITY:
        raise ValueError(
            f"{len(sessions)} sessions from {origin} exceed the generator's {CAPACITY}")
    return sessions, cal.close_instants(sessions)


class SyntheticSource(BarSource):
    """Deterministic regime-switching market: demo stocks plus ``^GSPC`` and ``^VIX``."""

    name = "synthetic"

    def __init__(
        self,
        seed: int = 42,
        symbols: tuple[str, ...] | list[str] = DEFAULT_SYMBOLS,
        start: Any = "2000-01-03",
        calendar: TradingCalendar | str | None = None,
        end: Any = None,
    ) -> None:
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.calendar = resolve_calendar(calendar)
        self.start = as_date(start)
        first, last = calendar_bounds()
        if not first <= self.start <= last:
            raise ValueError(f"start {self.start} is outside the calendar's [{first}, {last}]")
        self.end = None if end is None else as_date(end)
        universe = {s.strip().upper() for s in symbols if s.strip()} | {INDEX, VIX}
        self._symbols = sorted(universe)

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def available_until(self) -> dt.date:
        """The last day with bars: ``end``, or else the last completed session now."""
        if self.end is not None:
            return self.end
        done = self.calendar.last_completed_session(pd.Timestamp.now(tz="UTC"))
        return done if done is not None else self.start - dt.timedelta(days=1)

    def fetch(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        start, end = check_range(start, end)
        sym = symbol.strip().upper()
        if sym not in self._symbols:
            raise SourceError(
                f"synthetic source has no symbol {symbol!r}; it offers {', '.join(self._symbols)}",
                symbol=symbol, source=self.name,
            )
        end = min(end, self.available_until())
        if end < max(start, self.start):
            return empty_bars()
        # only the requested rows are built (a nightly fetch is one row of a cached path)
        sessions, closes = _clock(self.start, self.calendar.name)
        lo = int(sessions.searchsorted(pd.Timestamp(max(start, self.start)), "left"))
        hi = int(sessions.searchsorted(pd.Timestamp(end), "right"))
        path = _path(self.seed, sym)
        frame = pd.DataFrame(
            {"symbol": sym, "session": sessions[lo:hi], "timestamp": closes[lo:hi],
             **{k: v[lo:hi] for k, v in path.items()}}
        )
        return validate_bars(frame, source=f"synthetic:{sym}")

    def regimes(self, start: Any, end: Any) -> pd.Series:
        """The market regime ("calm", "volatile", "crash") of each session: the ground truth."""
        start, end = check_range(start, end)
        origin_sessions = self.calendar.session_index(self.start, self.calendar.last_session)
        lo = origin_sessions.searchsorted(pd.Timestamp(max(start, self.start)), "left")
        hi = origin_sessions.searchsorted(pd.Timestamp(end), "right")
        codes = _market(self.seed)["regime"][lo:hi]
        return pd.Series(np.asarray(REGIMES)[codes], index=origin_sessions[lo:hi], name="regime")
