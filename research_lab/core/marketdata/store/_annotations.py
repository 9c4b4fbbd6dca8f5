"""What people and alerts add to anomaly scores: analyst overrides and the alert delivery log.

``anomaly_overrides`` is append-only: every acknowledgement is kept (an audit trail); the latest
one per (symbol, session) is the one in force. An override names the ``bars_version`` it was
made for, so that re-ingested, different bars for that session are judged afresh.

=============== =========== =================================================================
column          type        meaning
=============== =========== =================================================================
symbol, session text, date  the anomaly's partition
bars_version    text        data version of the bars the analyst looked at
verdict         text        ``false_positive`` (the data is right) | ``confirmed`` (it is wrong)
reason, author  text        why, and who (both required)
created_at      timestamptz when (part of the primary key with symbol and session)
=============== =========== =================================================================

``anomaly_alerts`` is the webhook delivery log: one row per alerted anomaly (symbol, session,
bars_version) with its final status (``sent`` | ``failed``), attempts and a detail; it makes
alerts exactly-once even when a partition is rescored.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import sqlalchemy as sa

from ._backend import write_transaction
from ._bars import normalize_sessions, normalize_symbol
from ._tables import metadata, utc_now

VERDICTS = ("false_positive", "confirmed")
ALERT_STATUSES = ("sent", "failed")
OVERRIDE_COLUMNS = ("symbol", "session", "bars_version", "verdict", "reason", "author",
                    "created_at")
ALERT_COLUMNS = ("symbol", "session", "bars_version", "status", "attempts", "detail",
                 "updated_at")

anomaly_overrides = sa.Table(
    "anomaly_overrides",
    metadata,
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("session", sa.Date, nullable=False),
    sa.Column("bars_version", sa.String, nullable=False),
    sa.Column("verdict", sa.String, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("author", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("symbol", "session", "created_at", name="pk_anomaly_overrides"),
)

anomaly_alerts = sa.Table(
    "anomaly_alerts",
    metadata,
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("session", sa.Date, nullable=False),
    sa.Column("bars_version", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("symbol", "session", "bars_version", name="pk_anomaly_alerts"),
)


def _one_session(session: date | str) -> date:
    return normalize_sessions([session])[0]


def add_override(
    store,
    symbol: str,
    session: date | str,
    *,
    bars_version: str,
    verdict: str,
    reason: str,
    author: str,
    created_at: datetime | None = None,
) -> dict:
    """Append one acknowledgement; returns it as a dict. Bad input raises ``ValueError``."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    for name, value in (("reason", reason), ("author", author), ("bars_version", bars_version)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"override: {name} must be a non-empty text")
    row = {
        "symbol": normalize_symbol(symbol),
        "session": _one_session(session),
        "bars_version": bars_version,
        "verdict": verdict,
        "reason": reason.strip(),
        "author": author.strip(),
        "created_at": created_at or utc_now(),
    }
    with write_transaction(store.engine, lock_name=f"{anomaly_overrides.name}:{row['symbol']}") as conn:
        conn.execute(sa.insert(anomaly_overrides).values(**row))
    return row


def read_overrides(store, symbol: str | None = None, *, latest: bool = True) -> pd.DataFrame:
    """Overrides sorted by (symbol, session, created_at); with ``latest`` only the one in force
    per (symbol, session)."""
    t = anomaly_overrides
    query = sa.select(*(t.c[c] for c in OVERRIDE_COLUMNS))
    if symbol is not None:
        query = query.where(t.c.symbol == normalize_symbol(symbol))
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(t.c.symbol, t.c.session, t.c.created_at)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(OVERRIDE_COLUMNS))
    frame["session"] = pd.to_datetime(frame["session"]).astype("datetime64[ns]")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    if latest and len(frame):
        frame = frame.drop_duplicates(["symbol", "session"], keep="last").reset_index(drop=True)
    return frame


def record_alert(
    store, symbol: str, session: date | str, bars_version: str, *, status: str, attempts: int,
    detail: str = "",
) -> None:
    """Insert or replace the delivery record of one alert."""
    if status not in ALERT_STATUSES:
        raise ValueError(f"alert status {status!r} is not one of {', '.join(ALERT_STATUSES)}")
    t = anomaly_alerts
    key = {"symbol": normalize_symbol(symbol), "session": _one_session(session),
           "bars_version": bars_version}
    with write_transaction(store.engine, lock_name=f"{t.name}:{key['symbol']}") as conn:
        conn.execute(sa.delete(t).where(*(t.c[k] == v for k, v in key.items())))
        conn.execute(sa.insert(t).values(**key, status=status, attempts=int(attempts),
                                         detail=detail[:2000], updated_at=utc_now()))


def read_alerts(store, symbol: str | None = None) -> pd.DataFrame:
    """The delivery log, sorted by (symbol, session)."""
    t = anomaly_alerts
    query = sa.select(*(t.c[c] for c in ALERT_COLUMNS))
    if symbol is not None:
        query = query.where(t.c.symbol == normalize_symbol(symbol))
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(t.c.symbol, t.c.session)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(ALERT_COLUMNS))
    frame["session"] = pd.to_datetime(frame["session"]).astype("datetime64[ns]")
    return frame
