"""Daily bars from a directory of CSV files: one file per symbol (a landing folder).

Accepted formats (header names are case-insensitive, surrounding spaces ignored):

- Yahoo Finance's download: ``Date,Open,High,Low,Close,Adj Close,Volume``.
- Generic OHLCV: a date column named ``date``, ``session``, ``timestamp`` or ``datetime``;
  ``open``, ``high``, ``low``, ``close``, ``volume``; optionally ``adj_close`` / ``adj close`` /
  ``adjclose`` (defaults to ``close``). Other columns (``OpenInterest``...) are ignored.

Dates are ``YYYY-MM-DD`` (fast path) or anything pandas parses; a date with a time of day counts
as its calendar day (a tz-aware one as its day at the exchange, New York for XNYS). Each bar is stamped with its session's
close from the trading calendar; a day that is not a session (an index that traded on an NYSE
holiday) is stamped 16:00 New York and kept: rows are never dropped or invented.

**Which symbol a file holds.** Files are ``*.csv`` and ``*.txt`` directly in the directory.
``symbols_map`` (file name or stem, any case -> symbol) wins where it names a file; otherwise
the symbol is the file stem, upper-cased, with a trailing year range ``-YYYY-YYYY`` removed::

    orcl-1995-2014.txt  -> ORCL
    SPY.csv             -> SPY
    2006-day-001.txt    -> 2006-DAY-001   (no trailing year range; map it to name it)

Two files that give the same symbol are an error (:class:`SourceError` naming both).

**Errors.** A missing directory or file, or an unreadable file, raises :class:`SourceError`.
Bad content raises :class:`BarValidationError` naming the file, the 1-based line number as an
editor shows it, and the column as the file spells it (``'Adj Close'``): a missing column, an
unparsable date or number, Yahoo's ``null`` rows, NaN, a duplicate or out-of-order date,
``high < low``, a non-positive price, a negative volume.

Parsed files are cached per (path, modification time, size), so a re-read happens only when a
file changes; :meth:`CsvDirSource.list_files` gives what a sensor needs to notice that.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from research_lab.core.marketdata.calendar import TradingCalendar
from research_lab.core.marketdata.schema import (
    BarValidationError,
    RowNumbering,
    empty_bars,
    validate_bars,
)
from research_lab.core.marketdata.sources._base import (
    BarSource,
    FetchResult,
    SourceError,
    between,
    check_range,
    resolve_calendar,
)

SUFFIXES = (".csv", ".txt")
_YEAR_RANGE = re.compile(r"-\d{4}-\d{4}$")
DATE_NAMES = ("date", "session", "timestamp", "datetime")
# bar column -> accepted header names (lower case)
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "adj_close": ("adj_close", "adj close", "adjclose", "adjusted_close", "adjusted close"),
    "volume": ("volume",),
}


class CsvFile(NamedTuple):
    """One file of the directory, as a sensor sees it."""

    symbol: str
    path: Path
    mtime: float  # seconds since the epoch
    size: int  # bytes


def symbol_for_stem(stem: str) -> str:
    """``orcl-1995-2014`` -> ``ORCL``: upper case, a trailing ``-YYYY-YYYY`` removed."""
    return _YEAR_RANGE.sub("", stem.strip()).upper()


class CsvDirSource(BarSource):
    """Bars read from ``*.csv`` / ``*.txt`` files in one directory, one symbol per file."""

    name = "csv"

    def __init__(
        self,
        directory: str | os.PathLike[str],
        symbols_map: dict[str, str] | None = None,
        calendar: TradingCalendar | str | None = None,
    ) -> None:
        self.directory = Path(directory).expanduser()
        self.symbols_map = {k.lower(): v.strip().upper() for k, v in (symbols_map or {}).items()}
        self.calendar = resolve_calendar(calendar)

    def _symbol_of(self, path: Path) -> str:
        for key in (path.name.lower(), path.stem.lower()):
            if key in self.symbols_map:
                return self.symbols_map[key]
        return symbol_for_stem(path.stem)

    def list_files(self) -> list[CsvFile]:
        """Every data file with its symbol, modification time and size, sorted by symbol."""
        if not self.directory.is_dir():
            raise SourceError(
                f"csv source: directory {self.directory} does not exist or is not a directory",
                source=self.name,
            )
        files: dict[str, CsvFile] = {}
        for path in sorted(self.directory.iterdir()):
            if path.suffix.lower() not in SUFFIXES or not path.is_file():
                continue
            symbol = self._symbol_of(path)
            if symbol in files:
                raise SourceError(
                    f"csv source: files {files[symbol].path.name} and {path.name} in "
                    f"{self.directory} both give symbol {symbol}; rename one or pass symbols_map",
                    symbol=symbol, source=self.name,
                )
            st = path.stat()
            files[symbol] = CsvFile(symbol, path, st.st_mtime, st.st_size)
        return [files[s] for s in sorted(files)]

    def symbols(self) -> list[str]:
        return [f.symbol for f in self.list_files()]

    def fetch(self, symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        start, end = check_range(start, end)
        sym = symbol.strip().upper()
        frame = self.read(self._file_for(sym), sym)
        return between(frame, start, end) if len(frame) else empty_bars()

    def fetch_checked(self, symbol: str, start: dt.date, end: dt.date) -> FetchResult:
        """The valid bars in [start, end] and every invalid row of the file dated in that range
        (or with an unreadable date), instead of failing on the first bad row."""
        start, end = check_range(start, end)
        path = self._file_for(symbol)
        st = path.stat()
        frame, rejects = _parse_lenient(
            str(path), st.st_mtime_ns, st.st_size, symbol.strip().upper(), self.calendar.name
        )
        bars = between(frame, start, end) if len(frame) else empty_bars()
        kept = tuple(r for r in rejects if r.session is None or start <= r.session <= end)
        return FetchResult(bars, kept)

    def _file_for(self, symbol: str) -> Path:
        sym = symbol.strip().upper()
        files = {f.symbol: f for f in self.list_files()}
        if sym not in files:
            raise SourceError(
                f"csv source has no file for {symbol!r} in {self.directory} "
                f"(symbols: {', '.join(files) or 'none'})",
                symbol=symbol, source=self.name,
            )
        return files[sym].path

    def read(self, path: str | os.PathLike[str], symbol: str | None = None) -> pd.DataFrame:
        """All validated bars of one file (cached per path, modification time and size)."""
        p = Path(path)
        try:
            st = p.stat()
        except OSError as exc:
            raise SourceError(
                f"csv source cannot read {p} for {symbol or p.stem}: {exc.strerror or exc}",
                symbol=symbol, source=self.name,
            ) from exc
        sym = symbol or self._symbol_of(p)
        return _parse(str(p), st.st_mtime_ns, st.st_size, sym, self.calendar.name).copy()


def _read_raw(path: str, symbol: str):
    """(raw text frame without blank lines, file positions of its rows, bar column -> file
    column, date column) of one file; a missing column or unreadable file raises."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        raise SourceError(f"csv source cannot parse {path} for {symbol}: {exc}",
                          symbol=symbol, source="csv") from exc
    columns = {str(c).strip().lower(): str(c) for c in raw.columns}
    found = {k: _find(columns, names) for k, names in COLUMN_NAMES.items()}
    found["adj_close"] = found["adj_close"] or found["close"]
    date_col = _find(columns, DATE_NAMES)
    missing = [k for k, v in found.items() if v is None] + ([] if date_col else ["date"])
    if missing:
        raise BarValidationError(
            f"missing column(s) {', '.join(missing)}; header is {', '.join(map(str, raw.columns))}",
            source=path, row=1, field=missing[0], row_label="line",
        )
    blank = (raw.apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy()
    positions = (~blank).nonzero()[0]
    return raw.loc[~blank].reset_index(drop=True), positions, found, date_col


@lru_cache(maxsize=128)
def _parse_lenient(path: str, mtime_ns: int, size: int, symbol: str, calendar: str):
    """(valid bars, rejects) of one file: every invalid row set aside with its reason."""
    from research_lab.core.marketdata.quarantine import split_rows

    raw, positions, found, date_col = _read_raw(path, symbol)
    if raw.empty:
        return empty_bars(), ()
    cal = TradingCalendar(calendar)
    days = _dates(raw[date_col], path, date_col, positions, RowNumbering.csv_lines(), cal.tz,
                  strict=False)
    stamps = pd.Series(pd.NaT, index=range(len(days)), dtype="datetime64[ns, UTC]")
    ok = ~days.isna()
    stamps[ok] = cal.close_instants(days[ok])
    frame = pd.DataFrame(
        {"symbol": symbol, "session": raw[date_col], "timestamp": stamps,
         **{k: raw[v] for k, v in found.items()}}
    )
    frame.loc[ok, "session"] = pd.Series(days[ok].strftime("%Y-%m-%d"), index=frame.index[ok])
    bars, rejects = split_rows(
        frame, source=path, positions=positions, offset=RowNumbering.csv_lines().offset,
        field_names={"session": date_col, "timestamp": date_col, **found},
    )
    return bars, tuple(rejects)


def _find(columns: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((columns[n] for n in names if n in columns), None)


@lru_cache(maxsize=128)
def _parse(path: str, mtime_ns: int, size: int, symbol: str, calendar: str) -> pd.DataFrame:
    """Read and validate one file; the cache key changes whenever the file does."""
    raw, positions, found, date_col = _read_raw(path, symbol)
    if raw.empty:
        return empty_bars()
    to_file = {"session": date_col, "timestamp": date_col, "symbol": "symbol", **found}
    numbering = RowNumbering.csv_lines()
    cal = TradingCalendar(calendar)
    sessions = _dates(raw[date_col], path, date_col, positions, numbering, cal.tz)
    dup = sessions.duplicated()
    if dup.any():
        pos = int(dup.argmax())
        first = int(positions[int((sessions == sessions[pos]).argmax())]) + numbering.offset
        raise BarValidationError(
            f"duplicate date {sessions[pos].date()} (already on line {first})", source=path,
            row=int(positions[pos]) + numbering.offset, field=date_col, row_label=numbering.label,
        )
    frame = pd.DataFrame(
        {"symbol": symbol, "session": sessions, "timestamp": cal.close_instants(sessions),
         **{k: raw[v] for k, v in found.items()}}
    )
    try:
        return validate_bars(frame, source=path, numbering=numbering, row_positions=positions)
    except BarValidationError as exc:  # name the column as the file spells it
        field = to_file.get(exc.field or "", exc.field)
        raise BarValidationError(_yahoo_hint(exc.reason), source=exc.source, row=exc.row,
                                 field=field, row_label=exc.row_label) from None


def _dates(col: pd.Series, path: str, name: str, positions: Any,
           numbering: RowNumbering, tz: str, strict: bool = True) -> pd.DatetimeIndex:
    """Each row's day; a time of day is dropped, a tz-aware instant counts in ``tz``.

    An unparsable date raises, or is NaT when ``strict`` is False."""
    text = col.str.strip()
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    if parsed.isna().any():
        from research_lab.core.inputs import AMBIGUOUS_DATE

        ambiguous = text.str.match(AMBIGUOUS_DATE).fillna(False).to_numpy()
        if ambiguous.any():  # read month-first, it would blame the row order instead
            pos = int(ambiguous.argmax())
            raise BarValidationError(
                f"date {col.iloc[pos]!r} is day-first or month-first (ambiguous); "
                "write dates as YYYY-MM-DD", source=path,
                row=int(positions[pos]) + numbering.offset, field=name, row_label=numbering.label,
            )
        parsed = pd.to_datetime(text, format="mixed", errors="coerce", utc=True)
        if strict and parsed.isna().any():
            pos = int(parsed.isna().to_numpy().argmax())
            raise BarValidationError(
                f"unparsable date {col.iloc[pos]!r}", source=path,
                row=int(positions[pos]) + numbering.offset, field=name, row_label=numbering.label,
            )
        aware = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
        local = parsed.dt.tz_convert(tz).dt.tz_localize(None)
        parsed = local.where(aware, parsed.dt.tz_localize(None))
    return pd.DatetimeIndex(parsed).normalize().as_unit("ns")


def _yahoo_hint(reason: str) -> str:
    if reason == "not a number: 'null'":
        return "null value (Yahoo writes null for a day it has no price; fix or remove the row)"
    return reason
