"""Anomaly scores: one row per (symbol, session) partition, stored beside the bars.

The data quality sentinel (``research_lab.core.quality``) writes one row per scored partition,
with the same keys as the bars, through the store's generic :func:`._partitions.replace_partitions`:
a rewrite replaces exactly those partitions in one transaction (idempotent), the ledger records
them under the dataset ``anomaly_scores``, and ``BarStore.delete_symbol`` clears them too.

``anomaly_scores`` columns:

=================== ============ ==============================================================
column              type         meaning
=================== ============ ==============================================================
symbol, session     text, date   the partition (primary key)
bars_version        text         ``data_version`` of the session's bars when scored ("empty")
severity            text         ``info`` | ``warning`` | ``critical``
reasons             text         JSON list of human-readable reasons for the severity
rules               text         comma-separated names of the rules that fired
jump_z              double       robust z of the close-to-close move (NULL: not computable)
price_ratio         double       close / reference close (NULL: no reference)
if_score            double       Isolation Forest anomaly score in (0, 1) (NULL: no model)
prophet_close_z     double       Prophet standardized one-step residual of log close
prophet_volume_z    double       same for log volume
thresholds          text         which thresholds were applied (label)
scored_at           timestamptz  when the row was written
=================== ============ ==============================================================

NULLs: SQLite stores a float NaN as NULL; reads turn NULL back into NaN on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import sqlalchemy as sa

from ._backend import write_transaction
from ._bars import normalize_sessions, normalize_symbol
from ._partitions import ledger_query, replace_partitions
from ._queries import ledger_frame
from ._tables import PARTITIONED_TABLES, metadata, utc_now

SCORE_TEXT_COLUMNS = ("bars_version", "severity", "reasons", "rules", "thresholds")
SCORE_FLOAT_COLUMNS = ("jump_z", "price_ratio", "if_score", "prophet_close_z", "prophet_volume_z")
SCORE_COLUMNS = (
    "symbol", "session", "bars_version", "severity", "reasons", "rules",
    *SCORE_FLOAT_COLUMNS, "thresholds", "scored_at",
)
SEVERITIES = ("info", "warning", "critical")

anomaly_scores = sa.Table(
    "anomaly_scores",
    metadata,
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("session", sa.Date, nullable=False),
    sa.Column("bars_version", sa.String, nullable=False),
    sa.Column("severity", sa.String, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Column("rules", sa.String, nullable=False),
    *(sa.Column(name, sa.Double, nullable=True) for name in SCORE_FLOAT_COLUMNS),
    sa.Column("thresholds", sa.String, nullable=False),
    sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("symbol", "session", name="pk_anomaly_scores"),
    sa.Index("ix_anomaly_scores_severity", "severity", "symbol"),
)
PARTITIONED_TABLES.append(anomaly_scores)


def _check_frame(frame: pd.DataFrame, symbol: str, sessions: Sequence[date]) -> pd.DataFrame:
    missing = [c for c in SCORE_COLUMNS if c not in frame.columns and c != "scored_at"]
    if missing:
        raise ValueError(f"anomaly scores: missing column(s) {', '.join(missing)}")
    out = frame.copy()
    out["session"] = pd.to_datetime(out["session"]).astype("datetime64[ns]")
    if len(out) and (out["symbol"].astype(str).str.upper() != symbol).any():
        bad = out.loc[out["symbol"].astype(str).str.upper() != symbol, "symbol"].iloc[0]
        raise ValueError(f"anomaly scores: row for symbol {bad!r} in a write for {symbol!r}")
    allowed = pd.DatetimeIndex(pd.to_datetime(list(sessions)))
    outside = ~pd.DatetimeIndex(out["session"]).isin(allowed)
    if outside.any():
        day = out["session"][outside].iloc[0].date()
        raise ValueError(f"anomaly scores: session {day} is not one of the sessions written")
    if out["session"].duplicated().any():
        day = out["session"][out["session"].duplicated()].iloc[0].date()
        raise ValueError(f"anomaly scores: two rows for {symbol} {day}")
    bad_sev = ~out["severity"].isin(SEVERITIES)
    if bad_sev.any():
        raise ValueError(
            f"anomaly scores: severity {out['severity'][bad_sev].iloc[0]!r} is not one of "
            f"{', '.join(SEVERITIES)}"
        )
    out["symbol"] = symbol
    for name in SCORE_FLOAT_COLUMNS:
        out[name] = pd.to_numeric(out[name], errors="raise").astype("float64")
    return out


def score_versions(frame: pd.DataFrame) -> dict[date, str]:
    """A short content hash per session (the ledger's data_version of a scores partition)."""
    import hashlib

    out = {}
    for row in frame.itertuples(index=False):
        text = "|".join(
            [row.bars_version, row.severity, row.reasons, row.rules, row.thresholds]
            + [f"{float(getattr(row, c)):.6g}" for c in SCORE_FLOAT_COLUMNS]
        )
        out[pd.Timestamp(row.session).date()] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def write_scores(store, symbol: str, sessions: Sequence[date], frame: pd.DataFrame,
                 *, source: str = "sentinel") -> int:
    """Make ``frame`` the whole content of the anomaly-score partitions (symbol, s), s in
    ``sessions``, in one transaction; returns the rows written. Bad input writes nothing."""
    sym = normalize_symbol(symbol)
    days = normalize_sessions(sessions)
    rows = _check_frame(frame, sym, days)
    now = utc_now()
    rows["scored_at"] = pd.Timestamp(now)
    rows = rows[[c.name for c in anomaly_scores.columns]]
    with write_transaction(store.engine, lock_name=f"{anomaly_scores.name}:{sym}") as conn:
        replace_partitions(
            conn, anomaly_scores, rows, symbol=sym, sessions=days,
            versions=score_versions(rows), source=source, written_at=now,
        )
    return len(rows)


def read_scores(
    store,
    symbol: str | Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    *,
    severities: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Stored scores (optionally of some symbols, a session range, some severities), one query,
    sorted by symbol and session; ``session`` is ``datetime64[ns]``, ``scored_at`` UTC."""
    t = anomaly_scores
    query = sa.select(*(t.c[c] for c in SCORE_COLUMNS))
    if symbol is not None:
        wanted = [symbol] if isinstance(symbol, str) else list(symbol)
        query = query.where(t.c.symbol.in_([normalize_symbol(s) for s in wanted]))
    if start is not None:
        query = query.where(t.c.session >= start)
    if end is not None:
        query = query.where(t.c.session <= end)
    if severities is not None:
        query = query.where(t.c.severity.in_(list(severities)))
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(t.c.symbol, t.c.session)).all()
    return scores_frame(rows)


def scores_frame(rows: Sequence[Sequence]) -> pd.DataFrame:
    """Rows in :data:`SCORE_COLUMNS` order as a typed frame."""
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(SCORE_COLUMNS))
    frame["session"] = pd.to_datetime(frame["session"]).astype("datetime64[ns]")
    for name in SCORE_FLOAT_COLUMNS:
        frame[name] = pd.to_numeric(frame[name]).astype("float64")
    frame["scored_at"] = pd.to_datetime(frame["scored_at"], utc=True).astype("datetime64[ns, UTC]")
    return frame


def score_partitions(store, symbol: str | None = None) -> pd.DataFrame:
    """The ledger of written anomaly-score partitions (like ``BarStore.partitions``)."""
    sym = None if symbol is None else normalize_symbol(symbol)
    with store.engine.connect() as conn:
        return ledger_frame(conn.execute(ledger_query(anomaly_scores, sym)).all())
