"""Daily bars downloaded from Yahoo Finance through the ``yfinance`` library.

The network is the one thing here that fails for reasons of its own, so the rules are strict:

- A range with no session (a holiday, a weekend) returns ``empty_bars()`` without touching the
  network: there is nothing to download.
- Any download error (offline, DNS, HTTP, rate limit, unknown ticker) raises
  :class:`SourceError` saying what was asked and why it failed.
- A download that returns no rows although the calendar has sessions in the range also raises
  :class:`SourceError`: an empty answer there means a problem upstream, not a market holiday.
- Rows are kept only when their date lies in [start, end]; each is stamped with the session's
  close from the calendar (16:00 New York for a day that is not a session).
- One bad row (Yahoo answers a session with NaN prices now and then) does not fail the symbol:
  :meth:`YFinanceSource.fetch_checked` returns the valid rows and every invalid one as a reject
  (its position in Yahoo's answer, 1-based, the Yahoo column and the reason), which ingestion
  quarantines; :meth:`fetch` still refuses the whole answer on the first bad row.

``yfinance`` is imported inside :meth:`YFinanceSource.fetch` (it takes about a second to import).
Tests replace ``yfinance.Ticker.history`` with a function returning a frame shaped like Yahoo's:
a ``DatetimeIndex`` named ``Date`` in America/New_York, columns ``Open High Low Close Adj Close
Volume``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from research_lab.core.marketdata.calendar import TradingCalendar
from research_lab.core.marketdata.schema import empty_bars, validate_bars
from research_lab.core.marketdata.sources._base import (
    BarSource,
    FetchResult,
    SourceError,
    check_range,
    resolve_calendar,
)

DEFAULT_SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "AAPL", "MSFT", "ORCL")
YAHOO_COLUMNS = {
    "Open": "open",
    "High": "high",
    "Low": "low",
    "Close": "close",
    "Adj Close": "adj_close",
    "Volume": "volume",
}


class YFinanceSource(BarSource):
    """Bars of a configured list of tickers from Yahoo Finance (needs network access)."""

    name = "yfinance"

    def __init__(
        self,
        symbols: tuple[str, ...] | list[str] = DEFAULT_SYMBOLS,
        calendar: TradingCalendar | str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._symbols = sorted({s.strip().upper() for s in symbols if s.strip()})
        self.calendar = resolve_calendar(calendar)
        self.timeout = timeout

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def fetch(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        frame, label = self._answer(symbol, start, end)
        return empty_bars() if frame is None else validate_bars(frame, source=label)

    def fetch_checked(self, symbol: str, start: dt.date, end: dt.date) -> FetchResult:
        """The valid rows of Yahoo's answer and every invalid row as a reject."""
        from research_lab.core.marketdata.quarantine import split_rows

        frame, label = self._answer(symbol, start, end)
        if frame is None:
            return FetchResult(empty_bars(), ())
        names = {new: old for old, new in YAHOO_COLUMNS.items()} | {"session": "Date"}
        bars, rejects = split_rows(frame, source=label, offset=1, field_names=names)
        return FetchResult(bars, tuple(rejects))

    def _answer(self, symbol: str, start: dt.date, end: dt.date):
        """(Yahoo's rows in [start, end] in the bar columns, not validated yet, or None when
        there are none; the source label for messages)."""
        start, end = check_range(start, end)
        sym = symbol.strip().upper()
        if not self.calendar.sessions(start, end):
            return None, ""
        asked = f"{sym} {start}..{end}"
        raw = self._download(sym, start, end, asked)
        if raw is None or len(raw) == 0:
            raise SourceError(
                f"yfinance returned no rows for {asked} although the {self.calendar.name} "
                f"calendar has sessions there; the ticker may be unknown or delisted, or Yahoo "
                f"may be failing",
                symbol=sym, source=self.name,
            )
        frame = self._to_frame(raw, sym, start, end, asked)
        return (None if frame.empty else frame), f"yfinance:{sym} {start}..{end}"

    def _download(self, sym: str, start: dt.date, end: dt.date, asked: str) -> pd.DataFrame:
        try:
            import yfinance

            return yfinance.Ticker(sym).history(
                start=start.isoformat(),
                end=(end + dt.timedelta(days=1)).isoformat(),  # Yahoo's end is exclusive
                interval="1d",
                auto_adjust=False,
                actions=False,
                raise_errors=True,
                timeout=self.timeout,
            )
        except Exception as exc:  # noqa: BLE001 - whatever broke, the caller gets one clear error
            raise SourceError(
                f"yfinance could not download {asked}: {type(exc).__name__}: {exc}; check "
                f"network access or use the synthetic/csv source",
                symbol=sym, source=self.name,
            ) from exc

    def _to_frame(
        self, raw: pd.DataFrame, sym: str, start: dt.date, end: dt.date, asked: str
    ) -> pd.DataFrame:
        missing = [c for c in YAHOO_COLUMNS if c not in raw.columns]
        if "Adj Close" in missing and "Close" in raw.columns:
            missing.remove("Adj Close")  # some feeds omit it; the close is then adjusted
        if missing:
            raise SourceError(
                f"yfinance answer for {asked} lacks column(s) {', '.join(missing)} "
                f"(got {', '.join(map(str, raw.columns))})",
                symbol=sym, source=self.name,
            )
        index = pd.DatetimeIndex(raw.index)
        if index.tz is not None:
            index = index.tz_convert(self.calendar.tz).tz_localize(None)
        days = index.normalize().as_unit("ns")
        keep = (days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))
        days = days[keep]
        frame = pd.DataFrame(
            {
                "symbol": sym,
                "session": days,
                "timestamp": self.calendar.close_instants(days),
                **{
                    new: raw[old if old in raw.columns else "Close"].to_numpy()[keep]
                    for old, new in YAHOO_COLUMNS.items()
                },
            }
        )
        return frame
