"""Objectives beyond one metric: a drawdown-penalised Sharpe ratio and a user's loss function.

``sharpe_dd`` (a metric name like any other: ``--metric sharpe_dd``)
    The annualized Sharpe ratio scaled by what the worst drawdown left of the peak::

        sharpe_dd = sharpe_ratio * (1 + max_drawdown)        (max_drawdown <= 0, a fraction)

    A fold with Sharpe 1.2 and a 40 % drawdown scores 0.72; the same Sharpe with a 10 %
    drawdown scores 1.08. Hand-written (two of the fast metrics multiplied): no library names
    this exact blend, and it costs nothing on the ~50 us fast-metrics path. Maximized.

A user's loss function (``--loss module:function``, ``study.loss``)
    ``function(returns) -> float``: ``returns`` is the numpy array of one fold's per-bar simple
    returns; the trial's value is the mean over folds, **minimized** (a loss: lower is better).
    The reference is ``pkg.module:function``, ``pkg.module.function`` or
    ``path/to/file.py:function``, loaded like a strategy reference
    (:func:`research_lab.core.strategies.discovery.load_object`: loading it runs its module's
    code). The study records it under the metric name ``custom_loss``; workers load the same
    reference. The HTTP API never loads a reference taken from a request.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

SHARPE_DD = "sharpe_dd"
LOSS_METRIC = "custom_loss"


def sharpe_dd(metrics: Mapping[str, float]) -> float:
    sharpe, dd = float(metrics["sharpe_ratio"]), float(metrics["max_drawdown"])
    if math.isnan(sharpe) or math.isnan(dd):
        return math.nan
    return sharpe * (1.0 + dd)


# derived from the fast metrics (research_lab.core.metrics.fast_metrics): name -> function
DERIVED: dict[str, Callable[[Mapping[str, float]], float]] = {SHARPE_DD: sharpe_dd}
DERIVED_DIRECTIONS = {SHARPE_DD: "maximize"}


def normalize_reference(reference: str) -> str:
    """A file reference made absolute (workers may start in another folder)."""
    head, sep, name = reference.strip().rpartition(":")
    if sep and head.endswith(".py"):
        return f"{Path(head).resolve()}:{name}"
    return reference.strip()


def load_loss(reference: str) -> Callable[[Any], float]:
    """The loss function ``reference`` names; ``ValueError`` (one line) if it is not one."""
    from research_lab.core.strategies.discovery import load_object

    fn = load_object(normalize_reference(reference), what="--loss")
    if not callable(fn):
        raise ValueError(f"--loss {reference[:120]!r}: {type(fn).__name__} is not callable")
    return fn
