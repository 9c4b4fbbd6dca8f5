"""Which partitions to ingest: pure date arithmetic shared by the sensor, the schedule and the CLI.

Requests are in weekdays (Monday to Friday in New York; the store's ledger records every one,
an exchange holiday with no bars). A *range request* asks for some symbols × a contiguous run
of weekdays, which Dagster runs as one run over those symbols' year partitions (the range goes
in the run's config).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class RangeRequest:
    """Ingest ``symbols`` × every weekday in [start, end]."""

    symbols: tuple[str, ...]
    start: date
    end: date
    version: str = ""  # what the source held when requested (a changed file gets a new key)

    @property
    def run_key(self) -> str:
        who = ",".join(self.symbols) if len(self.symbols) <= 3 else f"{len(self.symbols)}symbols"
        key = f"{who}:{self.start.isoformat()}:{self.end.isoformat()}"
        return f"{key}:{self.version}" if self.version else key


def weekdays(start: date, end: date) -> list[date]:
    """Every Monday-Friday in [start, end] (the sessions a request asks for)."""
    if end < start:
        return []
    days = []
    d = start
    while d <= end:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def last_weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def missing_ranges(wanted: Sequence[date], have: Iterable[date]) -> list[tuple[date, date]]:
    """Runs of consecutive ``wanted`` days that are not in ``have``, as (first, last) pairs."""
    have_set = set(have)
    ranges: list[tuple[date, date]] = []
    start = prev = None
    for day in wanted:
        if day in have_set:
            if start is not None:
                ranges.append((start, prev))
                start = None
            continue
        if start is None:
            start = day
        prev = day
    if start is not None:
        ranges.append((start, prev))
    return ranges


def group_requests(
    gaps: Mapping[str, Sequence[tuple[date, date]]], all_symbols: Sequence[str]
) -> list[RangeRequest]:
    """Turn per-symbol gaps into as few range requests as possible.

    Gaps that several symbols share exactly are merged into one request when those symbols are
    all of ``all_symbols`` (a rectangle Dagster can run as one run); otherwise each symbol gets
    its own request per gap.
    """
    by_range: dict[tuple[date, date], list[str]] = {}
    for symbol, ranges in gaps.items():
        for rng in ranges:
            by_range.setdefault(rng, []).append(symbol)
    requests: list[RangeRequest] = []
    everyone = set(all_symbols)
    for (start, end), symbols in sorted(by_range.items()):
        if len(symbols) > 1 and set(symbols) == everyone:
            ordered = tuple(s for s in all_symbols if s in everyone)
            requests.append(RangeRequest(ordered, start, end))
        else:
            requests.extend(RangeRequest((s,), start, end) for s in sorted(symbols))
    return requests


def plan_nightly(
    day: date,
    symbols: Sequence[str],
    sessions_by_symbol: Mapping[str, Iterable[date]],
    lookback: int,
) -> list[RangeRequest]:
    """The nightly ingest: ``day`` for every symbol (one request), plus each symbol's gaps.

    Gaps are the weekdays among the ``lookback`` before ``day`` that the store does not
    hold (a new symbol's gap is the whole look-back window).
    """
    day = last_weekday_on_or_before(day)
    if not symbols:
        return []
    requests = [RangeRequest(tuple(symbols), day, day)]
    window = weekdays(day - timedelta(days=lookback * 7 // 5 + 7), day - timedelta(days=1))
    window = window[-lookback:] if lookback else []
    gaps = {s: missing_ranges(window, sessions_by_symbol.get(s, ())) for s in symbols}
    return requests + group_requests({s: g for s, g in gaps.items() if g}, symbols)
