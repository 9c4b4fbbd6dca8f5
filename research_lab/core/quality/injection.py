"""Inject labeled anomalies into real bars, reproducibly from a seed (for the evaluation).

Each kind changes the bars the way the error happens in practice, and labels the sessions a
sentinel should flag:

===================== ====================================================== ===============
kind                  what is done at a random session t                     labeled
===================== ====================================================== ===============
spike                 close (and high/low if needed) x (1 +- 15..50%)        t
stale_run             bars t..t+k-1 repeat bar t-1 exactly (k = 2..6)         t..t+k-1
missing_session       bars t..t+k-1 removed (k = 1..3)                        t..t+k-1
unadjusted_split      every bar from t on: prices x r, volume / r, r in       t
                      {1/2, 1/3, 1/4, 2, 3} (2:1, 3:1, 4:1 splits, 1:2, 1:3)
unit_error            bar t's prices x 100 or x 1/100                          t
ohlc_break            high below max(open, close), low above min(open,        t
                      close) (0.2..3%), or high and low swapped
volume_burst          volume x 8..30                                          t
non_positive_price    close or low set to 0, or every price negated           t
===================== ====================================================== ===============

Sessions are drawn at least ``spacing`` sessions apart (and from the others' effects), so
labels never overlap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

KINDS = (
    "spike", "stale_run", "missing_session", "unadjusted_split", "unit_error", "ohlc_break",
    "volume_burst", "non_positive_price",
)
GROSS_KINDS = ("unit_error", "unadjusted_split", "ohlc_break", "non_positive_price")
SPLIT_PRICE_RATIOS = (1 / 2, 1 / 3, 1 / 4, 2.0, 3.0)
PRICES = ["open", "high", "low", "close", "adj_close"]


def pick_positions(
    eligible: np.ndarray, count: int, rng: np.random.Generator, spacing: int
) -> list[int]:
    """``count`` row positions from ``eligible`` (sorted ints), at least ``spacing`` apart."""
    chosen: list[int] = []
    pool = list(eligible)
    rng.shuffle(pool)
    for pos in pool:
        if all(abs(pos - c) >= spacing for c in chosen):
            chosen.append(int(pos))
            if len(chosen) == count:
                break
    if len(chosen) < count:
        raise ValueError(
            f"cannot place {count} anomalies {spacing} sessions apart in {len(eligible)} sessions"
        )
    return sorted(chosen)


def _apply(frame: pd.DataFrame, kind: str, i: int, rng: np.random.Generator,
           drop: list[int]) -> list[int]:
    """Apply one anomaly of ``kind`` at row ``i`` of ``frame`` (in place); returns labeled rows."""
    col = {c: frame.columns.get_loc(c) for c in frame.columns}
    v = frame.iloc
    if kind == "spike":
        f = 1 + rng.choice([-1, 1]) * rng.uniform(0.15, 0.5)
        close = v[i, col["close"]] * f
        frame.iloc[i, col["close"]] = close
        frame.iloc[i, col["adj_close"]] *= f
        frame.iloc[i, col["high"]] = max(v[i, col["high"]], close)
        frame.iloc[i, col["low"]] = min(v[i, col["low"]], close)
        return [i]
    if kind == "stale_run":
        k = int(rng.integers(2, 7))
        rows = list(range(i, min(i + k, len(frame))))
        for c in PRICES + ["volume"]:
            frame.iloc[rows, col[c]] = v[i - 1, col[c]]
        return rows
    if kind == "missing_session":
        rows = list(range(i, min(i + int(rng.integers(1, 4)), len(frame))))
        drop.extend(rows)
        return rows
    if kind == "unadjusted_split":
        r = float(rng.choice(SPLIT_PRICE_RATIOS))
        for c in PRICES:
            frame.iloc[i:, col[c]] *= r
        frame.iloc[i:, col["volume"]] /= r
        return [i]
    if kind == "unit_error":
        f = 100.0 if rng.random() < 0.5 else 0.01
        for c in PRICES:
            frame.iloc[i, col[c]] *= f
        return [i]
    if kind == "ohlc_break":
        o, h, lo, c = (v[i, col[k]] for k in ("open", "high", "low", "close"))
        how, u = rng.integers(0, 3), rng.uniform(0.002, 0.03)
        if how == 0:
            frame.iloc[i, col["high"]] = max(o, c) * (1 - u)
        elif how == 1:
            frame.iloc[i, col["low"]] = min(o, c) * (1 + u)
        else:
            frame.iloc[i, col["high"]], frame.iloc[i, col["low"]] = lo, h
        return [i]
    if kind == "volume_burst":
        frame.iloc[i, col["volume"]] *= rng.uniform(8, 30)
        return [i]
    if kind == "non_positive_price":
        how = rng.integers(0, 3)
        if how == 0:
            frame.iloc[i, col["close"]] = 0.0
        elif how == 1:
            frame.iloc[i, col["low"]] = 0.0
        else:
            for c in PRICES:
                frame.iloc[i, col[c]] *= -1
        return [i]
    raise ValueError(f"unknown anomaly kind {kind!r}; valid: {', '.join(KINDS)}")


def inject(
    bars: pd.DataFrame,
    kinds: Sequence[str],
    per_kind: int,
    *,
    seed: int,
    first_row: int = 0,
    spacing: int = 30,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``per_kind`` anomalies of each of ``kinds`` at random rows >= ``first_row`` of one
    symbol's daily ``bars`` (sorted). Returns (corrupted bars, labels: session, kind)."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown anomaly kind(s) {', '.join(unknown)}; valid: {', '.join(KINDS)}")
    rng = np.random.default_rng(seed)
    frame = bars.sort_values("session", kind="stable").reset_index(drop=True).copy()
    eligible = np.arange(max(first_row, 1), len(frame) - 10)
    plan = [k for k in kinds for _ in range(per_kind)]
    positions = pick_positions(eligible, len(plan), rng, spacing)
    order = rng.permutation(len(plan))
    drop: list[int] = []
    labels = []
    for pos, j in zip(positions, order):
        kind = plan[j]
        for row in _apply(frame, kind, pos, rng, drop):
            labels.append((frame["session"].iloc[row], kind))
    out = frame.drop(index=drop).reset_index(drop=True)
    label_frame = pd.DataFrame(labels, columns=["session", "kind"])
    label_frame["session"] = pd.to_datetime(label_frame["session"]).astype("datetime64[ns]")
    return out, label_frame
