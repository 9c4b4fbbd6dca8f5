"""Ingest partitions: fetch from a source, validate, write to the store.

:func:`ingest_partitions` fetches every requested symbol first and writes only when every fetch
succeeded, so that a source failure (offline, bad file) writes nothing; each symbol's sessions
are then written in one store transaction, replacing exactly those partitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from research_lab.core.marketdata.schema import data_version


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
    extra: dict = field(default_factory=dict)


def _sessions_of(bars: pd.DataFrame) -> set[date]:
    return {ts.date() for ts in bars["session"]}


def ingest_partitions(
    source, store, calendar, requests: Mapping[str, Sequence[date]]
) -> list[IngestSummary]:
    """Fetch, validate and write ``{symbol: [session, ...]}``; returns one summary per symbol.

    Sessions may include exchange holidays (they are written as empty partitions and listed in
    ``holidays``). Raises the source's error before anything is written if any fetch fails.
    """
    fetched: list[tuple[str, list[date], pd.DataFrame]] = []
    for symbol, sessions in requests.items():
        days = sorted(set(sessions))
        if not days:
            continue
        bars = source.fetch(symbol, days[0], days[-1])
        wanted = set(days)
        keep = bars["session"].dt.date.isin(wanted) if len(bars) else []
        bars = bars[keep].reset_index(drop=True) if len(bars) else bars
        fetched.append((symbol, days, bars))

    summaries = []
    for symbol, days, bars in fetched:
        store.write_partitions(symbol, days, bars, source=source.name)
        exchange_days = set(calendar.sessions(days[0], days[-1]))
        have = _sessions_of(bars) if len(bars) else set()
        summaries.append(
            IngestSummary(
                symbol=symbol,
                source=source.name,
                sessions=tuple(days),
                rows=len(bars),
                data_version=data_version(bars),
                holidays=tuple(d for d in days if d not in exchange_days),
                missing=tuple(d for d in days if d in exchange_days and d not in have),
                first_timestamp=bars["timestamp"].iloc[0] if len(bars) else None,
                last_timestamp=bars["timestamp"].iloc[-1] if len(bars) else None,
                last_close=float(bars["close"].iloc[-1]) if len(bars) else None,
            )
        )
    return summaries
