"""Isolation Forest scores on the return / gap / range / volume features, refit per year.

A rolling forest built from yearly pieces (see :mod:`.config`): each calendar year's clean
feature rows (no rule fired) train ``if_trees_per_year`` trees once; a session of year Y is
scored by the pieces of the ``if_years`` years before Y. The pieces are combined the way one
forest would be: the anomaly score is ``2 ** -(mean normalized path length)`` over all trees,
in (0, 1); ~0.4-0.5 is ordinary, above ~0.7 is isolated quickly (unusual).

The forest is :class:`.isolation.IsolationForest` (the same algorithm as scikit-learn's,
vectorized over trees: scikit-learn spends 1-6 ms of Python per tree fitted, which alone
exceeded the 1 s budget for a 5,000-session history).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import SentinelConfig
from .features import FEATURES


def iforest_scores(ev: pd.DataFrame, score_mask: np.ndarray, cfg: SentinelConfig) -> np.ndarray:
    """IF score of every row where ``score_mask`` (NaN where no earlier year has a forest or the
    row has no features yet)."""
    from .isolation import IsolationForest

    out = np.full(len(ev), np.nan)
    if not score_mask.any():
        return out
    x = ev[list(FEATURES)].to_numpy(dtype="float64")
    finite = np.isfinite(x).all(axis=1)
    years = pd.DatetimeIndex(ev["session"]).year.to_numpy()
    train_ok = finite & ~ev["rule_any"].to_numpy() & ev["valid"].to_numpy()
    forests: dict[int, object | None] = {}

    def forest(year: int):
        if year not in forests:
            rows = x[train_ok & (years == year)]
            if len(rows) < cfg.if_min_train:
                forests[year] = None
            else:
                forests[year] = IsolationForest(
                    n_estimators=cfg.if_trees_per_year,
                    max_samples=min(256, len(rows)),
                    seed=cfg.seed + year,
                ).fit(rows)
        return forests[year]

    for year in np.unique(years[score_mask]):
        pieces = [f for f in (forest(y) for y in range(year - cfg.if_years, year)) if f is not None]
        rows = score_mask & (years == year) & finite
        if not pieces or not rows.any():
            continue
        depth = np.mean([f.normalized_depth(x[rows]) for f in pieces], axis=0)
        out[rows] = np.power(2.0, -depth)
    return out
