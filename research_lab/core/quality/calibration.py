"""Fit a symbol's thresholds on its own history (what ``research-lab quality calibrate`` runs).

The history is scored once with the built-in thresholds; sessions where a critical rule fired
are left out (they are errors, not the symbol's normal behaviour). Then, per evidence:

- warning = the ``1 - target_rate`` quantile of the evidence on that history, never below a
  floor (so a very calm history cannot make ordinary moves warnings);
- critical = 1.5x the largest value seen on that history (robust to one extreme day: the
  second largest when there are more than 1,000 sessions), never below a floor; for the
  Isolation Forest score, which is bounded by 1, a third of the way from that value to 1.

With ``target_rate`` 0.002 and three evidences (jump, Isolation Forest, Prophet close or
volume) at most ~0.6% of ordinary sessions get a warning from the models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd

from .config import SentinelConfig
from .thresholds import Thresholds

WARN_FLOORS = {"jump_warn_z": 6.0, "if_warn": 0.66, "prophet_warn_z": 6.0}
CRIT_FLOORS = {"jump_crit_z": 15.0, "if_crit": 0.75, "prophet_crit_z": 15.0}
MIN_SESSIONS = 250


def _evidence(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    prophet = np.fmax(scores["prophet_close_z"].abs(), scores["prophet_volume_z"].abs())
    return {
        "jump": scores["jump_z"].abs().to_numpy(),
        "if": scores["if_score"].to_numpy(),
        "prophet": prophet.to_numpy(),
    }


def _warn(values: np.ndarray, target_rate: float, floor: float) -> float:
    x = values[np.isfinite(values)]
    return floor if len(x) < MIN_SESSIONS else max(floor, float(np.quantile(x, 1 - target_rate)))



def _top(values: np.ndarray) -> float | None:
    """The largest value (the second largest beyond 1,000 values: one extreme day may be an
    error in the history itself)."""
    x = np.sort(values[np.isfinite(values)])
    if len(x) < MIN_SESSIONS:
        return None
    return float(x[-2] if len(x) > 1000 else x[-1])


def _crit_z(values: np.ndarray, floor: float, warn: float) -> float:
    top = _top(values)
    return max(floor, warn) if top is None else max(floor, warn, 1.5 * top)


def _crit_if(values: np.ndarray, floor: float, warn: float) -> float:
    """The IF score is bounded by 1: a third of the way from the top seen to 1."""
    top = _top(values)
    return max(floor, warn) if top is None else min(0.95, max(floor, warn, top + (1 - top) / 3))


def thresholds_from_scores(
    scores: pd.DataFrame, *, target_rate: float = 0.002, base: Thresholds | None = None
) -> tuple[Thresholds, dict]:
    """Thresholds fitted on already computed ``scores`` of a history (see module doc)."""
    base = base or Thresholds()
    if not 0 < target_rate < 0.1:
        raise ValueError(f"target_rate must be in (0, 0.1), got {target_rate}")
    gross = scores["rules"].str.split(",").apply(
        lambda names: any(n in CRITICAL_RULES for n in names)
    )
    ev = _evidence(scores[~gross.to_numpy()])
    jump_w = _warn(ev["jump"], target_rate, WARN_FLOORS["jump_warn_z"])
    if_w = min(_warn(ev["if"], target_rate, WARN_FLOORS["if_warn"]), 0.9)
    pr_w = _warn(ev["prophet"], target_rate, WARN_FLOORS["prophet_warn_z"])
    th = replace(
        base,
        jump_warn_z=float(round(jump_w, 3)),
        jump_crit_z=float(round(_crit_z(ev["jump"], CRIT_FLOORS["jump_crit_z"], jump_w), 3)),
        if_warn=float(round(if_w, 4)),
        if_crit=float(round(_crit_if(ev["if"], CRIT_FLOORS["if_crit"], if_w), 4)),
        prophet_warn_z=float(round(pr_w, 3)),
        prophet_crit_z=float(round(_crit_z(ev["prophet"], CRIT_FLOORS["prophet_crit_z"], pr_w), 3)),
    )
    sessions = pd.DatetimeIndex(scores["session"])
    info = {
        "sessions": int(len(scores)),
        "span": f"{sessions.min().date()}..{sessions.max().date()}" if len(scores) else "-",
        "observed": {k: round(float(np.nanmax(v)), 3) if np.isfinite(v).any() else None
                     for k, v in ev.items()},
    }
    return th, info


def calibrate_bars(
    bars: pd.DataFrame,
    *,
    exchange_sessions: Iterable[date] | None = None,
    until: date | None = None,
    target_rate: float = 0.002,
    config: SentinelConfig | None = None,
    base: Thresholds | None = None,
) -> tuple[Thresholds, dict]:
    """Score one symbol's history (up to ``until``) with ``base`` and fit thresholds on it."""
    from .sentinel import score_bars

    frame = bars
    if until is not None:
        frame = bars[pd.to_datetime(bars["session"]).dt.date <= until]
    days = sorted(set(pd.to_datetime(frame["session"]).dt.date))
    if len(days) < MIN_SESSIONS:
        raise ValueError(
            f"calibration needs at least {MIN_SESSIONS} sessions of history, got {len(days)}"
        )
    scores = score_bars(frame, days, exchange_sessions=exchange_sessions,
                        thresholds=base or Thresholds(), config=config)
    return thresholds_from_scores(scores, target_rate=target_rate, base=base)


CRITICAL_RULES = frozenset(
    {"ohlc_inconsistent", "non_positive_price", "unit_error", "split_like", "stale_run"}
)
