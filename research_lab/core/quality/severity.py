"""Severity levels of the sentinel and the names of its evidence (no numpy: cheap to import).

Every scored partition gets exactly one severity:

- ``critical``: the bars are wrong in a way that would falsify a backtest (an OHLC
  inconsistency, a non-positive price, a split-like or 100x jump, a frozen feed of
  ``stale_run`` bars, or a move that every model calls extreme). Blocks downstream studies of
  the symbol until an analyst acknowledges it.
- ``warning``: worth a look (a missing session, zero volume, a repeated bar, one model or the
  jump rule beyond its warning threshold).
- ``info``: nothing found (reasons may still say why a model could not judge, or that the
  session is an exchange holiday).
"""

from __future__ import annotations

INFO = "info"
WARNING = "warning"
CRITICAL = "critical"
SEVERITIES = (INFO, WARNING, CRITICAL)
RANK = {INFO: 0, WARNING: 1, CRITICAL: 2}

# rule name -> (severity when it fires, what it means)
RULES: dict[str, tuple[str, str]] = {
    "ohlc_inconsistent": (CRITICAL, "high/low do not bracket open and close"),
    "non_positive_price": (CRITICAL, "a price is zero, negative or missing"),
    "unit_error": (CRITICAL, "the close is ~100x (or 1/100) its reference: a unit mix-up"),
    "split_like": (CRITICAL, "the close jumped by a split ratio (2:1, 3:1, 1:2...) unadjusted"),
    "stale_run": (CRITICAL, "the feed repeated identical OHLC for stale_run bars or more"),
    "stale_repeat": (WARNING, "OHLC identical to the previous bar"),
    "missing_session": (WARNING, "an exchange session without a bar"),
    "zero_volume": (WARNING, "no volume where the symbol normally trades"),
    "jump": (WARNING, "close-to-close move beyond the robust-sigma warning threshold"),
    "extreme_agreement": (CRITICAL, "a jump beyond critical, confirmed by Prophet or the IF"),
}

# model evidence columns in the scores table
MODEL_EVIDENCE = ("if_score", "prophet_close_z", "prophet_volume_z")


def worst(severities) -> str:
    """The most severe of ``severities`` (``info`` for none)."""
    return max(severities, key=RANK.__getitem__, default=INFO)
