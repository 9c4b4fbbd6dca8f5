"""Quarantined source rows, and the critical anomaly each one raises for its session.

``quarantined_rows`` keeps every row a source delivered that failed validation
(:mod:`research_lab.core.marketdata.quarantine`): symbol, session (NULL when the date itself was
unreadable), the line in the file, the field, the reason, the file, when. It is written in the
same transaction as the bars of those sessions (``BarStore.write_partitions(..., rejects=...)``):
a rewrite of a session replaces its quarantined rows, so a row fixed at the source leaves the
quarantine when the session is re-ingested.

Each session with quarantined rows also gets a ``critical`` row in ``anomaly_scores`` (rule
``quarantine``), so the quality gate (``core.quality.gate``) blocks studies of the symbol until
the data is fixed and re-ingested, or an analyst acknowledges it. When a session is rewritten
clean, its quarantine anomaly is removed (the sentinel rescores it as usual).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..quarantine import QUARANTINE_RULE
from ._partitions import delete_sessions, replace_partitions
from ._scores import SCORE_FLOAT_COLUMNS, anomaly_scores, score_versions
from ._tables import market_partitions, metadata

QUARANTINE_COLUMNS = ("symbol", "session", "row", "field", "reason", "source", "quarantined_at")

quarantined_rows = sa.Table(
    "quarantined_rows",
    metadata,
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("session", sa.Date, nullable=True),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("field", sa.String, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_quarantined_rows_symbol_session", "symbol", "session"),
)


def replace_quarantine(
    conn: Connection,
    symbol: str,
    sessions: Sequence[date],
    rejects: Sequence,
    versions: dict[date, str],
    written_at: datetime,
) -> None:
    """Make ``rejects`` the quarantine of (symbol, s) for s in ``sessions`` (and of the symbol's
    undated rows), and keep the sessions' quarantine anomalies in step. Inside a transaction."""
    t = quarantined_rows
    days = list(sessions)
    delete_sessions(conn, t, [(symbol, days)])
    conn.execute(sa.delete(t).where(t.c.symbol == symbol, t.c.session.is_(None)))
    if rejects:
        conn.execute(sa.insert(t), [
            {"symbol": symbol, "session": r.session, "row": r.row, "field": r.field,
             "reason": r.reason, "source": r.source, "quarantined_at": written_at}
            for r in rejects
        ])
    by_session: dict[date, list[str]] = {}
    for r in rejects:
        if r.session is not None:
            by_session.setdefault(r.session, []).append(
                f"quarantined row: line {r.row} field {r.field!r}: {r.reason}")
    _clear_quarantine_scores(conn, symbol, [d for d in days if d not in by_session])
    if by_session:
        flagged = sorted(by_session)
        scores = pd.DataFrame({
            "symbol": symbol,
            "session": pd.to_datetime(flagged),
            "bars_version": [versions.get(d, "empty") for d in flagged],
            "severity": "critical",
            "reasons": [json.dumps(by_session[d]) for d in flagged],
            "rules": QUARANTINE_RULE,
            **{c: float("nan") for c in SCORE_FLOAT_COLUMNS},
            "thresholds": QUARANTINE_RULE,
            "scored_at": pd.Timestamp(written_at),
        })[[c.name for c in anomaly_scores.columns]]
        replace_partitions(conn, anomaly_scores, scores, symbol=symbol, sessions=tuple(flagged),
                           versions=score_versions(scores), source=QUARANTINE_RULE,
                           written_at=written_at)


def _clear_quarantine_scores(conn: Connection, symbol: str, sessions: Sequence[date]) -> None:
    """Remove the quarantine anomalies of sessions that are now clean (score rows whose rules
    include the quarantine rule, and their ledger rows)."""
    a, lp = anomaly_scores, market_partitions
    if not len(sessions):
        return
    wanted = set(sessions)
    flagged = [s for s in conn.execute(sa.select(a.c.session).where(
        a.c.symbol == symbol, a.c.session.between(min(sessions), max(sessions)),
        a.c.rules.like(f"%{QUARANTINE_RULE}%"))).scalars() if s in wanted]
    for i in range(0, len(flagged), 1000):
        hit = flagged[i:i + 1000]
        if hit:
            conn.execute(sa.delete(a).where(a.c.symbol == symbol, a.c.session.in_(hit)))
            conn.execute(sa.delete(lp).where(lp.c.dataset == a.name, lp.c.symbol == symbol,
                                             lp.c.session.in_(hit)))


def read_quarantine(store, symbol: str | None = None, start: date | None = None,
                    end: date | None = None) -> pd.DataFrame:
    """Quarantined rows (optionally of one symbol and a session range), by symbol, session and
    line; columns :data:`QUARANTINE_COLUMNS`, ``session`` as ``datetime64[ns]`` (NaT: undated)."""
    t = quarantined_rows
    query = sa.select(*(t.c[c] for c in QUARANTINE_COLUMNS))
    if symbol is not None:
        query = query.where(t.c.symbol == symbol.strip().upper())
    if start is not None:
        query = query.where(t.c.session >= start)
    if end is not None:
        query = query.where(t.c.session <= end)
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(t.c.symbol, t.c.session, t.c.row)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(QUARANTINE_COLUMNS))
    frame["session"] = pd.to_datetime(frame["session"]).astype("datetime64[ns]")
    return frame


def delete_quarantine(conn: Connection, symbol: str) -> int:
    """Delete every quarantined row of ``symbol``."""
    t = quarantined_rows
    return conn.execute(sa.delete(t).where(t.c.symbol == symbol)).rowcount
