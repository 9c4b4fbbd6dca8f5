"""What is new at the source: new symbols, new sessions, new or changed landing files.

:func:`discover` is the brain of the market-data sensor, kept free of Dagster so it can be tested
directly. It returns the partitions to request and the next cursor; the cursor remembers what
was already requested (per symbol, a watermark session; per landing file, its mtime and size)
so that nothing is requested twice, even while a requested run has not finished yet.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd

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
) -> Discovery:
    """Partitions to request now.

    - a source with landing files (csv): every new or changed file's sessions that the store
      lacks;
    - other sources: for each symbol, the sessions after its watermark (last stored or last
      requested session) up to the last completed exchange session; a new symbol starts
      ``history_years`` back.
    ``earliest`` is the first ``session`` partition; nothing before it is requested.
    """
    cursor = DiscoveryCursor(dict(cursor.through), dict(cursor.files))
    last = calendar.last_completed_session(now)
    universe = list(dict.fromkeys(source.symbols()))
    new_symbols = tuple(s for s in universe if s not in set(known_symbols))
    all_symbols = list(known_symbols) + list(new_symbols)
    gaps: dict[str, list[tuple[date, date]]] = {}
    if last is None:
        return Discovery(new_symbols, (), cursor)

    if hasattr(source, "list_files"):
        for symbol, path, mtime, size in source.list_files():
            signature = f"{mtime}:{size}"
            if cursor.files.get(str(path)) == signature:
                continue
            bars = source.fetch(symbol, earliest, last)
            cursor.files[str(path)] = signature
            if bars.empty:
                continue
            first = max(bars["session"].iloc[0].date(), earliest)
            wanted = weekdays(first, bars["session"].iloc[-1].date())
            gaps.setdefault(symbol, []).extend(missing_ranges(wanted, store.sessions(symbol)))
    else:
        default_start = max(earliest, last - timedelta(days=365 * history_years))
        for symbol in universe:
            marks = [store.last_session(symbol)]
            if symbol in cursor.through:
                marks.append(date.fromisoformat(cursor.through[symbol]))
            marks = [m for m in marks if m is not None]
            start = max(marks) + timedelta(days=1) if marks else default_start
            wanted = weekdays(start, last)
            if wanted:
                gaps[symbol] = [(wanted[0], wanted[-1])]
            cursor.through[symbol] = max([last, *marks]).isoformat()

    requests = group_requests(gaps, all_symbols)
    return Discovery(new_symbols, tuple(requests), cursor)


__all__ = ["Discovery", "DiscoveryCursor", "discover", "last_weekday_on_or_before"]
