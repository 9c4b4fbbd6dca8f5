"""The one bar schema every source, the store and every consumer share.

A bar frame is a ``pandas.DataFrame`` with exactly :data:`BAR_COLUMNS`, in that order:

========== =============================== ===================================================
column     dtype                           meaning
========== =============================== ===================================================
symbol     object (str)                    ticker, upper case
session    datetime64[ns] (midnight, naive) the exchange trading day the bar belongs to
timestamp  datetime64[ns, UTC]             the instant the bar closed (session close)
open       float64                         > 0 and <= MAX_PRICE (every price column)
high       float64                         >= max(open, close, low)
low        float64                         <= min(open, close, high), > 0
close      float64                         > 0
adj_close  float64                         > 0 (split- and dividend-adjusted close)
volume     float64                         >= 0 (float so that fractional units fit)
========== =============================== ===================================================

Rows are sorted by (symbol, timestamp) with no duplicate (symbol, timestamp).

:func:`validate_bars` is the gate at every boundary: it returns a normalized copy or raises
:class:`BarValidationError` naming the source (file), the row and the field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd


BAR_COLUMNS: tuple[str, ...] = (
    "symbol",
    "session",
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "adj_close",
    "volume",
)
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "adj_close")
# no traded instrument is quoted near this; above it a row is a unit or parsing error (and
# products of such prices overflow float64 in the metrics)
MAX_PRICE = 1e9
NUMERIC_COLUMNS: tuple[str, ...] = PRICE_COLUMNS + ("volume",)


class BarValidationError(ValueError):
    """Bad bars: says where (source, row, field) and what is wrong.

    ``row`` is the 1-based line number in the source file when the frame came from a file with
    a header line (so it is the line a person sees in an editor), otherwise the 0-based
    position in the frame; ``row_label`` says which.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str = "<frame>",
        row: int | None = None,
        field: str | None = None,
        row_label: str = "row",
    ) -> None:
        self.source = source
        self.row = row
        self.field = field
        self.reason = message
        self.row_label = row_label
        where = [source]
        if row is not None:
            where.append(f"{row_label} {row}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass(frozen=True)
class RowNumbering:
    """How to turn a frame position into the row number reported in errors."""

    offset: int = 0  # added to the 0-based position
    label: str = "row"

    @classmethod
    def csv_lines(cls) -> "RowNumbering":
        # data row 0 is line 2 of a file with one header line
        return cls(offset=2, label="line")


def empty_bars() -> pd.DataFrame:
    """A bar frame with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "symbol": pd.Series([], dtype=object),
            "session": pd.Series([], dtype="datetime64[ns]"),
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            **{c: pd.Series([], dtype="float64") for c in NUMERIC_COLUMNS},
        }
    )[list(BAR_COLUMNS)]


def validate_bars(
    frame: pd.DataFrame,
    *,
    source: str = "<frame>",
    numbering: RowNumbering | None = None,
    row_positions: np.ndarray | None = None,
) -> pd.DataFrame:
    """Check ``frame`` against the bar schema and return a normalized copy.

    Raises :class:`BarValidationError` on the first problem found, checked in this order:
    missing columns, unparsable session/timestamp, unparsable or NaN numbers, non-positive
    prices, negative volume, high < low, open/close outside [low, high], duplicate timestamps,
    unsorted rows. ``row_positions`` maps frame rows to positions in the original file when the
    caller has dropped or reordered rows.
    """
    numbering = numbering or RowNumbering()

    def where(pos: int) -> int:
        p = int(row_positions[pos]) if row_positions is not None else pos
        return p + numbering.offset

    def fail(msg: str, pos: int | None = None, field: str | None = None) -> BarValidationError:
        return BarValidationError(
            msg,
            source=source,
            row=None if pos is None else where(pos),
            field=field,
            row_label=numbering.label,
        )

    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing:
        raise fail(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(BAR_COLUMNS)}",
            field=missing[0],
        )
    out = frame.loc[:, list(BAR_COLUMNS)].reset_index(drop=True).copy()
    if out.empty:
        return empty_bars()
    if _already_valid(out):
        return out

    sym = out["symbol"]
    # normalize each distinct name once (a frame usually holds one symbol)
    names = {v: ("" if v is None or v != v else str(v).strip().upper()) for v in pd.unique(sym)}
    if "" in names.values():
        bad = sym.map(names).to_numpy() == ""
        raise fail("symbol is empty", int(np.argmax(bad)), "symbol")
    out["symbol"] = sym.map(names).astype(object)

    if pd.api.types.is_datetime64_dtype(out["session"]):
        session = out["session"]  # already dates: parsing would iterate every value
    else:
        session = pd.to_datetime(out["session"], errors="coerce", format="mixed")
    if session.isna().any():
        pos = int(np.argmax(session.isna().to_numpy()))
        raise fail(f"unparsable date {frame['session'].iloc[pos]!r}", pos, "session")
    if getattr(session.dt, "tz", None) is not None:
        session = session.dt.tz_localize(None)
    out["session"] = session.dt.normalize().astype("datetime64[ns]")

    if isinstance(out["timestamp"].dtype, pd.DatetimeTZDtype):
        ts = out["timestamp"].dt.tz_convert("UTC")
    else:
        ts = pd.to_datetime(out["timestamp"], errors="coerce", utc=True, format="mixed")
    if ts.isna().any():
        pos = int(np.argmax(ts.isna().to_numpy()))
        raise fail(f"unparsable timestamp {frame['timestamp'].iloc[pos]!r}", pos, "timestamp")
    out["timestamp"] = ts.astype("datetime64[ns, UTC]")

    for col in NUMERIC_COLUMNS:
        raw = out[col]
        if pd.api.types.is_float_dtype(raw) or pd.api.types.is_integer_dtype(raw):
            # already numbers: only missing and non-finite values to find (no text to parse)
            values = raw.astype("float64")
            if values.isna().any():
                raise fail("missing value (empty or NaN)", int(np.argmax(values.isna().to_numpy())), col)
            if not np.isfinite(values.to_numpy()).all():
                pos = int(np.argmax(~np.isfinite(values.to_numpy())))
                raise fail(f"not finite: {float(values.iloc[pos])!r}", pos, col)
            out[col] = values
            continue
        num = pd.to_numeric(raw, errors="coerce")
        blank = raw.isna() | raw.astype(str).str.strip().str.lower().isin(("nan", ""))
        unparsable = num.isna() & ~blank
        if unparsable.any():
            pos = int(np.argmax(unparsable.to_numpy()))
            raise fail(f"not a number: {raw.iloc[pos]!r}", pos, col)
        if num.isna().any():
            pos = int(np.argmax(num.isna().to_numpy()))
            raise fail("missing value (empty or NaN)", pos, col)
        values = num.astype("float64")
        if not np.isfinite(values.to_numpy()).all():
            pos = int(np.argmax(~np.isfinite(values.to_numpy())))
            raise fail(f"not finite: {float(values.iloc[pos])!r}", pos, col)
        out[col] = values

    for col in PRICE_COLUMNS:
        v = out[col].to_numpy()
        if (v <= 0).any():
            pos = int(np.argmax(v <= 0))
            raise fail(f"price must be positive, got {float(v[pos])!r}", pos, col)
        if (v > MAX_PRICE).any():
            pos = int(np.argmax(v > MAX_PRICE))
            raise fail(f"price {float(v[pos])!r} is above {MAX_PRICE:g}, not a plausible price",
                       pos, col)
    vol = out["volume"].to_numpy()
    if (vol < 0).any():
        pos = int(np.argmax(vol < 0))
        raise fail(f"volume must not be negative, got {float(vol[pos])!r}", pos, "volume")

    o, h, lo, c = (out[k].to_numpy() for k in ("open", "high", "low", "close"))
    if (h < lo).any():
        pos = int(np.argmax(h < lo))
        raise fail(f"high {float(h[pos])!r} is below low {float(lo[pos])!r}", pos, "high")
    for name, v in (("open", o), ("close", c)):
        outside = (v > h) | (v < lo)
        if outside.any():
            pos = int(np.argmax(outside))
            raise fail(
                f"{name} {float(v[pos])!r} is outside [low {float(lo[pos])!r}, high {float(h[pos])!r}]", pos, name
            )

    ts_ns = pd.DatetimeIndex(out["timestamp"]).asi8  # tz-aware .to_numpy() gives objects
    if len(names) == 1 and (len(ts_ns) < 2 or (np.diff(ts_ns) > 0).all()):
        return out  # one symbol, strictly increasing: no duplicate, sorted (the common case)
    key = out[["symbol", "timestamp"]]
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        pos = int(np.argmax(dup))
        raise fail(
            f"duplicate timestamp {out['timestamp'].iloc[pos]} for {out['symbol'].iloc[pos]}",
            pos,
            "timestamp",
        )
    for _, idx in out.groupby("symbol", sort=False).indices.items():
        t = ts_ns[idx]
        if len(t) > 1 and (np.diff(t) < 0).any():
            k = int(np.argmax(np.diff(t) < 0)) + 1
            raise fail(
                f"rows are not sorted by timestamp ({out['timestamp'].iloc[idx[k]]} comes after "
                f"{out['timestamp'].iloc[idx[k - 1]]})",
                int(idx[k]),
                "timestamp",
            )
    return out.sort_values(["symbol", "timestamp"], kind="stable").reset_index(drop=True)


_DAY_NS = 86_400 * 10**9


def _already_valid(out: pd.DataFrame) -> bool:
    """True when ``out`` (the bar columns, a fresh copy) already is a normalized, valid,
    sorted one-symbol bar frame: typed columns checked with numpy only (a source's or the
    store's own frame), so :func:`validate_bars` returns it as it is. Anything else (text to
    parse, a problem to name, several symbols) answers False and takes the full path."""
    if not (out["symbol"].dtype == object
            and out["session"].dtype == "datetime64[ns]"
            and out["timestamp"].dtype == "datetime64[ns, UTC]"
            and all(out[c].dtype == "float64" for c in NUMERIC_COLUMNS)):
        return False
    names = pd.unique(out["symbol"])
    if len(names) != 1 or not isinstance(names[0], str) or names[0] != names[0].strip().upper() \
            or not names[0]:
        return False
    session = out["session"].to_numpy().view("int64")
    stamps = pd.DatetimeIndex(out["timestamp"]).asi8
    nat = np.iinfo(np.int64).min
    if (session == nat).any() or (session % _DAY_NS != 0).any() or (stamps == nat).any():
        return False
    if len(stamps) > 1 and not (np.diff(stamps) > 0).all():
        return False
    v = {c: out[c].to_numpy() for c in NUMERIC_COLUMNS}
    if not all(np.isfinite(x).all() for x in v.values()):
        return False
    prices = np.stack([v[c] for c in PRICE_COLUMNS])
    o, h, lo, c = v["open"], v["high"], v["low"], v["close"]
    return bool((prices > 0).all() and (prices <= MAX_PRICE).all() and (v["volume"] >= 0).all()
                and (h >= lo).all() and (o <= h).all() and (o >= lo).all()
                and (c <= h).all() and (c >= lo).all())


def data_version(frame: pd.DataFrame) -> str:
    """A short, stable hash of the bars' content (order-independent of the index)."""
    if frame.empty:
        return "empty"
    canon = frame
    symbols = canon["symbol"].to_numpy()
    stamps = canon["timestamp"].astype("int64").to_numpy()
    in_order = (symbols == symbols[0]).all() and (len(stamps) < 2 or (np.diff(stamps) >= 0).all())
    if not in_order:  # the canonical order: by symbol, then timestamp (stable)
        canon = frame.loc[:, list(BAR_COLUMNS)].sort_values(["symbol", "timestamp"],
                                                            kind="stable")
        stamps = canon["timestamp"].astype("int64").to_numpy()
    h = hashlib.sha256()
    h.update(canon["symbol"].astype(str).str.cat(sep=",").encode())
    h.update(canon["session"].astype("int64").to_numpy().tobytes())
    h.update(stamps.tobytes())
    for col in NUMERIC_COLUMNS:
        h.update(np.round(canon[col].to_numpy(dtype="float64"), 10).tobytes())
    return h.hexdigest()[:16]
