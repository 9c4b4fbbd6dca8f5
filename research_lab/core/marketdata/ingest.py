"""Ingest partitions: fetch from a source, set bad rows aside, write to the store.

:func:`ingest_partitions` is the one use case behind the ``market_data`` asset, the CLI and the
benchmarks. It keeps four promises:

- **Time.** Every requested session must have happened: a session is ingested only after its
  close in the exchange calendar (a weekday that is not a session, after that day). A request
  for a later session raises :class:`FutureSessionError` (one line) before anything is fetched
  or written, so an empty partition is never recorded for a session that has not happened.
- **One bad row.** Rows that fail validation are returned by the source as rejects
  (``BarSource.fetch_checked``); the valid rows are stored, the rejects are quarantined in the
  same transaction with their reason and become critical anomalies of their session.
- **One bad symbol.** A symbol whose fetch or write fails (the source does not serve it, a
  file is unreadable) is reported in :attr:`IngestReport.failures` with the reason; the other
  symbols are written all the same. Symbols are written :data:`WRITE_CHUNK` at a time in one
  store transaction (``BarStore.write_many``); if that transaction fails, its symbols are
  written one by one so that only the one at fault fails.
- **Per-session results.** :attr:`IngestSummary.per_session` gives each session its own rows,
  timestamps and data version (the store's per-session version), for per-partition metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd


WRITE_CHUNK = 100  # symbols fetched, then written in one store transaction


class FutureSessionError(ValueError):
    """A requested session has not closed yet (nothing was fetched or written)."""


@dataclass(frozen=True)
class SessionResult:
    """What one (symbol, session) partition holds after the write."""

    session: date
    rows: int
    data_version: str
    holiday: bool = False
    missing: bool = False  # an exchange session for which the source had no bar
    quarantined: int = 0  # rows of this session set aside as invalid
    first_timestamp: pd.Timestamp | None = None
    last_timestamp: pd.Timestamp | None = None
    last_close: float | None = None


@dataclass(frozen=True)
class IngestSummary:
    """What one symbol's ingestion wrote."""

    symbol: str
    source: str
    sessions: tuple[date, ...]
    rows: int
    data_version: str
    holidays: tuple[date, ...] = ()
    missing: tuple[date, ...] = ()  # exchange sessions for which the source had no bar
    first_timestamp: pd.Timestamp | None = None
    last_timestamp: pd.Timestamp | None = None
    last_close: float | None = None
    per_session: Sequence[SessionResult] = ()  # a SessionResults (lazy; .frame() for a table)
    rejects: tuple = ()  # quarantine.RejectedRow, every invalid row of these sessions
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IngestFailure:
    """A symbol that could not be ingested: nothing of it was written in this call."""

    symbol: str
    sessions: tuple[date, ...]
    reason: str


@dataclass(frozen=True)
class IngestReport:
    summaries: tuple[IngestSummary, ...]
    failures: tuple[IngestFailure, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def utc_now() -> pd.Timestamp:
    """The current instant in UTC: the clock of every "has this session closed?" decision (one
    function, so that tests can set the time)."""
    return pd.Timestamp.now(tz="UTC")


def not_yet_happened(calendar, days, now) -> list[date]:
    """The days among ``days`` that have not happened at ``now``: a session before its close,
    a weekday that is not a session before it ends (in the exchange's time zone)."""
    now = pd.Timestamp(now)
    last_closed = calendar.last_completed_session(now) or date.min
    today = now.tz_convert(calendar.tz).date()
    return sorted(
        d for d in set(days)
        if d > last_closed and (d >= today or calendar.is_session(d))
    )


def check_sessions_closed(calendar, requests: Mapping[str, Sequence[date]], now) -> None:
    """Raise :class:`FutureSessionError` when a requested session has not closed at ``now``."""
    early = not_yet_happened(calendar, (d for days in requests.values() for d in days), now)
    if early:
        last = calendar.last_completed_session(pd.Timestamp(now))
        more = f" (and {len(early) - 1} later)" if len(early) > 1 else ""
        raise FutureSessionError(
            f"session {early[0]}{more} has not closed yet (last closed session: {last}); "
            f"a session is ingested only after its close"
        )


class SessionResults(Sequence):
    """The :class:`SessionResult` of each requested session of one symbol, in session order.

    Computed column-wise (numpy, no Python loop per session) and kept as columns; a
    :class:`SessionResult` object is only built when an item is read, so a 20-year range of
    500 symbols (2.6 million sessions) costs nothing until someone looks. :meth:`frame` gives
    the same as a DataFrame (one row per session).
    """

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self._c = columns

    def __len__(self) -> int:
        return len(self._c["session"])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        c = self._c
        rows = int(c["rows"][i])
        return SessionResult(
            session=c["session"][i], rows=rows, data_version=c["data_version"][i],
            holiday=bool(c["holiday"][i]), missing=bool(c["missing"][i]),
            quarantined=int(c["quarantined"][i]),
            first_timestamp=c["first_timestamp"][i] if rows else None,
            last_timestamp=c["last_timestamp"][i] if rows else None,
            last_close=float(c["last_close"][i]) if rows else None,
        )

    def frame(self) -> pd.DataFrame:
        """One row per session: session (date), rows, data_version, holiday, missing,
        quarantined, first_timestamp, last_timestamp (UTC, NaT without bars), last_close."""
        return pd.DataFrame(self._c)

    def __repr__(self) -> str:
        return f"SessionResults({len(self)} sessions)"


def _per_session(days: Sequence[date], bars: pd.DataFrame, exchange: np.ndarray,
                 rejects: Sequence, versions: Mapping[date, str]) -> SessionResults:
    """Per-session results, vectorized: ``days`` sorted, ``exchange`` the exchange sessions
    (``datetime64[D]``), ``versions`` the per-session data versions of the write."""
    from research_lab.core.marketdata.store._bars import as_days

    wanted = as_days(days)
    n = len(wanted)
    rows = np.zeros(n, dtype=np.int64)
    first = np.full(n, np.datetime64("NaT", "ns"))
    last = np.full(n, np.datetime64("NaT", "ns"))
    close = np.full(n, np.nan)
    if len(bars):
        session = bars["session"].to_numpy().astype("datetime64[D]")
        stamps = pd.DatetimeIndex(bars["timestamp"]).tz_convert("UTC").tz_localize(None)
        stamps = stamps.as_unit("ns").to_numpy()
        prices = bars["close"].to_numpy(dtype="float64")
        if len(session) > 1 and (session[1:] < session[:-1]).any():  # not grouped: group them
            order = np.argsort(session, kind="stable")
            session, stamps, prices = session[order], stamps[order], prices[order]
        starts = np.flatnonzero(np.r_[True, session[1:] != session[:-1]])
        ends = np.r_[starts[1:], len(session)] - 1
        pos = np.searchsorted(wanted, session[starts])
        rows[pos] = ends - starts + 1
        first[pos], last[pos] = stamps[starts], stamps[ends]
        close[pos] = prices[ends]
    quarantined = np.zeros(n, dtype=np.int64)
    dated = [r.session for r in rejects if r.session is not None]
    if dated:
        bad, counts = np.unique(np.array(dated, dtype="datetime64[D]"), return_counts=True)
        hit = np.isin(bad, wanted)
        quarantined[np.searchsorted(wanted, bad[hit])] = counts[hit]
    holiday = ~np.isin(wanted, exchange)
    day_objects = wanted.astype(object)
    return SessionResults({
        "session": day_objects,
        "rows": rows,
        "data_version": np.array([versions.get(d, "empty") for d in day_objects], dtype=object),
        "holiday": holiday,
        "missing": ~holiday & (rows == 0),
        "quarantined": quarantined,
        "first_timestamp": pd.DatetimeIndex(first).tz_localize("UTC"),
        "last_timestamp": pd.DatetimeIndex(last).tz_localize("UTC"),
        "last_close": close,
    })


def ingest_partitions(
    source, store, calendar, requests: Mapping[str, Sequence[date]], *, now=None
) -> IngestReport:
    """Fetch, check and write ``{symbol: [session, ...]}`` (see the module docstring).

    ``now`` (default: the current instant) decides which sessions have closed.
    """
    from research_lab.core.marketdata.sources import SourceError

    check_sessions_closed(calendar, requests, utc_now() if now is None else now)
    summaries, failures = [], []
    items = [(sym, sorted(set(days))) for sym, days in requests.items() if days]
    exchange_cache: dict[tuple[date, date], np.ndarray] = {}
    for i in range(0, len(items), WRITE_CHUNK):
        fetched = []
        for symbol, days in items[i:i + WRITE_CHUNK]:
            try:
                fetched.append((symbol, days, *_fetch(source, symbol, days)))
            except (SourceError, ValueError) as exc:
                failures.append(_failure(symbol, days, exc))
        written = _write(store, source.name, fetched, failures)
        for (symbol, days, bars, rejects), write in written:
            span = (days[0], days[-1])
            if span not in exchange_cache:
                exchange_cache[span] = calendar.session_index(*span).to_numpy().astype(
                    "datetime64[D]")
            summaries.append(_summary(source.name, exchange_cache[span], symbol, days, bars,
                                      rejects, write))
    return IngestReport(tuple(summaries), tuple(failures))


def _fetch(source, symbol: str, days: list[date]):
    bars, rejects = source.fetch_checked(symbol, days[0], days[-1])
    if len(bars):
        from research_lab.core.marketdata.store._bars import as_days

        keep = np.isin(bars["session"].to_numpy().astype("datetime64[D]"), as_days(days))
        if not keep.all():
            bars = bars[keep].reset_index(drop=True)
    if rejects:
        wanted = set(days)
        rejects = tuple(r for r in rejects if r.session is None or r.session in wanted)
    return bars, tuple(rejects)


def _failure(symbol: str, days: Sequence[date], exc: Exception) -> IngestFailure:
    return IngestFailure(symbol, tuple(days), f"{type(exc).__name__}: {str(exc).splitlines()[0]}")


def _write(store, source_name: str, fetched: list, failures: list) -> list:
    """Write a chunk of symbols in one transaction; if that fails, one by one, so that only
    the symbol at fault fails. Returns ``((symbol, days, bars, rejects), WriteSummary)``."""
    if not fetched:
        return []
    try:
        return list(zip(fetched, store.write_many(fetched, source=source_name)))
    except ValueError:
        pass  # found below, symbol by symbol
    written = []
    for symbol, days, bars, rejects in fetched:
        try:
            summary = store.write_partitions(symbol, days, bars, source=source_name,
                                             rejects=rejects)
            written.append(((symbol, days, bars, rejects), summary))
        except ValueError as exc:
            failures.append(_failure(symbol, days, exc))
    return written


def _summary(source_name, exchange, symbol, days, bars, rejects, write) -> IngestSummary:
    per = _per_session(days, bars, exchange, rejects, write.session_versions)
    c = per._c
    return IngestSummary(
        symbol=symbol,
        source=source_name,
        sessions=tuple(days),
        rows=len(bars),
        data_version=write.data_version,
        holidays=tuple(c["session"][c["holiday"]]),
        missing=tuple(c["session"][c["missing"]]),
        first_timestamp=bars["timestamp"].iloc[0] if len(bars) else None,
        last_timestamp=bars["timestamp"].iloc[-1] if len(bars) else None,
        last_close=float(bars["close"].iloc[-1]) if len(bars) else None,
        per_session=per,
        rejects=rejects,
    )
