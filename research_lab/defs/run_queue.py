"""Run tags that the run queue reads: what kind of work a run is, and its priority.

The instance's ``QueuedRunCoordinator`` (``docker/dagster.yaml``; the laptop's ``dagster.yaml``
has the same kind limits) limits concurrent runs per tag value and starts higher
``dagster/priority`` runs first:

================================  ==========================================================
``research_lab/kind``             ``ingestion`` (2 at once) · ``optimization`` (2) ·
                                  ``rl_training`` (1)
``research_lab/asset_class``      ``index`` · ``equity`` · ``volatility``: one study per class
                                  at a time (docker/dagster.yaml)
``dagster/priority``              studies by asset class: index 10, equity 5, volatility 0
================================  ==========================================================

Jobs, sensors and schedules put these tags on their runs (``study_run_tags(symbol)`` for a
study run); the UI shows them and can filter by them.
"""

from __future__ import annotations

KIND_TAG = "research_lab/kind"
ASSET_CLASS_TAG = "research_lab/asset_class"
PRIORITY_TAG = "dagster/priority"

KINDS = ("ingestion", "optimization", "rl_training")

# A study on the benchmark index informs every other one; volatility studies can wait.
STUDY_PRIORITY = {"index": 10, "equity": 5, "volatility": 0}


def asset_class(symbol: str) -> str:
    """``equity``, ``index`` or ``volatility``: ``asset_classes`` of ``config/optimize.yaml``
    (configuration of the universe, not the symbol's spelling: SPY is an index fund, VIXY a
    volatility product)."""
    from research_lab.core.optimize.tracking import asset_class as configured

    return configured(symbol)


def kind_tags(kind: str) -> dict[str, str]:
    """``{research_lab/kind: kind}``; ``kind`` must be one the run queue limits."""
    if kind not in KINDS:
        raise ValueError(f"run kind {kind!r} is not one of {', '.join(KINDS)}")
    return {KIND_TAG: kind}


def study_run_tags(symbol: str) -> dict[str, str]:
    """Tags of an optimization (study) run on ``symbol``: kind, asset class and priority."""
    cls = asset_class(symbol)
    return {**kind_tags("optimization"), ASSET_CLASS_TAG: cls, PRIORITY_TAG: str(STUDY_PRIORITY[cls])}
