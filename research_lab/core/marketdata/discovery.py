"""What is new at the source: new symbols, new sessions, new or changed landing files.

:func:`discover` is the brain of the market-data sensor, kept free of Dagster so it can be tested
directly. It returns the partitions to request and the next cursor; the cursor remembers what
was already requested (per symbol, a watermark session; per landing file, its mtime and size)
so that nothing is requested twice. Partitions of runs still in flight (``in_flight``) are never
requested again, whatever the cursor says; a file with a changed session that is in flight is
not marked seen, so the next tick compares it with the store again once that run has ended (the
run may have read the file before the latest change, which is then requested, not lost).

A new or changed landing file is compared session by session with the store: a session is
requested when the store lacks it or holds a different data version (a corrected price), and
the request's run key carries the file's signature, so a second correction of the same session
is a new run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

from research_lab.core.marketdata.symbols import symbol_problem
from research_lab.core.marketdata.planning import (
    RangeRequest,
    group_requests,
    last_weekday_on_or_before,
    missing_ranges,
    weekdays,
)


@dataclass
class DiscoveryCursor:
    through: dict[str, str] = field(default_factory=dict)  # symbol -> last requested session
    files: dict[str, str] = field(default_factory=dict)  # path -> "mtime:size"

    @classmethod
    def from_json(cls, text: str | None) -> "DiscoveryCursor":
        if not text:
            return cls()
        data = json.loads(text)
        return cls(through=dict(data.get("through", {})), files=dict(data.get("files", {})))

    def to_json(self) -> str:
        return json.dumps({"through": self.through, "files": self.files}, sort_keys=True)


@dataclass(frozen=True)
class Discovery:
    new_symbols: tuple[str, ...]
    requests: tuple[RangeRequest, ...]
    cursor: DiscoveryCursor
    invalid_symbols: tuple[str, ...] = ()  # names the source offers that cannot be registered

    @property
    def partitions(self) -> int:
        return sum(len(r.symbols) * len(weekdays(r.start, r.end)) for r in self.requests)


def discover(
    source,
    store,
    calendar,
    known_symbols: Sequence[str],
    cursor: DiscoveryCursor,
    now: pd.Timestamp,
    *,
    history_years: int,
    earliest: date,
    in_flight: Sequence[tuple[frozenset, date, date]] = (),
) -> Discovery:
    """Partitions to request now.

    - a source with landing files (csv): every new or changed file's sessions that the store
      lacks or holds with another data version;
    - other sources: for each symbol, the sessions after its watermark (last stored or last
      requested session) up to the last completed exchange session; a new symbol starts
      ``history_years`` back.
    ``earliest`` is the first ``session`` partition; nothing before it is requested.
    ``in_flight`` lists the rectangles (symbols, first, last session) of runs not finished yet.
    """
    def busy(symbol: str, day: date) -> bool:
        return any(symbol in syms and a <= day <= b for syms, a, b in in_flight)

    cursor = DiscoveryCursor(dict(cursor.through), dict(cursor.files))
    last = calendar.last_completed_session(now)
    offered = list(dict.fromkeys(source.symbols()))
    invalid = tuple(f"{s!r} {symbol_problem(s)}" for s in offered if symbol_problem(s))
    universe = [s for s in offered if not symbol_problem(s)]
    new_symbols = tuple(s for s in universe if s not in set(known_symbols))
    all_symbols = list(known_symbols) + list(new_symbols)
    gaps: dict[str, list[tuple[date, date]]] = {}
    if last is None:
        return Discovery(new_symbols, (), cursor, invalid)

    if hasattr(source, "list_files"):
        signatures = []
        for symbol, path, mtime, size in source.list_files():
            signature = f"{mtime}:{size}"
            if cursor.files.get(str(path)) == signature or symbol_problem(symbol):
                continue
            changed = _changed_sessions(source, store, symbol, earliest, last)
            waiting = [d for d in changed if busy(symbol, d)]
            changed = [d for d in changed if not busy(symbol, d)]
            if not waiting:  # else look again once those runs end: they may have read it early
                cursor.files[str(path)] = signature
            signatures.append(f"{path}={signature}")
            if changed:
                gaps[symbol] = _runs(changed)
        tag = hashlib.blake2b("|".join(signatures).encode(), digest_size=4).hexdigest()
        requests = [RangeRequest(r.symbols, r.start, r.end, version=tag)
                    for r in group_requests(gaps, all_symbols)]
        return Discovery(new_symbols, tuple(requests), cursor, invalid)
    else:
        default_start = max(earliest, last - timedelta(days=365 * history_years))
        for symbol in universe:
            marks = [store.last_session(symbol)]
            if symbol in cursor.through:
                marks.append(date.fromisoformat(cursor.through[symbol]))
            marks = [m for m in marks if m is not None]
            start = max(marks) + timedelta(days=1) if marks else default_start
            wanted = [d for d in weekdays(start, last) if not busy(symbol, d)]
            if wanted:
                gaps[symbol] = _runs(wanted)
            cursor.through[symbol] = max([last, *marks]).isoformat()

    requests = group_requests(gaps, all_symbols)
    return Discovery(new_symbols, tuple(requests), cursor, invalid)


def _changed_sessions(source, store, symbol: str, earliest: date, last: date) -> list[date]:
    """Weekdays of the file's span whose store partition is missing or holds another version
    (valid rows only: a quarantined row changes nothing until it is fixed)."""
    from research_lab.core.marketdata.store._bars import session_versions

    bars = source.fetch_checked(symbol, earliest, last).bars
    if bars.empty:
        return []
    first = max(bars["session"].iloc[0].date(), earliest)
    versions = session_versions(bars)
    ledger = store.partitions(symbol)
    stored = dict(zip(pd.to_datetime(ledger["session"]).dt.date, ledger["data_version"]))
    return [d for d in weekdays(first, bars["session"].iloc[-1].date())
            if d not in stored or stored[d] != versions.get(d, "empty")]


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Sorted weekdays grouped into (first, last) ranges of consecutive weekdays."""
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and weekdays(runs[-1][1], d)[1:] == [d]:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


__all__ = ["Discovery", "DiscoveryCursor", "discover", "last_weekday_on_or_before"]
