"""The one door to quantstats: imported lazily, warnings kept out of the logs.

quantstats imports yfinance, matplotlib and seaborn and takes about 2 s to import, so nothing in
this package imports it at module level: every function that needs it calls :func:`qs_stats`
(or imports ``quantstats`` itself inside the function) while :func:`quiet` is active.

:func:`quiet` silences what a clean call still prints:

- ``matplotlib.font_manager`` "findfont: Font family ... not found" log records (quantstats asks
  for fonts a server rarely has);
- every Python warning raised inside: numpy's RuntimeWarnings (0/0 on a flat series),
  quantstats' own ``warn(...)`` for undefined ratios (the metric comes back NaN and its
  definition says when that happens), and the pandas / matplotlib / seaborn deprecation notices
  that quantstats 0.0.86 triggers, which only its maintainers can act on.

It also turns off pandas' optional ``bottleneck`` acceleration inside the block: with bottleneck
installed, pandas reductions return Python floats where quantstats expects numpy ones, and
quantstats' ``calmar`` then raises ``ZeroDivisionError`` on a curve that never falls instead of
returning inf/NaN. The metrics must not depend on whether an optional package is installed.

Only code inside ``with quiet():`` is affected; the caller's warning filters and pandas options
are restored after.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import numpy as np

_NOISY_LOGGERS = ("matplotlib.font_manager", "matplotlib.category")


@contextmanager
def quiet() -> Iterator[None]:
    """Silence matplotlib font lookups and all warnings inside the block."""
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    import pandas as pd

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"), pd.option_context(
            "compute.use_bottleneck", False
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def qs_stats() -> ModuleType:
    """``quantstats.stats``, imported on first use (about 2 s the first time in a process)."""
    with quiet():
        import quantstats.stats as stats
    return stats


def use_agg_backend() -> None:
    """Select matplotlib's file-only Agg backend unless pyplot is already set up.

    A fresh process (a Dagster run, a test, a CLI call) gets Agg, so no window or display is ever
    needed. A notebook that already imported pyplot keeps its own backend: switching it would
    close the user's figures.
    """
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def as_float(value: object) -> float:
    """A quantstats result (numpy scalar, Python number, 1-element Series) as a plain float."""
    if hasattr(value, "item"):
        value = value.item()  # numpy scalar
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
