"""From evidence to one severity per session, with the reasons that led to it.

Rules (see :data:`.severity.RULES`) are exact statements about the bars; models are scores
with thresholds (:class:`.thresholds.Thresholds`):

- ``critical``: any critical rule (OHLC inconsistent, non-positive price, unit error,
  split-like move, frozen feed of ``stale_run`` bars), or a jump beyond its *critical*
  threshold (calibrated at 1.5x the largest move of the symbol's history) that the Prophet close
  residual or the Isolation Forest confirms beyond theirs. (The Isolation Forest saturates: a
  point beyond every training point isolates no faster than the most extreme of them, so its
  score rarely passes a critical threshold on its own; it is strongest on unusual
  *combinations* of return, gap, range and volume, which it reports as warnings.)
- ``warning``: any warning rule (repeat bar, zero volume, missing session, jump beyond the
  warning threshold), or any model beyond its warning threshold.
- ``info``: nothing fired.
"""

from __future__ import annotations

import math

from .severity import CRITICAL, INFO, RULES, WARNING, worst
from .thresholds import Thresholds


def _f(x) -> float:
    return float(x) if x is not None and x == x else math.nan


def split_name(ratio: float) -> str:
    """``2:1 split`` for a price ratio of 1/2, ``1:3 reverse split`` for 3."""
    return f"{round(1 / ratio)}:1 split" if ratio < 1 else f"1:{round(ratio)} reverse split"


def decide(row, th: Thresholds) -> tuple[str, list[str], list[str]]:
    """(severity, reasons, rule names) of one evidence row (a namedtuple from
    ``features.compute_evidence`` plus ``if_score``, ``prophet_close_z``, ``prophet_volume_z``)."""
    fired: list[str] = []
    reasons: list[str] = []
    if not row.valid:
        fired.append("non_positive_price")
        reasons.append(
            "non-positive or missing price (open {:.6g}, high {:.6g}, low {:.6g}, close {:.6g})".format(
                row.open, row.high, row.low, row.close)
        )
    elif not row.ohlc_ok:
        fired.append("ohlc_inconsistent")
        reasons.append(
            f"OHLC inconsistent: high {row.high:.6g} and low {row.low:.6g} do not bracket "
            f"open {row.open:.6g} and close {row.close:.6g}"
        )
    if row.unit:
        fired.append("unit_error")
        reasons.append(f"unit error: close {row.ratio:.4g}x its reference close")
    if row.split == row.split:
        fired.append("split_like")
        reasons.append(f"split-like move: close {row.ratio:.4g}x its reference "
                       f"({split_name(row.split)} not adjusted?)")
    if row.stale_len >= th.stale_run:
        fired.append("stale_run")
        reasons.append(f"frozen feed: OHLC identical for {row.stale_len} bars")
    elif row.stale_len >= 2:
        fired.append("stale_repeat")
        reasons.append(f"OHLC identical to the previous bar ({row.stale_len} bars)")
    if row.zero_volume:
        fired.append("zero_volume")
        reasons.append("zero volume where the symbol normally trades")

    jump = abs(_f(row.jump_z))
    iso = _f(row.if_score)
    prophet_seen = not (math.isnan(_f(row.prophet_close_z)) and math.isnan(_f(row.prophet_volume_z)))
    gross = bool(fired) and any(RULES[r][0] == CRITICAL for r in fired)
    if jump >= th.jump_warn_z and not (row.unit or row.split == row.split):
        fired.append("jump")
        reasons.append(f"jump {row.jump_z:+.1f} sigma (close {row.ratio - 1:+.1%} vs its reference)")
    model_hits = []
    if iso >= th.if_warn:
        model_hits.append(f"isolation forest {iso:.3f} >= {th.if_warn:.3f}")
    for name, z in (("close", row.prophet_close_z), ("volume", row.prophet_volume_z)):
        if abs(_f(z)) >= th.prophet_warn_z:
            model_hits.append(f"prophet {name} residual {z:+.1f} sigma")
    reasons.extend(model_hits)
    close_z = abs(_f(row.prophet_close_z))
    if jump >= th.jump_crit_z and (close_z >= th.prophet_crit_z or iso >= th.if_crit) and not gross:
        fired.append("extreme_agreement")
        reasons.append(
            f"jump {jump:.0f} sigma beyond its critical threshold {th.jump_crit_z:g}, confirmed by "
            + ("the prophet close residual" if close_z >= th.prophet_crit_z else "the isolation forest")
        )

    levels = [RULES[r][0] for r in fired] + ([WARNING] if model_hits else [])
    severity = worst(levels) if levels else INFO
    if severity == INFO and math.isnan(iso) and not prophet_seen:
        reasons.append("models not fitted yet (need a prior calendar year of history)")
    return severity, reasons, fired


def missing_row(in_exchange_calendar: bool, after_first_bar: bool) -> tuple[str, list[str], list[str]]:
    """(severity, reasons, rules) of a partition without a bar."""
    if not in_exchange_calendar:
        return INFO, ["exchange holiday: no bar expected"], []
    if not after_first_bar:
        return INFO, ["no bar: before the symbol's first stored bar"], []
    return WARNING, ["missing session: the exchange traded but there is no bar"], ["missing_session"]
