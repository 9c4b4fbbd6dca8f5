"""Bar-specific pieces of the store: checking a write, versioning sessions, building frames.

Pure functions over pandas, no database: the store calls them before it opens a transaction
(so bad input never touches the database) and after a read.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

from .. import schema
from ..schema import BAR_COLUMNS, NUMERIC_COLUMNS, BarValidationError


def normalize_symbol(symbol: str) -> str:
    """Symbols are stored as the schema normalizes them: stripped, upper case."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise ValueError(f"symbol must be a non-empty string, got {symbol!r}")
    return symbol.strip().upper()


def normalize_sessions(sessions: Iterable[date | datetime | str]) -> tuple[date, ...]:
    """Sorted, de-duplicated ``date`` objects; a value with a time of day is refused."""
    if isinstance(sessions, (str, date)):
        raise TypeError(f"sessions must be a sequence of dates, got a single value {sessions!r}")
    sessions = list(sessions)
    if all(type(v) is date for v in sessions):  # plain dates (the usual call): nothing to parse
        return tuple(sorted(set(sessions)))
    out = set()
    for value in sessions:
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        if ts != ts.normalize():
            raise ValueError(f"session {value!r} has a time of day; sessions are dates")
        out.add(ts.date())
    return tuple(sorted(out))


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def as_days(sessions: Sequence[date]) -> np.ndarray:
    """Dates (``date`` objects, or a datetime64 array) as a ``datetime64[D]`` array; ~10x faster
    than ``np.array(sessions, dtype="datetime64[D]")`` on a list of ``date`` objects."""
    if isinstance(sessions, np.ndarray) and sessions.dtype.kind == "M":
        return sessions.astype("datetime64[D]")
    ordinals = np.fromiter(map(date.toordinal, sessions), dtype=np.int64, count=len(sessions))
    return (ordinals - _EPOCH_ORDINAL).astype("datetime64[D]")


def describe_sessions(sessions: Sequence[date]) -> str:
    """``2024-01-02``, ``2024-01-02..2024-03-28 (60 sessions)`` or ``no sessions``."""
    if not sessions:
        return "no sessions"
    if len(sessions) == 1:
        return str(sessions[0])
    return f"{sessions[0]}..{sessions[-1]} ({len(sessions)} sessions)"


def check_partition_rows(
    raw: pd.DataFrame,
    bars: pd.DataFrame,
    symbol: str,
    sessions: Sequence[date],
    *,
    source: str,
) -> None:
    """Every bar must belong to ``symbol`` and to one of ``sessions``.

    ``raw`` is the caller's frame, ``bars`` its validated copy. Rows are reported by their
    0-based position in ``raw`` (as :func:`schema.validate_bars` does): once all symbols match,
    validation has proven the rows sorted, so positions in both frames agree.
    """
    if bars.empty:
        return
    names = {v: str(v).strip().upper() for v in pd.unique(raw["symbol"])}  # each name once
    if any(n != symbol for n in names.values()):
        given = raw["symbol"].map(names).to_numpy()
        wrong = given != symbol
        pos = int(np.argmax(wrong))
        raise BarValidationError(
            f"bar has symbol {given[pos]!r} but this write is for {symbol!r} "
            f"(timestamp {raw['timestamp'].iloc[pos]})",
            source=source,
            row=pos,
            field="symbol",
        )
    allowed = as_days(sessions)
    days = pd.DatetimeIndex(bars["session"])
    outside = ~np.isin(days.to_numpy().astype("datetime64[D]"), allowed)
    if outside.any():
        pos = int(np.argmax(outside))
        raise BarValidationError(
            f"session {days[pos].date()} (timestamp {bars['timestamp'].iloc[pos]}) is not one "
            f"of the sessions being written for {symbol}: {describe_sessions(sessions)}",
            source=source,
            row=pos,
            field="session",
        )


def session_versions(bars: pd.DataFrame) -> dict[date, str]:
    """``schema.data_version`` of each session's bars, for a validated one-symbol frame."""
    days, versions = session_version_arrays(bars)
    return dict(zip(days.astype(object), versions))


_FAST_PATHS_CHECKED: set[str] = set()  # fast paths seen to agree with schema.data_version


def session_version_arrays(bars: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """(sessions as ``datetime64[D]``, ascending; their ``schema.data_version``), for a
    validated one-symbol frame (sorted by timestamp).

    Calling ``data_version`` per session costs ~1 ms each (5 s for a 5,000-session backfill), so
    this hashes the same bytes in the same order straight from numpy: a session of one bar (daily
    data) is one contiguous 64-byte record (session ns, timestamp ns, six rounded floats) after
    the symbol, hashed from one buffer (~1 us each); a session of several bars takes the
    general path (~10 us). The first use of each path in a process checks one session against
    ``data_version`` itself (the bytes hashed do not depend on the data, so once is enough); if
    they ever disagree (the schema's hash changed), it warns and falls back to the slow,
    certainly-right path.
    """
    if bars.empty:
        return np.array([], dtype="datetime64[D]"), []
    session_ns = bars["session"].to_numpy().astype("datetime64[ns]").view("int64")
    stamp_ns = pd.DatetimeIndex(bars["timestamp"]).asi8
    numbers = [np.round(bars[c].to_numpy(dtype="float64"), 10) for c in NUMERIC_COLUMNS]
    symbols = bars["symbol"].astype(str).to_numpy()
    order = np.argsort(session_ns, kind="stable")  # sessions ascending, rows in frame order
    sorted_ns = session_ns[order]
    starts = np.flatnonzero(np.r_[True, sorted_ns[1:] != sorted_ns[:-1]])
    counts = np.diff(np.r_[starts, len(sorted_ns)])
    days = sorted_ns[starts].astype("datetime64[ns]").astype("datetime64[D]")
    versions: list[str] = [""] * len(starts)
    single = counts == 1
    if single.any():
        rows = order[starts[single]]
        record = np.empty((len(rows), 8), dtype="<i8")
        record[:, 0] = session_ns[rows]
        record[:, 1] = stamp_ns[rows]
        for k, values in enumerate(numbers):
            record[:, 2 + k] = values[rows].view("<i8")
        blob = record.tobytes()
        sha = hashlib.sha256
        for j, (i, r) in enumerate(zip(np.flatnonzero(single).tolist(), rows.tolist())):
            versions[i] = sha(symbols[r].encode() + blob[64 * j: 64 * j + 64]).hexdigest()[:16]
    for i in np.flatnonzero(~single).tolist():
        idx = order[starts[i]: starts[i] + counts[i]]
        h = hashlib.sha256()
        h.update(",".join(symbols[idx]).encode())
        h.update(session_ns[idx].tobytes())
        h.update(stamp_ns[idx].tobytes())
        for values in numbers:
            h.update(values[idx].tobytes())
        versions[i] = h.hexdigest()[:16]
    first = order[: counts[0]]
    kind = "one bar" if counts[0] == 1 else "several bars"
    if kind in _FAST_PATHS_CHECKED:
        return days, versions
    if versions[0] == schema.data_version(bars.iloc[first]):
        _FAST_PATHS_CHECKED.add(kind)  # the bytes hashed do not depend on the data: once is enough
    else:
        warnings.warn(
            "store: fast per-session data_version disagrees with schema.data_version; "
            "using the slow path (update store._bars.session_version_arrays)",
            RuntimeWarning,
            stacklevel=2,
        )
        versions = [
            schema.data_version(bars.iloc[order[a: a + n]]) for a, n in zip(starts, counts)
        ]
    return days, versions


def bars_from_columns(columns: Sequence[Sequence]) -> pd.DataFrame:
    """A schema-exact bar frame from column sequences as read from the database.

    ``columns`` is (symbol, session days since epoch, timestamp ns since epoch, open, high, low,
    close, adj_close, volume).
    """
    if not columns or not len(columns[0]):
        return schema.empty_bars()
    symbol, days, stamps, *numbers = columns
    data = {
        "symbol": pd.Series(symbol, dtype=object),
        "session": pd.Series(
            np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[ns]")
        ),
        "timestamp": pd.Series(
            pd.to_datetime(np.asarray(stamps, dtype="int64"), unit="ns", utc=True)
        ),
    }
    for name, values in zip(NUMERIC_COLUMNS, numbers):
        data[name] = pd.Series(np.asarray(values, dtype="float64"))
    return pd.DataFrame(data, columns=list(BAR_COLUMNS))
