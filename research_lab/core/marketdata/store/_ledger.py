"""Ledger reads over many symbols and a date range, in one query each.

The store's ledger (table ``market_partitions``) holds one row per (dataset, symbol, session):
rows, data_version, source, written_at. Partitioned callers that work on a symbol's whole year
at once (the ``market_data`` and ``anomaly_scores`` assets, partitioned by symbol × year) read
it here:

- :func:`ledger_range`: the bars' ledger rows of many symbols within [start, end];
- :func:`sessions_to_score`: of the requested sessions, those whose stored bars changed since
  they were scored (the bars' ledger ``data_version`` differs from the score's
  ``bars_version``) or that were never scored; sessions without stored bars are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import pandas as pd
import sqlalchemy as sa

from ._bars import normalize_symbol
from ._queries import ledger_frame
from ._scores import anomaly_scores
from ._tables import market_bars, market_partitions

SYMBOLS_PER_QUERY = 500  # symbols per IN (...): well under SQLite's variable limit


def _chunks(symbols: Sequence[str]):
    for i in range(0, len(symbols), SYMBOLS_PER_QUERY):
        yield list(symbols[i:i + SYMBOLS_PER_QUERY])


def ledger_range(store, symbols: Sequence[str], start: date | None = None,
                 end: date | None = None) -> pd.DataFrame:
    """The bars' ledger rows (symbol, session, rows, data_version, source, written_at) of
    ``symbols`` with start <= session <= end, sorted by symbol and session."""
    lp = market_partitions
    wanted = [normalize_symbol(s) for s in symbols]
    rows = []
    with store.engine.connect() as conn:
        for chunk in _chunks(wanted):
            query = sa.select(lp.c.symbol, lp.c.session, lp.c.rows, lp.c.data_version,
                              lp.c.source, lp.c.written_at).where(
                lp.c.dataset == market_bars.name, lp.c.symbol.in_(chunk))
            if start is not None:
                query = query.where(lp.c.session >= start)
            if end is not None:
                query = query.where(lp.c.session <= end)
            rows += conn.execute(query.order_by(lp.c.symbol, lp.c.session)).all()
    return ledger_frame(rows)


def sessions_to_score(store, requests: Mapping[str, Sequence[date]]) -> dict[str, list[date]]:
    """``{symbol: [sessions]}`` of ``requests`` whose stored bars are not scored at their
    current data version (never scored, or the bars changed since); symbols with none are
    left out. One query per :data:`SYMBOLS_PER_QUERY` symbols."""
    wanted = {normalize_symbol(s): set(days) for s, days in requests.items() if days}
    if not wanted:
        return {}
    lo = min(min(d) for d in wanted.values())
    hi = max(max(d) for d in wanted.values())
    lp, sc = market_partitions, anomaly_scores
    out: dict[str, list[date]] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(sorted(wanted)):
            query = (
                sa.select(lp.c.symbol, lp.c.session)
                .select_from(lp.outerjoin(sc, sa.and_(sc.c.symbol == lp.c.symbol,
                                                      sc.c.session == lp.c.session)))
                .where(lp.c.dataset == market_bars.name, lp.c.symbol.in_(chunk),
                       lp.c.session >= lo, lp.c.session <= hi,
                       sa.or_(sc.c.symbol.is_(None), sc.c.bars_version != lp.c.data_version))
                .order_by(lp.c.symbol, lp.c.session)
            )
            for symbol, session in conn.execute(query):
                if session in wanted[symbol]:
                    out.setdefault(symbol, []).append(session)
    return out
