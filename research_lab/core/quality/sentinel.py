"""The sentinel: score partitions of bars, in memory (:func:`score_bars`) or in the store
(:func:`score_partitions`).

::

    from research_lab.core.quality.sentinel import score_bars, score_partitions

    scores = score_bars(bars, sessions, exchange_sessions=cal_days)   # a frame, one row a session
    run = score_partitions(store, "ACME", sessions, calendar=cal)      # reads, scores, writes

``score_partitions`` reads the bars of the sessions to score plus their trailing context in
**one query** that ends at the last session to score (never later ones), scores every
requested partition (a partition without a bar is a missing session or a holiday) and
replaces exactly those partitions of ``anomaly_scores`` in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from .config import SentinelConfig
from .decision import decide, missing_row
from .features import compute_evidence, to_daily
from .severity import SEVERITIES
from .thresholds import ThresholdBook, Thresholds

SCORE_ROW_COLUMNS = (
    "symbol", "session", "bars_version", "severity", "reasons", "rules", "jump_z",
    "price_ratio", "if_score", "prophet_close_z", "prophet_volume_z", "thresholds",
)


def _versions(bars: pd.DataFrame, wanted: Sequence[date]) -> dict[date, str]:
    """The store's data version of the bars of each ``wanted`` session (what overrides are tied
    to); only those sessions are hashed, not the context read before them."""
    from research_lab.core.marketdata.schema import BAR_COLUMNS
    from research_lab.core.marketdata.store._bars import session_versions

    if not len(bars) or any(c not in bars.columns for c in BAR_COLUMNS):
        return {}

    days = pd.to_datetime(bars["session"]).dt.normalize().astype("datetime64[ns]")
    keep = days.isin(pd.DatetimeIndex(pd.to_datetime(list(wanted)))).to_numpy()
    frame = bars[keep].copy()
    frame["session"] = days[keep]
    return session_versions(frame)


def score_bars(
    bars: pd.DataFrame,
    sessions: Iterable[date] | None = None,
    *,
    exchange_sessions: Iterable[date] | None = None,
    thresholds: Thresholds | None = None,
    config: SentinelConfig | None = None,
    symbol: str | None = None,
    label: str = "built-in:defaults",
) -> pd.DataFrame:
    """Score ``sessions`` of one symbol's ``bars`` (bars earlier than them are context).

    ``bars`` need not pass the bar schema (the sentinel exists to find what breaks it).
    ``sessions`` defaults to every session with a bar plus every ``exchange_sessions`` day in
    their span. Returns one row per session in :data:`SCORE_ROW_COLUMNS` (``reasons`` is JSON).
    """
    th, cfg = thresholds or Thresholds(), config or SentinelConfig()
    daily = to_daily(bars)
    exchange = set(exchange_sessions or ())
    have = set(daily["session"].dt.date)
    if sessions is None:
        span = (min(have), max(have)) if have else (date.min, date.min)
        wanted = sorted(have | {d for d in exchange if span[0] <= d <= span[1]})
    else:
        wanted = sorted(set(sessions))
    if symbol is None:
        symbol = str(bars["symbol"].iloc[0]).upper() if len(bars) and "symbol" in bars else "?"
    ev = compute_evidence(daily, th, cfg)
    score_mask = ev["session"].dt.date.isin(set(wanted)).to_numpy()
    n = len(ev)
    ev["if_score"] = np.full(n, np.nan)
    ev["prophet_close_z"] = np.full(n, np.nan)
    ev["prophet_volume_z"] = np.full(n, np.nan)
    if cfg.use_iforest and n:
        from .iforest import iforest_scores

        ev["if_score"] = iforest_scores(ev, score_mask, cfg)
    if cfg.use_prophet and n:
        from .prophet_scores import prophet_scores

        ev["prophet_close_z"], ev["prophet_volume_z"] = prophet_scores(ev, score_mask, th, cfg)

    versions = _versions(bars, wanted)
    first_bar = min(have) if have else None
    rows = []
    scored = ev[score_mask]  # decide() only the rows asked for, not the context
    by_day = dict(zip(scored["session"].dt.date, scored.itertuples(index=False)))
    for day in wanted:
        row = by_day.get(day)
        if row is None:
            after_first = first_bar is not None and day > first_bar
            severity, reasons, fired = missing_row(day in exchange, after_first)
            values = (np.nan,) * 5
        else:
            severity, reasons, fired = decide(row, th)
            values = (row.jump_z, row.ratio, row.if_score, row.prophet_close_z, row.prophet_volume_z)
        rows.append((symbol, pd.Timestamp(day), versions.get(day, "empty"), severity,
                     json.dumps(reasons), ",".join(fired), *map(float, values), label))
    return pd.DataFrame(rows, columns=list(SCORE_ROW_COLUMNS)).astype(
        {"session": "datetime64[ns]"}
    )


@dataclass(frozen=True)
class ScoreRun:
    """What :func:`score_partitions` scored and wrote for one symbol."""

    symbol: str
    sessions: tuple[date, ...]
    counts: dict[str, int]  # severity -> partitions
    criticals: tuple[tuple[date, str], ...] = field(default=())  # (session, first reason)
    warnings: tuple[tuple[date, str], ...] = field(default=())
    context_start: date | None = None
    bars_read: int = 0
    thresholds: str = ""


def with_quarantine(store, symbol: str, days: Sequence[date], scores: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with every session that has quarantined source rows made critical (rule
    ``quarantine``, one reason per row), so the gate blocks it until fixed or acknowledged."""
    from research_lab.core.marketdata.quarantine import QUARANTINE_RULE
    from research_lab.core.marketdata.store import read_quarantine

    found = read_quarantine(store, symbol, days[0], days[-1])
    if found.empty or scores.empty:
        return scores
    out = scores.copy()
    for day, rows in found.groupby("session"):
        hit = pd.to_datetime(out["session"]) == day
        extra = [f"quarantined row: line {r.row} field {r.field!r}: {r.reason}"
                 for r in rows.itertuples(index=False)]
        for i in out.index[hit]:
            rules = [r for r in str(out.at[i, "rules"]).split(",") if r]
            out.at[i, "severity"] = "critical"
            out.at[i, "reasons"] = json.dumps(extra + json.loads(out.at[i, "reasons"] or "[]"))
            out.at[i, "rules"] = ",".join(dict.fromkeys([QUARANTINE_RULE, *rules]))
    return out


def score_partitions(
    store,
    symbol: str,
    sessions: Sequence[date],
    *,
    calendar,
    book: ThresholdBook | None = None,
    config: SentinelConfig | None = None,
) -> ScoreRun:
    """Score the partitions (symbol, s) for s in ``sessions`` from the store and write them."""
    from research_lab.core.marketdata.store import write_scores

    if not sessions:
        raise ValueError("score_partitions: no sessions to score")
    book, cfg = book or ThresholdBook(), config or SentinelConfig()
    days = sorted(set(sessions))
    sym = symbol.strip().upper()
    start = cfg.context_start(days[0])
    bars = store.read_bars(sym, start, days[-1])  # one query; nothing after the last partition
    exchange = calendar.sessions(days[0], days[-1])
    scores = score_bars(
        bars, days, exchange_sessions=exchange, thresholds=book.for_symbol(sym), config=cfg,
        symbol=sym, label=book.label(sym),
    )
    scores = with_quarantine(store, sym, days, scores)
    write_scores(store, sym, days, scores)
    counts = {s: int((scores["severity"] == s).sum()) for s in SEVERITIES}

    def first_reasons(severity: str) -> tuple[tuple[date, str], ...]:
        rows = scores[scores["severity"] == severity]
        pairs = zip(rows["session"], rows["reasons"])
        return tuple((d.date(), (json.loads(r) or [""])[0]) for d, r in pairs)

    return ScoreRun(sym, tuple(days), counts, first_reasons("critical"), first_reasons("warning"),
                    start, len(bars), book.label(sym))
