"""The quality gate: open critical anomalies block studies of a symbol until acknowledged.

An anomaly is *open* when its partition's stored score is ``critical`` and no override in
force (the latest per partition) was made for the bars now stored (same ``bars_version``).
Either verdict closes it: ``false_positive`` (the data is right; the sentinel was wrong) or
``confirmed`` (the data is wrong and the analyst accepts studying it anyway, e.g. until the
vendor fixes it). Re-ingested, different bars for that session reopen it.

Downstream code calls::

    from research_lab.core.quality.gate import require_no_open_criticals

    require_no_open_criticals(store, "ACME")     # raises QualityGateError listing them

and an analyst acknowledges with :func:`acknowledge` (``research-lab quality ack``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .severity import CRITICAL


class QualityGateError(ValueError):
    """A symbol has open critical anomalies; the message lists them and how to acknowledge."""

    def __init__(self, symbol: str, anomalies: list[OpenAnomaly]) -> None:
        self.symbol = symbol
        self.anomalies = anomalies
        shown = "; ".join(
            f"{a.session}: {a.reasons[0] if a.reasons else 'critical'}" for a in anomalies[:5]
        )
        more = f" (and {len(anomalies) - 5} more)" if len(anomalies) > 5 else ""
        super().__init__(
            f"{symbol} has {len(anomalies)} open critical data anomal"
            f"{'y' if len(anomalies) == 1 else 'ies'}: {shown}{more}; fix the data and rescore, "
            f"or acknowledge with `research-lab quality ack {symbol} SESSION --verdict "
            f"false_positive|confirmed --reason ... --author ...`"
        )


@dataclass(frozen=True)
class OpenAnomaly:
    """A critical, unacknowledged partition."""

    symbol: str
    session: date
    bars_version: str
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    scores: dict[str, float | None]

    def as_dict(self) -> dict:
        return {
            "symbol": self.symbol, "session": self.session.isoformat(), "severity": CRITICAL,
            "reasons": list(self.reasons), "rules": list(self.rules), "scores": self.scores,
            "bars_version": self.bars_version,
        }


def _score_dict(row) -> dict[str, float | None]:
    from research_lab.core.marketdata.store import SCORE_FLOAT_COLUMNS

    return {c: (None if getattr(row, c) != getattr(row, c) else round(float(getattr(row, c)), 6))
            for c in SCORE_FLOAT_COLUMNS}


def acknowledged_mask(scores, overrides):
    """Boolean Series: which score rows have an override in force for their bars."""
    import pandas as pd

    if scores.empty or overrides.empty:
        return pd.Series(False, index=scores.index)
    key = overrides.set_index(["symbol", "session"])["bars_version"]
    pairs = pd.MultiIndex.from_frame(scores[["symbol", "session"]])
    found = key.reindex(pairs).to_numpy()
    return pd.Series(found == scores["bars_version"].to_numpy(), index=scores.index)


def open_criticals(store, symbol: str | Sequence[str] | None = None) -> list[OpenAnomaly]:
    """Open critical anomalies of ``symbol`` (several symbols: one query for all; all symbols
    when None), by symbol and session."""
    from research_lab.core.marketdata.store import read_overrides, read_scores

    scores = read_scores(store, symbol, severities=[CRITICAL])
    if scores.empty:
        return []
    if symbol is None or isinstance(symbol, str):
        overrides = read_overrides(store, symbol)
    else:  # analysts' verdicts: a small table, read whole and filtered
        overrides = read_overrides(store)
        overrides = overrides[overrides["symbol"].isin(set(scores["symbol"]))]
    open_rows = scores[~acknowledged_mask(scores, overrides).to_numpy()]
    return [
        OpenAnomaly(
            symbol=row.symbol, session=row.session.date(), bars_version=row.bars_version,
            reasons=tuple(json.loads(row.reasons)), rules=tuple(r for r in row.rules.split(",") if r),
            scores=_score_dict(row),
        )
        for row in open_rows.itertuples(index=False)
    ]


def require_no_open_criticals(store, symbol: str) -> None:
    """Raise :class:`QualityGateError` when ``symbol`` has open critical anomalies."""
    found = open_criticals(store, symbol)
    if found:
        raise QualityGateError(symbol.strip().upper(), found)


def acknowledge(store, symbol: str, session: date | str, *, verdict: str, reason: str,
                author: str) -> dict:
    """Record an analyst's verdict on a scored partition (any severity); returns the override.

    ``ValueError`` when the partition has no stored score (nothing to acknowledge) or the
    verdict/reason/author is invalid; nothing is written then.
    """
    from research_lab.core.marketdata.store import add_override, read_scores

    day = date.fromisoformat(session) if isinstance(session, str) else session
    scores = read_scores(store, symbol, day, day)
    if scores.empty:
        raise ValueError(
            f"no anomaly score stored for {symbol.strip().upper()} {day}: materialize "
            f"anomaly_scores for that partition first"
        )
    return add_override(store, symbol, day, bars_version=scores["bars_version"].iloc[0],
                        verdict=verdict, reason=reason, author=author)
