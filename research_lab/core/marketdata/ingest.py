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

import pandas as pd

from research_lab.core.marketdata.schema import data_version


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
    per_session: tuple[SessionResult, ...] = ()
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


def _per_session(days: Sequence[date], bars: pd.DataFrame, exchange: set[date],
                 rejects: Sequence) -> tuple[SessionResult, ...]:
    from research_lab.core.marketdata.store._bars import session_versions

    versions = session_versions(bars)
    bad: dict[date, int] = {}
    for r in rejects:
        if r.session is not None:
            bad[r.session] = bad.get(r.session, 0) + 1
    groups = bars.groupby(bars["session"].dt.date).indices if len(bars) else {}
    out = []
    for d in days:
        idx = groups.get(d)
        rows = 0 if idx is None else len(idx)
        out.append(SessionResult(
            session=d, rows=rows, data_version=versions.get(d, "empty"),
            holiday=d not in exchange, missing=d in exchange and rows == 0,
            quarantined=bad.get(d, 0),
            first_timestamp=None if idx is None else bars["timestamp"].iloc[idx[0]],
            last_timestamp=None if idx is None else bars["timestamp"].iloc[idx[-1]],
            last_close=None if idx is None else float(bars["close"].iloc[idx[-1]]),
        ))
    return tuple(out)


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
    for i in range(0, len(items), WRITE_CHUNK):
        fetched = []
        for symbol, days in items[i:i + WRITE_CHUNK]:
            try:
                fetched.append((symbol, days, *_fetch(source, symbol, days)))
            except (SourceError, ValueError) as exc:
                failures.append(_failure(symbol, days, exc))
        written = _write(store, source.name, fetched, failures)
        for symbol, days, bars, rejects in written:
            summaries.append(_summary(source.name, calendar, symbol, days, bars, rejects))
    return IngestReport(tuple(summaries), tuple(failures))


def _fetch(source, symbol: str, days: list[date]):
    bars, rejects = source.fetch_checked(symbol, days[0], days[-1])
    wanted = set(days)
    if len(bars):
        bars = bars[bars["session"].dt.date.isin(wanted)].reset_index(drop=True)
    return bars, tuple(r for r in rejects if r.session is None or r.session in wanted)


def _failure(symbol: str, days: Sequence[date], exc: Exception) -> IngestFailure:
    return IngestFailure(symbol, tuple(days), f"{type(exc).__name__}: {str(exc).splitlines()[0]}")


def _write(store, source_name: str, fetched: list, failures: list) -> list:
    """Write a chunk of symbols in one transaction; if that fails, one by one, so that only
    the symbol at fault fails."""
    if not fetched:
        return []
    try:
        store.write_many([(s, d, b, r) for s, d, b, r in fetched], source=source_name)
        return fetched
    except ValueError:
        pass  # found below, symbol by symbol
    written = []
    for symbol, days, bars, rejects in fetched:
        try:
            store.write_partitions(symbol, days, bars, source=source_name, rejects=rejects)
            written.append((symbol, days, bars, rejects))
        except ValueError as exc:
            failures.append(_failure(symbol, days, exc))
    return written


def _summary(source_name, calendar, symbol, days, bars, rejects) -> IngestSummary:
    exchange = set(calendar.sessions(days[0], days[-1]))
    per = _per_session(days, bars, exchange, rejects)
    return IngestSummary(
        symbol=symbol,
        source=source_name,
        sessions=tuple(days),
        rows=len(bars),
        data_version=data_version(bars),
        holidays=tuple(p.session for p in per if p.holiday),
        missing=tuple(p.session for p in per if p.missing),
        first_timestamp=bars["timestamp"].iloc[0] if len(bars) else None,
        last_timestamp=bars["timestamp"].iloc[-1] if len(bars) else None,
        last_close=float(bars["close"].iloc[-1]) if len(bars) else None,
        per_session=per,
        rejects=rejects,
    )
