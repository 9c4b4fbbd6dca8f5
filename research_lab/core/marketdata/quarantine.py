"""One bad row never blocks the rest: split a source's rows into valid bars and rejects.

:func:`split_rows` checks every row of a raw bar frame at once (vectorized) and returns the
valid rows, normalized exactly as :func:`..schema.validate_bars` would, and one
:class:`RejectedRow` per invalid row naming its line, field and reason (every bad row, not only
the first). Checks per row, first failing one reported: unparsable date, a date duplicated in the
file (every copy is rejected: which one is right is unknown), unparsable / missing / non-finite
number, non-positive price, negative volume, ``high < low``, open or close outside
[low, high].

Rejected rows are stored in the store's ``quarantined_rows`` table by
``BarStore.write_partitions(..., rejects=...)`` and scored as critical anomalies of their
session, so the quality gate blocks studies of that symbol until the row is fixed at the source
and re-ingested, or acknowledged (``research-lab quality ack``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from .schema import MAX_PRICE, NUMERIC_COLUMNS, PRICE_COLUMNS, empty_bars, validate_bars

QUARANTINE_RULE = "quarantine"  # the anomaly rule name of a session with quarantined rows


@dataclass(frozen=True)
class RejectedRow:
    """One invalid source row: where it is and why it was not stored."""

    symbol: str
    session: date | None  # None when the date itself is unreadable
    row: int  # the line in the file (1-based, header = 1) or the frame position
    field: str
    reason: str
    source: str  # the file (or source label) the row came from

    def describe(self) -> str:
        day = self.session.isoformat() if self.session else "no date"
        return f"{self.source} line {self.row} ({day}) field {self.field!r}: {self.reason}"


def split_rows(
    frame: pd.DataFrame,
    *,
    source: str,
    positions: np.ndarray | None = None,
    offset: int = 0,
    field_names: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[RejectedRow]]:
    """(valid bars, rejects) of a raw frame with the bar columns (values may still be text).

    ``positions`` maps frame rows to file rows; ``offset`` turns them into reported line
    numbers; ``field_names`` maps bar columns to the names the file uses (reported fields).
    """
    names = field_names or {}
    n = len(frame)
    if n == 0:
        return empty_bars(), []
    pos = np.asarray(positions if positions is not None else np.arange(n)) + offset
    reason = np.full(n, None, dtype=object)
    field = np.full(n, None, dtype=object)

    def flag(mask, col: str, texts) -> None:
        mask = np.asarray(mask, dtype=bool) & (reason == None)  # noqa: E711 (numpy elementwise)
        if mask.any():
            idx = mask.nonzero()[0]
            field[idx] = names.get(col, col)
            reason[idx] = [texts(i) if callable(texts) else texts for i in idx]

    session = pd.to_datetime(frame["session"], errors="coerce", format="mixed")
    if getattr(session.dt, "tz", None) is not None:
        session = session.dt.tz_localize(None)
    session = session.dt.normalize()
    flag(session.isna(), "session", lambda i: f"unparsable date {frame['session'].iloc[i]!r}")
    stamps = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True, format="mixed")
    flag(stamps.isna(), "timestamp", lambda i: f"unparsable timestamp {frame['timestamp'].iloc[i]!r}")
    dup = session.duplicated(keep=False).to_numpy() & session.notna().to_numpy()
    flag(dup, "session", lambda i: f"date {session.iloc[i].date()} appears more than once")

    values = {}
    for col in NUMERIC_COLUMNS:
        raw = frame[col]
        text = raw.astype(str).str.strip()
        num = pd.to_numeric(raw, errors="coerce").astype("float64")
        blank = raw.isna() | text.str.lower().isin(("nan", ""))
        flag(text.str.lower() == "null", col, "null value (the source has no price that day)")
        flag(num.isna() & ~blank, col, lambda i, r=raw: f"not a number: {r.iloc[i]!r}")
        flag(num.isna(), col, "missing value (empty or NaN)")
        flag(~np.isfinite(num.fillna(0).to_numpy()), col, lambda i, v=num: f"not finite: {v.iloc[i]}")
        values[col] = num.to_numpy()
    for col in PRICE_COLUMNS:
        v = values[col]
        flag(v <= 0, col, lambda i, v=v: f"price must be positive, got {float(v[i])!r}")
        flag(v > MAX_PRICE, col, lambda i, v=v: f"price {float(v[i])!r} is above {MAX_PRICE:g}, "
             "not a plausible price")
    vol = values["volume"]
    flag(vol < 0, "volume", lambda i: f"volume must not be negative, got {float(vol[i])!r}")
    o, h, lo, c = (values[k] for k in ("open", "high", "low", "close"))
    flag(h < lo, "high", lambda i: f"high {float(h[i])!r} is below low {float(lo[i])!r}")
    for name, v in (("open", o), ("close", c)):
        flag((v > h) | (v < lo), name,
             lambda i, v=v, name=name: f"{name} {float(v[i])!r} is outside [low {float(lo[i])!r}, high {float(h[i])!r}]")

    bad = reason != None  # noqa: E711
    symbol = str(frame["symbol"].iloc[0]).strip().upper()
    rejects = [
        RejectedRow(
            symbol=symbol,
            session=None if pd.isna(session.iloc[i]) else session.iloc[i].date(),
            row=int(pos[i]),
            field=str(field[i]),
            reason=str(reason[i]),
            source=source,
        )
        for i in bad.nonzero()[0]
    ]
    good = frame.loc[~bad].copy()
    good["session"] = session[~bad]
    good = good.iloc[np.argsort(pd.DatetimeIndex(good["session"]).asi8, kind="stable")]
    return validate_bars(good, source=source), rejects


def rejects_frame(rejects: list[RejectedRow]) -> pd.DataFrame:
    """Rejects as a frame (symbol, session, row, field, reason, source)."""
    columns = ["symbol", "session", "row", "field", "reason", "source"]
    return pd.DataFrame([[getattr(r, c) for c in columns] for r in rejects], columns=columns)


__all__ = ["QUARANTINE_RULE", "RejectedRow", "rejects_frame", "split_rows"]
